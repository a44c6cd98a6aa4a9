package bench

import (
	"bufio"
	"context"
	"fmt"
	"math"
	"os/exec"
	"strconv"
	"strings"
	"time"
)

// WrkResult is one wrk run, as wrk printed it.
type WrkResult struct {
	Requests  int64
	ReqPerSec float64
	P50, P90  time.Duration
	P99       time.Duration
	// Errors are socket errors (connect, read, write, timeout) plus
	// answers outside 2xx/3xx.
	Errors int64
}

// runWrk runs wrk inside namespace ns against url; wrk's own -d bounds
// it, the context a little later.
func runWrk(ctx context.Context, ns, url string, o DataplaneOptions) (WrkResult, error) {
	ctx, cancel := context.WithTimeout(ctx, o.WrkDuration+30*time.Second)
	defer cancel()
	args := []string{"netns", "exec", ns, "wrk", "--latency", "--timeout", "2s",
		"-t" + strconv.Itoa(o.WrkThreads), "-c" + strconv.Itoa(o.WrkConnections),
		"-d" + strconv.Itoa(int(o.WrkDuration.Round(time.Second)/time.Second)) + "s", url}
	out, err := exec.CommandContext(ctx, "ip", args...).CombinedOutput()
	if err != nil {
		return WrkResult{}, fmt.Errorf("wrk %s in %s: %v: %s", url, ns, err, strings.TrimSpace(string(out)))
	}
	return parseWrk(string(out))
}

// parseWrk reads wrk's summary printed with --latency.
func parseWrk(out string) (WrkResult, error) {
	var r WrkResult
	var haveRate, haveP50 bool
	sc := bufio.NewScanner(strings.NewReader(out))
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		switch {
		case len(f) == 2 && f[0] == "Requests/sec:":
			v, err := strconv.ParseFloat(f[1], 64)
			if err != nil {
				return r, fmt.Errorf("wrk: %q: %v", sc.Text(), err)
			}
			r.ReqPerSec, haveRate = v, true
		case len(f) == 2 && (f[0] == "50%" || f[0] == "90%" || f[0] == "99%"):
			d, err := parseWrkDuration(f[1])
			if err != nil {
				return r, err
			}
			switch f[0] {
			case "50%":
				r.P50, haveP50 = d, true
			case "90%":
				r.P90 = d
			case "99%":
				r.P99 = d
			}
		case len(f) >= 3 && f[1] == "requests" && f[2] == "in":
			r.Requests, _ = strconv.ParseInt(f[0], 10, 64)
		case len(f) >= 3 && f[0] == "Socket" && f[1] == "errors:":
			// Socket errors: connect 0, read 0, write 0, timeout 0
			for i := 2; i+1 < len(f); i += 2 {
				n, _ := strconv.ParseInt(strings.TrimSuffix(f[i+1], ","), 10, 64)
				r.Errors += n
			}
		case strings.HasPrefix(strings.TrimSpace(sc.Text()), "Non-2xx or 3xx responses:"):
			n, _ := strconv.ParseInt(f[len(f)-1], 10, 64)
			r.Errors += n
		}
	}
	if !haveRate || !haveP50 {
		return r, fmt.Errorf("wrk: no Requests/sec or latency distribution in %q", out)
	}
	return r, nil
}

// parseWrkDuration reads wrk's "812.00us", "1.23ms", "2.00s", "1.00m".
func parseWrkDuration(s string) (time.Duration, error) {
	units := []struct {
		suffix string
		unit   time.Duration
	}{{"us", time.Microsecond}, {"ms", time.Millisecond}, {"s", time.Second}, {"m", time.Minute}, {"h", time.Hour}}
	for _, u := range units {
		if v, ok := strings.CutSuffix(s, u.suffix); ok {
			x, err := strconv.ParseFloat(v, 64)
			if err != nil {
				break
			}
			return time.Duration(math.Round(x * float64(u.unit))), nil
		}
	}
	return 0, fmt.Errorf("wrk: duration %q", s)
}
