package cli

import (
	"net/http"
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
}

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
)

func addConnectionFlags(fs *pflag.FlagSet) {
	if fs.Lookup(flagURL) == nil {
		fs.String(flagURL, "", "API endpoint without /v2.0 (env OS_URL, OS_ENDPOINT, LBAAS_URL; default "+DefaultURL+")")
	}
	if fs.Lookup(flagToken) == nil {
		fs.String(flagToken, "", "token sent as X-Auth-Token (env OS_TOKEN, LBAAS_TOKEN)")
	}
}

// connection resolves endpoint and token: flag, then the neutron
// variables, then the lbaas ones.
type connection struct {
	url   string
	token string
}

func resolveConnection(fs *pflag.FlagSet, o Options) connection {
	flag := func(name string) string {
		if f := fs.Lookup(name); f != nil && f.Changed {
			return f.Value.String()
		}
		return ""
	}
	first := func(vals ...string) string {
		for _, v := range vals {
			if v != "" {
				return v
			}
		}
		return ""
	}
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
