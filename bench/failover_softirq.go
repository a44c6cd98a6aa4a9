package bench

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// softirqWatch samples how long the kernel's softirq threads (ksoftirqd/N)
// waited for a CPU. Received packets that the kernel defers from interrupt
// exit to those threads (as it does under heavy packet load) wait with
// them, adverts included, and the threads are ordinary tasks competing
// with every CPU hog however high the VRRP process's own priority is: the
// suspected cause of the spurious elections left under saturation. The
// watch records that wait beside each holder change so the report can
// show whether the two go together.
type softirqWatch struct {
	paths []string // /proc/<pid>/schedstat of each ksoftirqd
	last  []int64  // their run-queue wait so far, ns
	// recent holds the wait added between samples, newest last.
	recent []softirqSample
}

type softirqSample struct {
	at   time.Time
	wait time.Duration // the largest wait any ksoftirqd added since the sample before
}

// SoftirqNearChange is the softirq threads' waiting around one holder
// change: the largest wait one of them added within a poll, over the
// window before the change.
type SoftirqNearChange struct {
	At      time.Time
	MaxWait time.Duration
}

func newSoftirqWatch() *softirqWatch {
	w := &softirqWatch{}
	dirs, _ := filepath.Glob("/proc/[0-9]*")
	for _, d := range dirs {
		b, err := os.ReadFile(filepath.Join(d, "comm"))
		if err == nil && strings.HasPrefix(string(b), "ksoftirqd/") {
			w.paths = append(w.paths, filepath.Join(d, "schedstat"))
		}
	}
	w.last = make([]int64, len(w.paths))
	for i, p := range w.paths {
		w.last[i] = runQueueWait(p)
	}
	return w
}

// runQueueWait is the second field of a schedstat: nanoseconds spent
// runnable but not running.
func runQueueWait(path string) int64 {
	b, err := os.ReadFile(path)
	if err != nil {
		return 0
	}
	f := strings.Fields(string(b))
	if len(f) < 2 {
		return 0
	}
	n, _ := strconv.ParseInt(f[1], 10, 64)
	return n
}

// sample records the wait added since the last sample and returns it.
func (w *softirqWatch) sample(now time.Time) time.Duration {
	var worst int64
	for i, p := range w.paths {
		v := runQueueWait(p)
		worst = max(worst, v-w.last[i])
		w.last[i] = v
	}
	d := time.Duration(worst)
	w.recent = append(w.recent, softirqSample{at: now, wait: d})
	if len(w.recent) > 64 {
		w.recent = w.recent[len(w.recent)-64:]
	}
	return d
}

// before returns the largest per-sample wait within span before now.
func (w *softirqWatch) before(now time.Time, span time.Duration) time.Duration {
	var worst time.Duration
	for _, s := range w.recent {
		if !s.at.Before(now.Add(-span)) {
			worst = max(worst, s.wait)
		}
	}
	return worst
}
