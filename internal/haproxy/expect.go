package haproxy

import (
	"fmt"
	"strconv"
	"strings"
)

// expectRule turns validated expected codes into an http-check expect rule:
// a single code uses "status", a list or a range a regex built only from the
// parsed digits ("rstatus"), so no caller text reaches the config.
func expectRule(codes string) (string, error) {
	if codes == "" {
		codes = "200"
	}
	set, err := parseExpectedCodes(codes)
	if err != nil {
		return "", err
	}
	if len(set) == 1 {
		return fmt.Sprintf("status %d", set[0]), nil
	}
	return "rstatus ^(" + codeRegex(set) + ")$", nil
}

// parseExpectedCodes accepts "200", "200,202,204" or "200-204" (codes 100..599)
// and returns the sorted, de-duplicated codes.
func parseExpectedCodes(s string) ([]int, error) {
	bad := func() error {
		return fmt.Errorf("expected codes %q: want NNN, NNN,NNN... or NNN-NNN with codes 100..599", s)
	}
	code := func(t string) (int, error) {
		if len(t) != 3 {
			return 0, bad()
		}
		for i := 0; i < 3; i++ {
			if t[i] < '0' || t[i] > '9' {
				return 0, bad()
			}
		}
		n, _ := strconv.Atoi(t)
		if n < 100 || n > 599 {
			return 0, bad()
		}
		return n, nil
	}
	var seen [600]bool
	if lo, hi, ok := strings.Cut(s, "-"); ok {
		a, err := code(lo)
		if err != nil {
			return nil, err
		}
		b, err := code(hi)
		if err != nil {
			return nil, err
		}
		if a > b {
			return nil, bad()
		}
		for n := a; n <= b; n++ {
			seen[n] = true
		}
	} else {
		for _, t := range strings.Split(s, ",") {
			n, err := code(t)
			if err != nil {
				return nil, err
			}
			seen[n] = true
		}
	}
	var out []int
	for n, ok := range seen {
		if ok {
			out = append(out, n)
		}
	}
	return out, nil
}

// codeRegex builds a compact alternation for sorted codes: a whole decade
// becomes "20[0-9]", a run inside a decade "20[0-4]", a whole century "2[0-9][0-9]".
func codeRegex(codes []int) string {
	var decades [60][10]bool
	for _, c := range codes {
		decades[c/10][c%10] = true
	}
	var alts []string
	for h := 1; h <= 5; h++ {
		full := true
		for d := 0; d < 10 && full; d++ {
			for u := 0; u < 10; u++ {
				if !decades[h*10+d][u] {
					full = false
					break
				}
			}
		}
		if full {
			alts = append(alts, fmt.Sprintf("%d[0-9][0-9]", h))
			continue
		}
		for d := 0; d < 10; d++ {
			units := decades[h*10+d]
			for u := 0; u < 10; {
				if !units[u] {
					u++
					continue
				}
				end := u
				for end+1 < 10 && units[end+1] {
					end++
				}
				switch {
				case end == u:
					alts = append(alts, fmt.Sprintf("%d%d%d", h, d, u))
				default:
					alts = append(alts, fmt.Sprintf("%d%d[%d-%d]", h, d, u, end))
				}
				u = end + 1
			}
		}
	}
	return strings.Join(alts, "|")
}
