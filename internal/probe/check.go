package probe

import (
	"context"
	"flag"
	"fmt"
	"io"
	"net/netip"
	"os"
	"strings"
	"time"
)

// DefaultCheckTimeout bounds one external check when nothing else sets it.
// HAProxy 2.6 passes no timeout to external checks (their environment holds
// only PATH and the HAPROXY_PROXY_* / HAPROXY_SERVER_* variables), and it
// kills a check that outlives min(inter, timeout connect) (observed with
// 2.6.12: "External check timeout" then, whatever "timeout check" says), so
// both must exceed this value (or the -timeout given).
const DefaultCheckTimeout = time.Second

// TimeoutEnv optionally overrides the timeout (a Go duration such as
// "500ms"). HAProxy clears the environment of external checks, so it only
// arrives when the command is a wrapper that sets it, or with
// "external-check preserve-env" where supported.
const TimeoutEnv = "LBAAS_PING_TIMEOUT"

// RunPingCheck implements an HAProxy external-check command that PINGs the
// server. HAProxy runs the command as
//
//	cmd <proxy_addr> <proxy_port> <server_addr> <server_port>
//
// with HAPROXY_SERVER_ADDR (and friends) in the environment. args are the
// command-line arguments without the program name; an optional leading
// -timeout DURATION flag wins over TimeoutEnv and DefaultCheckTimeout. The
// server address comes from HAPROXY_SERVER_ADDR, else from the third
// argument. It returns the exit status: 0 when the server answered an ICMP
// echo within the timeout, 1 otherwise (including usage errors: HAProxy can
// only tell pass from fail).
func RunPingCheck(args []string, env []string) int {
	return runPingCheck(args, env, os.Stderr)
}

func runPingCheck(args, env []string, stderr io.Writer) int {
	fs := flag.NewFlagSet("ping-check", flag.ContinueOnError)
	fs.SetOutput(stderr)
	timeout := fs.Duration("timeout", 0, "how long to wait for the echo reply")
	if err := fs.Parse(args); err != nil {
		return 1
	}
	if *timeout <= 0 {
		*timeout = DefaultCheckTimeout
		if v := lookupEnv(env, TimeoutEnv); v != "" {
			d, err := time.ParseDuration(v)
			if err != nil || d <= 0 {
				fmt.Fprintf(stderr, "ping-check: bad %s=%q\n", TimeoutEnv, v)
				return 1
			}
			*timeout = d
		}
	}
	server := lookupEnv(env, "HAPROXY_SERVER_ADDR")
	if server == "" && fs.NArg() >= 3 {
		server = fs.Arg(2)
	}
	addr, err := netip.ParseAddr(server)
	if err != nil {
		fmt.Fprintf(stderr, "ping-check: no usable server address (%q): want HAPROXY_SERVER_ADDR or <proxy_addr> <proxy_port> <server_addr> <server_port>\n", server)
		return 1
	}
	if err := Ping(context.Background(), addr.Unmap(), *timeout); err != nil {
		fmt.Fprintln(stderr, "ping-check:", err)
		return 1
	}
	return 0
}

// lookupEnv returns the first value of key in env ("KEY=value" entries),
// as getenv(3) would.
func lookupEnv(env []string, key string) string {
	for _, kv := range env {
		if k, v, ok := strings.Cut(kv, "="); ok && k == key {
			return v
		}
	}
	return ""
}
