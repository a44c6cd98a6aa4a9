package cli

import (
	"net"
	"net/http"
	"net/url"
	"os"
	"strings"
	"time"

	"github.com/spf13/pflag"
)

// DefaultURL is used when neither --os-url nor any URL variable is set.
const DefaultURL = "http://127.0.0.1:9696"

// Options customise Register; the zero value is what the binary uses.
type Options struct {
	// Getenv reads environment variables; nil means os.Getenv.
	Getenv func(string) string
	// HTTPClient sends the requests; nil means a client with a 2 minute timeout.
	HTTPClient *http.Client
	// PollInterval is how often --wait reads an object; 0 means
	// DefaultPollInterval (tests make it short).
	PollInterval time.Duration
}

// DefaultPollInterval is the --wait period. octaviaclient polls every 3 s;
// a shorter period costs one small GET and makes scripts finish sooner.
const DefaultPollInterval = 2 * time.Second

func (o Options) pollInterval() time.Duration {
	if o.PollInterval > 0 {
		return o.PollInterval
	}
	return DefaultPollInterval
}

// DefaultLBPort is Octavia's port, used with the Neutron endpoint's host
// when no load-balancer endpoint is given.
const DefaultLBPort = "9876"

func (o Options) getenv(k string) string {
	if o.Getenv != nil {
		return o.Getenv(k)
	}
	return os.Getenv(k)
}

func (o Options) httpClient() *http.Client {
	if o.HTTPClient != nil {
		return o.HTTPClient
	}
	return &http.Client{Timeout: 2 * time.Minute}
}

// Connection flag names; they are persistent flags of the root command so
// that `lbaas --os-url U lb-pool-list` works like neutron's global options.
const (
	flagURL   = "os-url"
	flagToken = "os-token"
	// flagLBEndpoint is openstacksdk's load_balancer_endpoint_override.
	flagLBEndpoint = "os-load-balancer-endpoint"
	// flagAuthURL is the identity endpoint of the project, user and role
	// verbs (the openstack CLI's --os-auth-url).
	flagAuthURL = "os-auth-url"
)

func addConnectionFlags(fs *pflag.FlagSet) {
	if fs.Lookup(flagURL) == nil {
		fs.String(flagURL, "", "API endpoint without /v2.0 (env OS_URL, OS_ENDPOINT, LBAAS_URL; default "+DefaultURL+")")
	}
	if fs.Lookup(flagToken) == nil {
		fs.String(flagToken, "", "token sent as X-Auth-Token (env OS_TOKEN, LBAAS_TOKEN)")
	}
	if fs.Lookup(flagLBEndpoint) == nil {
		fs.String(flagLBEndpoint, "", "Octavia endpoint of the loadbalancer verbs, without /v2.0 (env OS_LOAD_BALANCER_ENDPOINT_OVERRIDE; default the API endpoint's host, port "+DefaultLBPort+")")
	}
	if fs.Lookup(flagAuthURL) == nil {
		fs.String(flagAuthURL, "", "identity (Keystone v3) endpoint of the project, user and role verbs (env OS_AUTH_URL, LBAAS_AUTH_URL; default the API endpoint's host, port "+DefaultAuthPort+", path /v3)")
	}
}

// connection resolves endpoint and token: flag, then the neutron
// variables, then the lbaas ones.
type connection struct {
	url   string
	token string
}

func changedFlag(fs *pflag.FlagSet, name string) string {
	if f := fs.Lookup(name); f != nil && f.Changed {
		return f.Value.String()
	}
	return ""
}

func first(vals ...string) string {
	for _, v := range vals {
		if v != "" {
			return v
		}
	}
	return ""
}

func resolveConnection(fs *pflag.FlagSet, o Options) connection {
	flag := func(name string) string { return changedFlag(fs, name) }
	c := connection{
		url:   first(flag(flagURL), o.getenv("OS_URL"), o.getenv("OS_ENDPOINT"), o.getenv("LBAAS_URL"), DefaultURL),
		token: first(flag(flagToken), o.getenv("OS_TOKEN"), o.getenv("LBAAS_TOKEN")),
	}
	if c.token == "" && strings.EqualFold(o.getenv("OS_AUTH_TYPE"), "none") {
		// keystoneauth's noauth plugin sends this fixed value.
		c.token = "notused"
	}
	c.url = strings.TrimRight(c.url, "/")
	c.url = strings.TrimSuffix(c.url, "/v2.0")
	return c
}

// resolveLBConnection finds the Octavia endpoint: the flag, the variable
// openstacksdk reads, else the Neutron endpoint's host on port 9876, which
// is where `lbaas server --octavia-listen` listens by default. The token
// is the Neutron one: one keystone token opens both services.
func resolveLBConnection(fs *pflag.FlagSet, o Options, neutron connection) connection {
	u := first(changedFlag(fs, flagLBEndpoint), o.getenv("OS_LOAD_BALANCER_ENDPOINT_OVERRIDE"))
	if u == "" {
		u = neutron.url
		if p, err := url.Parse(neutron.url); err == nil && p.Host != "" {
			p.Host = net.JoinHostPort(p.Hostname(), DefaultLBPort)
			p.Path, p.RawQuery = "", ""
			u = p.String()
		}
	}
	u = strings.TrimRight(u, "/")
	// octaviaclient appends /v2.0/lbaas itself; accept a root given with
	// a version too.
	for _, v := range []string{"/v2.0", "/v2"} {
		u = strings.TrimSuffix(u, v)
	}
	return connection{url: u, token: neutron.token}
}
