package probe

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/netip"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"lbaas/internal/netns"
)

var testPrefix = fmt.Sprintf("lbt%x-probe-", os.Getpid())

func requireRoot(t *testing.T) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("needs root (raw ICMP socket, network namespaces)")
	}
}

// silentNamespace creates a namespace with lo up and a veth pair whose
// address is 10.99.7.1/24 and whose peer has no address, so nothing ever
// answers 10.99.7.2. It returns the namespace name.
func silentNamespace(t *testing.T, suffix string) string {
	t.Helper()
	if _, err := exec.LookPath("ip"); err != nil {
		t.Skip("needs the ip binary")
	}
	ns := testPrefix + suffix
	if err := netns.Ensure(ns); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := netns.Delete(ns); err != nil {
			t.Errorf("cleanup: %v", err)
		}
	})
	for _, args := range [][]string{
		{"link", "set", "lo", "up"},
		{"link", "add", "lbtq0", "type", "veth", "peer", "name", "lbtq1"},
		{"addr", "add", "10.99.7.1/24", "dev", "lbtq0"},
		{"link", "set", "lbtq0", "up"},
		{"link", "set", "lbtq1", "up"},
	} {
		if out, err := exec.Command("ip", append([]string{"-n", ns}, args...)...).CombinedOutput(); err != nil {
			t.Fatalf("ip %v: %v: %s", args, err, out)
		}
	}
	return ns
}

var silentAddr = netip.MustParseAddr("10.99.7.2")

func TestPingLoopbackAnswers(t *testing.T) {
	requireRoot(t)
	if err := Ping(context.Background(), netip.MustParseAddr("127.0.0.1"), 2*time.Second); err != nil {
		t.Fatal(err)
	}
}

func TestPingSilentAddressFailsWithinTimeout(t *testing.T) {
	requireRoot(t)
	ns := silentNamespace(t, "silent")
	const timeout = 300 * time.Millisecond
	start := time.Now()
	var pingErr error
	if err := netns.Do(ns, func() error {
		pingErr = Ping(context.Background(), silentAddr, timeout)
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	elapsed := time.Since(start)
	if !errors.Is(pingErr, ErrNoReply) {
		t.Fatalf("Ping of a silent address = %v, want ErrNoReply", pingErr)
	}
	if elapsed < timeout || elapsed > timeout+time.Second {
		t.Fatalf("took %v, want about %v", elapsed, timeout)
	}
}

func TestPingLocalAddressInNamespaceAnswers(t *testing.T) {
	requireRoot(t)
	ns := silentNamespace(t, "local")
	var pingErr error
	if err := netns.Do(ns, func() error {
		pingErr = Ping(context.Background(), netip.MustParseAddr("10.99.7.1"), 2*time.Second)
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if pingErr != nil {
		t.Fatalf("ping of the namespace's own address: %v", pingErr)
	}
}

func TestPingStopsWhenContextIsCancelled(t *testing.T) {
	requireRoot(t)
	ns := silentNamespace(t, "cancel")
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	start := time.Now()
	var pingErr error
	_ = netns.Do(ns, func() error { pingErr = Ping(ctx, silentAddr, time.Minute); return nil })
	if pingErr == nil || time.Since(start) > 2*time.Second {
		t.Fatalf("Ping ignored the context: err=%v after %v", pingErr, time.Since(start))
	}
}

func TestPingRejectsIPv6AndZeroTimeout(t *testing.T) {
	if err := Ping(context.Background(), netip.MustParseAddr("::1"), time.Second); err == nil {
		t.Error("IPv6 accepted")
	}
	if err := Ping(context.Background(), netip.MustParseAddr("127.0.0.1"), 0); err == nil {
		t.Error("zero timeout accepted")
	}
}

func TestQuotedRequestMatchesOnlyOurIDAndSeq(t *testing.T) {
	orig := make([]byte, 28)
	orig[0] = 0x45
	copy(orig[16:20], []byte{10, 0, 0, 9})
	orig[20] = 8 // echo request
	orig[24], orig[25], orig[26], orig[27] = 0x12, 0x34, 0x00, 0x07
	dst := netip.MustParseAddr("10.0.0.9")
	if !quotesOurRequest(orig, dst, 0x1234, 7) {
		t.Error("our own request not recognised")
	}
	if quotesOurRequest(orig, dst, 0x1234, 8) || quotesOurRequest(orig, netip.MustParseAddr("10.0.0.8"), 0x1234, 7) {
		t.Error("someone else's request taken for ours")
	}
	if quotesOurRequest(orig[:24], dst, 0x1234, 7) {
		t.Error("truncated quote accepted")
	}
}

func TestPingCheckUsesHAProxyEnvironmentFirst(t *testing.T) {
	requireRoot(t)
	args := []string{"NOT_USED", "NOT_USED", "not-an-ip", "80"}
	env := []string{"PATH=/usr/bin", "HAPROXY_SERVER_ADDR=127.0.0.1", "HAPROXY_SERVER_PORT=80"}
	if code := runPingCheck(args, env, io.Discard); code != 0 {
		t.Fatalf("exit %d, want 0 for a loopback server from HAPROXY_SERVER_ADDR", code)
	}
	if code := runPingCheck([]string{"NOT_USED", "NOT_USED", "127.0.0.1", "80"}, nil, io.Discard); code != 0 {
		t.Fatalf("exit %d, want 0 for a loopback server from the arguments", code)
	}
}

func TestPingCheckFailsForSilentServer(t *testing.T) {
	requireRoot(t)
	ns := silentNamespace(t, "check")
	var code int
	var stderr strings.Builder
	start := time.Now()
	_ = netns.Do(ns, func() error {
		code = runPingCheck([]string{"-timeout", "200ms", "", "", silentAddr.String(), "80"}, nil, &stderr)
		return nil
	})
	if code != 1 || time.Since(start) > 2*time.Second {
		t.Fatalf("exit %d after %v, want 1 quickly", code, time.Since(start))
	}
	if !strings.Contains(stderr.String(), "no ICMP echo reply") {
		t.Fatalf("stderr = %q", stderr.String())
	}
}

func TestPingCheckRejectsMissingAddressAndBadTimeout(t *testing.T) {
	if code := runPingCheck(nil, nil, io.Discard); code != 1 {
		t.Errorf("no address: exit %d, want 1", code)
	}
	env := []string{"HAPROXY_SERVER_ADDR=127.0.0.1", TimeoutEnv + "=soon"}
	if code := runPingCheck(nil, env, io.Discard); code != 1 {
		t.Errorf("bad %s: exit %d, want 1", TimeoutEnv, code)
	}
	if code := runPingCheck([]string{"-bogus"}, nil, io.Discard); code != 1 {
		t.Errorf("unknown flag: exit %d, want 1", code)
	}
}
