package agent

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"time"

	"lbaas/internal/agentapi"
	"lbaas/internal/arbiter"
	"lbaas/internal/netns"
	"lbaas/internal/proc"
	"lbaas/internal/vrrp"
)

// arbiterDir holds the arbiter's config, pid file and log.
func (a *Agent) arbiterDir() string { return filepath.Join(a.o.StateDir, "router") }

// applyArbiter writes the arbiter's config (the VIPs, their VMs' addresses
// and MACs, the router interface of each VIP network) and makes sure the
// arbiter process runs. The arbiter is a process of its own, like HAProxy,
// so that restarting the agent does not pause it.
func (a *Agent) applyArbiter(r agentapi.Router, ifnames map[string]string) error {
	dir := a.arbiterDir()
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return err
	}
	cfg := arbiter.Config{AdvertTimeout: a.advertTimeout()}
	for _, v := range r.VIPs {
		addr, err := netip.ParseAddr(v.Address)
		if err != nil || ifnames[v.SubnetID] == "" {
			continue
		}
		av := arbiter.VIP{Address: addr, Interface: ifnames[v.SubnetID]}
		for _, m := range v.Members {
			if ma, err := netip.ParseAddr(m.Address); err == nil {
				av.Members = append(av.Members, arbiter.Member{Address: ma, MAC: m.MAC})
			}
		}
		cfg.VIPs = append(cfg.VIPs, av)
	}
	b, err := json.MarshalIndent(cfg, "", "  ")
	if err != nil {
		return err
	}
	path := filepath.Join(dir, "arbiter.json")
	if old, err := os.ReadFile(path); err != nil || !bytes.Equal(old, b) {
		if err := writeFileAtomic(path, b, 0o600); err != nil {
			return err
		}
		// Which VIPs the arbiter pins and relays for: the first thing to
		// know when a standby hears no relayed adverts.
		members := 0
		for _, v := range cfg.VIPs {
			members += len(v.Members)
		}
		a.log.Info("arbiter config written", "vips", len(cfg.VIPs), "vms", members)
	}
	if _, ok := a.arbiterPID(); ok {
		return nil
	}
	logf, err := os.OpenFile(filepath.Join(dir, "arbiter.log"), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return err
	}
	defer logf.Close()
	cmd := exec.Command(a.o.Executable, "vrrp-arbiter", "--namespace", a.o.RouterNamespace, "--config", path, "--pid-file", filepath.Join(dir, "arbiter.pid"))
	cmd.Stdout, cmd.Stderr = logf, logf
	if err := netns.StartProcess(a.o.RouterNamespace, cmd); err != nil {
		return fmt.Errorf("start the arbiter: %w", err)
	}
	go func() { _ = cmd.Wait() }() // reap it if it dies while we run
	// Recorded here, not only by the arbiter once it runs: a second pass
	// before then would start a second arbiter.
	if err := writeFileAtomic(filepath.Join(dir, "arbiter.pid"), []byte(fmt.Sprintf("%d\n", cmd.Process.Pid)), 0o600); err != nil {
		return err
	}
	a.log.Info("arbiter started", "pid", cmd.Process.Pid)
	return nil
}

// advertTimeout is how long the arbiter lets a holder be silent before
// another advertising VM may take its place: 3.5 advert intervals, just
// under the standby's own master-down interval (3 intervals plus a skew of
// 0.61), so that the arbiter never adds to a silent death's failover (the
// standby's first advert as MASTER finds the holder already timed out),
// while a holder that is alive during a partition must miss more than
// three adverts in a row to lose the VIP.
func (a *Agent) advertTimeout() time.Duration {
	adv := a.o.AdvertInterval
	if adv <= 0 {
		adv = vrrp.DefaultAdvertInterval
	}
	return vrrp.ArbiterTimeout(adv)
}

// arbiterPID returns the running arbiter's pid, checked against its
// command line so that a recycled pid is never taken for it.
func (a *Agent) arbiterPID() (int, bool) {
	pid, err := proc.ReadPidFile(filepath.Join(a.arbiterDir(), "arbiter.pid"))
	if err != nil || !proc.Mentions(pid, filepath.Join(a.arbiterDir(), "arbiter.json")) {
		return 0, false
	}
	return pid, true
}
