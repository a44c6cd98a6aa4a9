package bench

import (
	"sort"
	"time"
)

// Latency summarises a set of request durations.
type Latency struct {
	N   int
	P50 time.Duration
	P99 time.Duration
	Max time.Duration
}

// summarize sorts ds in place and returns its nearest-rank percentiles.
func summarize(ds []time.Duration) Latency {
	if len(ds) == 0 {
		return Latency{}
	}
	sort.Slice(ds, func(i, j int) bool { return ds[i] < ds[j] })
	return Latency{N: len(ds), P50: rank(ds, 50), P99: rank(ds, 99), Max: ds[len(ds)-1]}
}

// rank is the nearest-rank percentile of sorted ds: the smallest value with
// at least p% of the samples at or below it.
func rank(sorted []time.Duration, p int) time.Duration {
	i := (len(sorted)*p + 99) / 100
	if i < 1 {
		i = 1
	}
	return sorted[i-1]
}

// ratio returns a/b, or 0 when b is zero so that a missing baseline shows
// as "n/a" rather than infinity.
func ratio(a, b float64) float64 {
	if b == 0 {
		return 0
	}
	return a / b
}
