package bench

import (
	"bufio"
	"fmt"
	"os"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// Machine records where a benchmark ran, so that numbers from different
// machines are never compared by accident.
type Machine struct {
	NumCPU     int
	GOMAXPROCS int
	GoVersion  string
	OSArch     string
	Kernel     string
	CPUModel   string
	// TempFS is the file-system type under the data directories; tmpfs
	// would make every fsync free and the create numbers meaningless.
	TempFS string
	// LoadAvg is /proc/loadavg's 1/5/15-minute load when the run started:
	// the machine is shared, and a busy one slows ours and the baseline
	// alike, which is why the report leans on ratios.
	LoadAvg string
	Date    time.Time
}

func describeMachine(tempDir string) Machine {
	m := Machine{
		NumCPU:     runtime.NumCPU(),
		GOMAXPROCS: runtime.GOMAXPROCS(0),
		GoVersion:  runtime.Version(),
		OSArch:     runtime.GOOS + "/" + runtime.GOARCH,
		Date:       time.Now().UTC(),
	}
	if b, err := os.ReadFile("/proc/sys/kernel/osrelease"); err == nil {
		m.Kernel = strings.TrimSpace(string(b))
	}
	if f, err := os.Open("/proc/cpuinfo"); err == nil {
		sc := bufio.NewScanner(f)
		for sc.Scan() {
			if k, v, ok := strings.Cut(sc.Text(), ":"); ok && strings.TrimSpace(k) == "model name" {
				m.CPUModel = strings.TrimSpace(v)
				break
			}
		}
		f.Close()
	}
	m.TempFS = fsType(tempDir)
	if b, err := os.ReadFile("/proc/loadavg"); err == nil {
		if f := strings.Fields(string(b)); len(f) >= 3 {
			m.LoadAvg = strings.Join(f[:3], " ")
		}
	}
	return m
}

// fsType names the common file-system magic numbers; anything else is
// shown in hex.
func fsType(dir string) string {
	var st syscall.Statfs_t
	if err := syscall.Statfs(dir, &st); err != nil {
		return "unknown"
	}
	switch uint64(st.Type) {
	case 0xEF53:
		return "ext4"
	case 0x01021994:
		return "tmpfs"
	case 0x58465342:
		return "xfs"
	case 0x9123683E:
		return "btrfs"
	case 0x794C7630:
		return "overlayfs"
	}
	return "0x" + strconv.FormatUint(uint64(st.Type), 16)
}

// table is the machine section of the API reports, one row per fact;
// fsLabel names the data-directory row.
func (m Machine) table(fsLabel string) string {
	var b strings.Builder
	w := func(format string, args ...any) { fmt.Fprintf(&b, format+"\n", args...) }
	w("| machine | |")
	w("|---|---|")
	w("| CPUs (nproc) | %d (GOMAXPROCS %d) |", m.NumCPU, m.GOMAXPROCS)
	w("| CPU | %s |", orDash(m.CPUModel))
	w("| Go | %s %s |", m.GoVersion, m.OSArch)
	w("| kernel | %s |", orDash(m.Kernel))
	w("| %s | %s |", fsLabel, m.TempFS)
	w("| load average at start | %s |", orDash(m.LoadAvg))
	w("| date | %s |", m.Date.Format(time.RFC3339))
	return b.String()
}
