package vrrp

import (
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"
)

// TestNoSpuriousTransitionsUnderCPULoad keeps every CPU busy for 10 s (bounded
// in time) with the default 50 ms adverts: the standby must never take over.
func TestNoSpuriousTransitionsUnderCPULoad(t *testing.T) {
	if testing.Short() {
		t.Skip("10 s of CPU load")
	}
	p := upPair(t, "ld", DefaultAdvertInterval)
	stop := time.Now().Add(10 * time.Second)
	var wg sync.WaitGroup
	for range 2 * runtime.NumCPU() {
		wg.Add(1)
		go func() {
			defer wg.Done()
			x := 0
			for time.Now().Before(stop) {
				for i := range 100000 {
					x += i
				}
			}
			_ = x
		}()
	}
	for time.Now().Before(stop) {
		if st := p.status(p.b); st.State != StateBackup || st.VIPPresent {
			t.Errorf("B left BACKUP under load: %+v", st)
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	wg.Wait()
	logB, _ := os.ReadFile(p.b.spec.Paths.Log)
	if n := strings.Count(string(logB), "Entering MASTER STATE"); n > 0 {
		t.Errorf("B became MASTER %d times under load:\n%s", n, logB)
	}
	if st := p.status(p.a); st.State != StateMaster || !st.VIPPresent {
		t.Errorf("A after load: %+v", st)
	}
}

// TestGoldenConfigsPassKeepalivedConfigTest runs "keepalived -t" on every
// golden file inside a namespace that has a vip0.
func TestGoldenConfigsPassKeepalivedConfigTest(t *testing.T) {
	requireReal(t)
	ns := testNamespace(t, testPrefix+"golden")
	ipCmd(t, "-n", ns, "link", "add", "vip0", "type", "veth", "peer", "name", "lbtv0")
	files, _ := filepath.Glob("testdata/*.golden")
	if len(files) == 0 {
		t.Fatal("no golden files")
	}
	for _, f := range files {
		if out, err := exec.Command("keepalived", "-t", "-s", ns, "-f", f).CombinedOutput(); err != nil {
			t.Errorf("%s: %v: %s", f, err, out)
		}
	}
}
