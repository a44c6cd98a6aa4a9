package up

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/netip"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"lbaas/internal/cli"
	"lbaas/internal/netns"
	"lbaas/internal/pki"
)

// DemoHost is the name the demo certificate is issued for.
const DemoHost = "lb.demo"

// Demo is what RunDemo built, for the instructions it prints.
type Demo struct {
	HTTPSFloatingIP string
	HTTPFloatingIP  string
	// HTTPVIP is the HTTP load balancer's VIP, reached from the client
	// through the router without NAT.
	HTTPVIP         string
	CAFile          string
	ClientNamespace string
}

// RunDemo runs the seed workflow with the lbaas CLI against the cluster,
// starts the two demo web servers on poolnet, and leaves two load
// balancers serving: the seed's HTTPS VIP (TLS terminated with a demo
// certificate) and an HTTP one, each behind a floating IP.
func (c *Cluster) RunDemo(ctx context.Context, out io.Writer) (*Demo, error) {
	r := &runner{c: c, out: out, ids: map[string]string{}}
	caFile, certFile, keyFile, err := writeDemoCertificate(c.o.Dir)
	if err != nil {
		return nil, err
	}
	r.say("A demo certificate authority (%s) and a certificate for %s, the project's default", caFile, DemoHost)
	r.run("cert-create", "--name", "default", "--cert-file", certFile, "--key-file", keyFile)

	r.say("The seed workflow (OpenContrail 1.20 LBaaS), with `lbaas` in place of `neutron`")
	r.run("net-create", "vipnet")
	r.run("subnet-create", "--name", "vipsubnet", "vipnet", "20.1.1.0/24")
	r.run("net-create", "poolnet")
	r.id("poolnet")
	r.run("subnet-create", "--name", "poolsubnet", "poolnet", "10.1.1.0/24")
	if r.err == nil {
		for i, a := range []string{"10.1.1.2/24", "10.1.1.3/24"} {
			if _, err := c.StartBackend(fmt.Sprintf("%sbackend%d", c.o.Prefix, i+1), r.ids["poolnet"], "10.1.1.0/24", netip.MustParsePrefix(a)); err != nil {
				return nil, fmt.Errorf("demo web server %s: %w", a, err)
			}
		}
		r.say("Demo web servers listen at 10.1.1.2:80 and 10.1.1.3:80 on poolnet")
	}
	r.run("lb-pool-create", "--lb-method", "ROUND_ROBIN", "--name", "mypool", "--protocol", "HTTP", "--subnet-id", "poolsubnet")
	r.run("lb-member-create", "--address", "10.1.1.2", "--protocol-port", "80", "mypool")
	member1 := r.id("member")
	r.run("lb-member-create", "--address", "10.1.1.3", "--protocol-port", "80", "mypool")
	r.run("lb-vip-create", "--name", "myvip", "--protocol-port", "80", "--protocol", "HTTP", "--subnet-id", "vipsubnet", "mypool")
	vip1, port1 := r.id("vip"), r.field("port_id")
	r.run("floatingip-create", "Public")
	fip1 := r.id("fip")
	r.run("floatingip-associate", fip1, port1)
	r.run("lb-vip-delete", vip1)
	r.run("lb-member-delete", member1)
	r.run("lb-pool-delete", "mypool")
	r.run("lb-pool-create", "--lb-method", "ROUND_ROBIN", "--name", "mypool", "--protocol", "HTTP", "--subnet-id", "poolsubnet")
	r.run("lb-healthmonitor-create", "--delay", "20", "--timeout", "10", "--max-retries", "3", "--type", "HTTP")
	hm := r.id("hm")
	r.run("lb-healthmonitor-associate", hm, "mypool")
	r.run("lb-healthmonitor-disassociate", hm, "mypool")
	r.run("lb-healthmonitor-delete", hm)
	r.run("lb-vip-create", "--name", "myvip", "--protocol-port", "443", "--protocol", "HTTP", "--subnet-id", "vipsubnet", "mypool")
	port2 := r.field("port_id")

	r.say("Making the demo serve: members and a health monitor for mypool, the floating IP on its VIP, and an HTTP load balancer beside it")
	r.run("lb-member-create", "--address", "10.1.1.2", "--protocol-port", "80", "mypool")
	r.run("lb-member-create", "--address", "10.1.1.3", "--protocol-port", "80", "mypool")
	r.run("lb-healthmonitor-create", "--delay", "2", "--timeout", "1", "--max-retries", "2", "--type", "HTTP")
	r.run("lb-healthmonitor-associate", r.id("hm2"), "mypool")
	r.run("floatingip-associate", fip1, port2)
	r.run("lb-pool-create", "--lb-method", "ROUND_ROBIN", "--name", "webpool", "--protocol", "HTTP", "--subnet-id", "poolsubnet")
	r.run("lb-member-create", "--address", "10.1.1.2", "--protocol-port", "80", "webpool")
	r.run("lb-member-create", "--address", "10.1.1.3", "--protocol-port", "80", "webpool")
	r.run("lb-vip-create", "--name", "webvip", "--protocol-port", "80", "--protocol", "HTTP", "--subnet-id", "vipsubnet", "webpool")
	port3, httpVIP := r.field("port_id"), r.field("address")
	r.run("floatingip-create", "Public")
	fip3 := r.id("fip3")
	r.run("floatingip-associate", fip3, port3)
	if r.err != nil {
		return nil, r.err
	}
	d := &Demo{CAFile: caFile, ClientNamespace: c.o.Prefix + "client", HTTPVIP: httpVIP}
	for id, dst := range map[string]*string{fip1: &d.HTTPSFloatingIP, fip3: &d.HTTPFloatingIP} {
		f, err := c.API().Get("/v2.0/floatingips/"+id, "floatingip")
		if err != nil {
			return nil, err
		}
		*dst, _ = f["floating_ip_address"].(string)
	}
	var pub struct {
		Networks []map[string]any `json:"networks"`
	}
	if err := c.API().Call("GET", "/v2.0/networks?name=Public", nil, &pub); err != nil || len(pub.Networks) == 0 {
		return nil, fmt.Errorf("the Public network is missing: %v", err)
	}
	pubID := pub.Networks[0]["id"].(string)
	if err := c.AddNamespace(d.ClientNamespace, pubID, c.o.PublicCIDR, clientAddress(c.o.PublicCIDR)); err != nil {
		return nil, fmt.Errorf("client namespace: %w", err)
	}
	// A route to the VIP network through the router, so that the client
	// reaches the VIPs themselves as well as their floating IPs.
	gw := netip.MustParsePrefix(c.o.PublicCIDR).Addr().Next()
	if err := c.PublicFabric().Attach(netns.AttachSpec{Namespace: d.ClientNamespace, IfName: "eth0", NetworkID: pubID,
		Address: clientAddress(c.o.PublicCIDR), Gateway: gw, ExtraRoutes: []netip.Prefix{netip.MustParsePrefix("20.1.1.0/24")}}); err != nil {
		return nil, fmt.Errorf("client route to the VIP network: %w", err)
	}
	r.say("Waiting for both load balancers to become ACTIVE (both HAProxy instances serving)")
	for _, pool := range []string{"mypool", "webpool"} {
		if err := c.waitPool(ctx, pool, 60*time.Second); err != nil {
			return nil, err
		}
	}
	return d, nil
}

// clientAddress is the last host address of the public subnet, which the
// server keeps out of its allocation range.
func clientAddress(cidr string) netip.Prefix {
	p := netip.MustParsePrefix(cidr)
	a := p.Addr().As4()
	n := uint32(a[0])<<24 | uint32(a[1])<<16 | uint32(a[2])<<8 | uint32(a[3])
	n |= (1 << (32 - p.Bits())) - 1
	n--
	return netip.PrefixFrom(netip.AddrFrom4([4]byte{byte(n >> 24), byte(n >> 16), byte(n >> 8), byte(n)}), p.Bits())
}

func (c *Cluster) waitPool(ctx context.Context, name string, limit time.Duration) error {
	deadline := time.Now().Add(limit)
	last := ""
	for time.Now().Before(deadline) {
		var out struct {
			Pools []map[string]any `json:"pools"`
		}
		if err := c.API().Call("GET", "/v2.0/lb/pools?name="+name, nil, &out); err == nil && len(out.Pools) == 1 {
			if out.Pools[0]["status"] == "ACTIVE" {
				return nil
			}
			last = fmt.Sprintf("%v: %v", out.Pools[0]["status"], out.Pools[0]["status_description"])
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(200 * time.Millisecond):
		}
	}
	return fmt.Errorf("pool %s did not become ACTIVE within %s (%s)", name, limit, last)
}

// runner runs CLI verbs in-process, echoing them like the seed script.
type runner struct {
	c    *Cluster
	out  io.Writer
	last string
	ids  map[string]string
	err  error
}

func (r *runner) say(format string, args ...any) {
	fmt.Fprintf(r.out, "\n== "+format+"\n", args...)
}

func (r *runner) run(args ...string) {
	if r.err != nil {
		return
	}
	fmt.Fprintf(r.out, "+ lbaas %s\n", strings.Join(args, " "))
	root := &cobra.Command{Use: "lbaas", SilenceUsage: true, SilenceErrors: true}
	env := map[string]string{"OS_URL": r.c.URL, "OS_TOKEN": r.c.AdminToken, "OS_AUTH_TYPE": "admin_token"}
	cli.RegisterWithOptions(root, cli.Options{Getenv: func(k string) string { return env[k] }})
	var buf bytes.Buffer
	root.SetOut(io.MultiWriter(&buf, r.out))
	root.SetErr(r.out)
	root.SetArgs(args)
	if err := root.Execute(); err != nil {
		r.err = fmt.Errorf("lbaas %s: %w", strings.Join(args, " "), err)
		return
	}
	r.last = buf.String()
}

var rowRE = regexp.MustCompile(`(?m)^\|\s*(\S+)\s*\|\s*(.*?)\s*\|$`)

// field reads a row of the last command's table.
func (r *runner) field(name string) string {
	for _, m := range rowRE.FindAllStringSubmatch(r.last, -1) {
		if m[1] == name {
			return m[2]
		}
	}
	if r.err == nil {
		r.err = fmt.Errorf("no %q in the output of the last command", name)
	}
	return ""
}

// id records the last command's id under key and returns it.
func (r *runner) id(key string) string {
	v := r.field("id")
	r.ids[key] = v
	return v
}

// writeDemoCertificate makes a CA and a certificate for DemoHost signed by
// it, in dir.
func writeDemoCertificate(dir string) (ca, cert, key string, err error) {
	now := time.Now()
	authority, err := pki.NewCA("lbaas demo CA", now.Add(-time.Hour), now.Add(30*24*time.Hour))
	if err != nil {
		return
	}
	leaf, err := pki.Issue(authority, pki.Request{CommonName: DemoHost, DNSNames: []string{DemoHost}, NotBefore: now.Add(-time.Hour), NotAfter: now.Add(30 * 24 * time.Hour)})
	if err != nil {
		return
	}
	ca, cert, key = filepath.Join(dir, "ca.pem"), filepath.Join(dir, "demo-cert.pem"), filepath.Join(dir, "demo-key.pem")
	for path, data := range map[string][]byte{ca: authority.CertPEM, cert: leaf.CertPEM, key: leaf.KeyPEM} {
		if err = os.WriteFile(path, data, 0o600); err != nil {
			return
		}
	}
	return
}
