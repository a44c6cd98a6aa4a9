package bench

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"
)

// DefaultOctaviaBaseline is where the scripts that run the real Octavia
// API (Debian octavia-api, noop drivers, MariaDB on a unix socket) live.
const DefaultOctaviaBaseline = "/work/shared/baselines/octavia-api"

// octaviaBaselinePort is the port its start.sh listens on (loopback).
const octaviaBaselinePort = "19877"

// octaviaBaseline drives the baseline's scripts: start.sh, activate.sh,
// stop.sh. Everything it starts listens on loopback or a unix socket.
type octaviaBaseline struct {
	dir  string
	addr string
}

// ErrOctaviaUnavailable says why the baseline cannot run here; the quick
// test skips on it.
var ErrOctaviaUnavailable = errors.New("the Octavia baseline cannot be started")

// octaviaReady reports why the baseline cannot start without installing
// anything: not root, scripts or packages missing.
func octaviaReady(dir string) error {
	if os.Geteuid() != 0 {
		return fmt.Errorf("%w: it needs root (it runs MariaDB and installs Debian packages)", ErrOctaviaUnavailable)
	}
	for _, s := range []string{"start.sh", "stop.sh", "activate.sh"} {
		if _, err := os.Stat(filepath.Join(dir, s)); err != nil {
			return fmt.Errorf("%w: %v", ErrOctaviaUnavailable, err)
		}
	}
	for _, f := range []string{"/usr/bin/octavia-db-manage", "/usr/sbin/mariadbd", "/usr/bin/mariadb"} {
		if _, err := os.Stat(f); err != nil {
			return fmt.Errorf("%w: %s is missing (its start.sh installs octavia-api, mariadb-server, python3-gunicorn)", ErrOctaviaUnavailable, f)
		}
	}
	return nil
}

// script runs one of the baseline's scripts, bounded in time.
func (b *octaviaBaseline) script(ctx context.Context, limit time.Duration, name string, args ...string) (string, error) {
	ctx, cancel := context.WithTimeout(ctx, limit)
	defer cancel()
	cmd := exec.CommandContext(ctx, filepath.Join(b.dir, name), args...)
	cmd.Env = append(os.Environ(), "OCTAVIA_BASELINE_PORT="+octaviaBaselinePort)
	out, err := cmd.CombinedOutput()
	if err != nil {
		return string(out), fmt.Errorf("%s %s: %w: %s", name, strings.Join(args, " "), err, lastLines(string(out), 5))
	}
	return string(out), nil
}

// startOctavia stops a previous run of the baseline, empties its database
// and starts it afresh with workers gunicorn workers.
func startOctavia(ctx context.Context, dir string, workers int) (*octaviaBaseline, error) {
	b := &octaviaBaseline{dir: dir, addr: "127.0.0.1:" + octaviaBaselinePort}
	if _, err := b.script(ctx, 2*time.Minute, "stop.sh", "--wipe"); err != nil {
		return nil, err
	}
	if _, err := b.script(ctx, 10*time.Minute, "start.sh", fmt.Sprint(workers)); err != nil {
		return nil, err
	}
	return b, nil
}

// activate does what a provider would: every PENDING_* object ACTIVE.
func (b *octaviaBaseline) activate(ctx context.Context) error {
	_, err := b.script(ctx, time.Minute, "activate.sh")
	return err
}

// sql runs statements in the baseline's database through its unix socket.
func (b *octaviaBaseline) sql(ctx context.Context, stmts string) error {
	ctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "mariadb", "--socket=/var/tmp/octavia-baseline/mysqld.sock", "-uroot", "octavia")
	cmd.Stdin = strings.NewReader(stmts)
	out, err := cmd.CombinedOutput()
	if err != nil {
		return fmt.Errorf("mariadb: %w: %s", err, lastLines(string(out), 5))
	}
	return nil
}

// stop stops what start.sh started (its recorded PIDs) and empties the
// database.
func (b *octaviaBaseline) stop() {
	_, _ = b.script(context.Background(), 2*time.Minute, "stop.sh", "--wipe")
}

func lastLines(s string, n int) string {
	l := strings.Split(strings.TrimSpace(s), "\n")
	if len(l) > n {
		l = l[len(l)-n:]
	}
	return strings.Join(l, " | ")
}
