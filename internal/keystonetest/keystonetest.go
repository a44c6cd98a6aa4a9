// Package keystonetest runs a real OpenStack Keystone, from Debian 12's
// packages, on loopback for the duration of one test, so that code which
// authenticates against Keystone can be tested against the real thing
// rather than a fake of it. Run does the same for a program that is not a
// test (the identity benchmark), and the helpers named ...Context return
// their errors instead of failing a test.
//
// # What it needs, and what was found out (Debian 12 "bookworm")
//
// Packages: python3-keystone and python3-gunicorn (installed with
// --no-install-recommends; python3-keystone pulls in about 95 Python
// packages, python3-gunicorn only python3-pkg-resources and
// python3-setuptools, which were already there).
//
//   - python3-keystone (2:22.0.2, i.e. Keystone "Zed") ships
//     /usr/bin/keystone-manage and the WSGI app
//     keystone.server.wsgi:initialize_public_application (also wrapped as
//     /usr/bin/keystone-wsgi-public). Neither package has a daemon, an init
//     script or a systemd unit, nor writes /etc/keystone: installing them
//     starts nothing (checked with ps and ss after the install; this
//     machine also has no systemd and a /usr/sbin/policy-rc.d that exits
//     101, so nothing could have been started through invoke-rc.d).
//   - The package named "keystone" is NOT wanted: it adds dbconfig-common,
//     debconf questions, a keystone system user, a uwsgi service
//     (uwsgi-plugin-python3) and a postinst that sets up /etc/keystone and
//     a database of its own. None of that is used here.
//   - The WSGI server is gunicorn from python3-gunicorn, run as
//     "/usr/bin/python3 -m gunicorn" (the /usr/bin/gunicorn script is in the
//     separate package "gunicorn", which is not needed). It is pure Python,
//     one small package, threaded (gthread), and it can serve a listening
//     socket inherited from this process ("fd://3"), so the port is chosen
//     by the kernel and held from the moment it is chosen: no race for a
//     "free" port. uwsgi (uwsgi-core + uwsgi-plugin-python3) would work too
//     but is heavier; keystone-wsgi-public run as a script uses wsgiref's
//     single-threaded development server, where one stalled connection
//     blocks every other request.
//   - Note "python3" on PATH may not be Debian's (pyenv on this machine):
//     everything is run with /usr/bin/python3, as keystone-manage's own
//     shebang does.
//
// Config: Keystone's WSGI app reads the files named in the environment
// variable OS_KEYSTONE_CONFIG_FILES (';'-separated; joined to
// OS_KEYSTONE_CONFIG_DIR when that is set), see
// keystone/server/flask/core.py:_get_config_files. oslo.config also parses
// the process's sys.argv, so gunicorn must get no command-line arguments:
// its settings go in ./gunicorn.conf.py, which gunicorn reads from its
// working directory by default, with the app named by wsgi_app.
// keystone-manage gets --config-file.
//
// Bootstrap: keystone-manage bootstrap on this version creates the roles
// admin, member and reader with the inference rules admin→member and
// member→reader, so a user given "member" gets "reader" in its tokens too
// (checked by this package's test).
//
// fernet_setup on this version creates both the token keys
// ([fernet_tokens]) and the receipt keys ([fernet_receipts]), so no
// receipt_setup is run.
//
// SQLite: the database is put in WAL mode (see walMode): in the default
// rollback-journal mode this Keystone answers POST /v3/roles with 500
// "database is locked".
//
// Root: not needed. fernet_setup and credential_setup chown their key
// repositories to the user and group given, so they are given the current
// user and its primary group, which anyone may chown to (the test passes
// run as nobody).
//
// # Cost
//
// Every keystone-manage run is a Python start that imports Keystone (3-4 s
// of CPU each on this 2-core machine, more under load); db_sync adds the
// migrations. So the schema (db_sync) and the key repositories
// (fernet_setup, credential_setup) are made once per test binary (once per
// run with CacheEnv), in parallel, kept in memory, and written out for
// each Start: the database
// is a plain SQLite file, a copy of a migrated one is exactly what db_sync
// would have made. Each Start then runs only bootstrap (its password and
// endpoint URLs, with this instance's port, differ per Start) and the
// server, side by side: the app's start-up reads no table, and readiness
// waits for both. Keystones of one test binary therefore share fernet and
// credential keys; that is harmless, as each has its own database, so a
// token of one names a user the other does not have and is refused.
//
// Measured on this machine (2 cores, nice 19, beside a CI run): 12-20 s
// for the first Start of a test binary (7-14 s of it the shared template),
// about 6 s for each later one. Done one after the other, the same steps
// took about 30 s. Stopping takes about a second.
package keystonetest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/gophercloud/gophercloud/v2"
	"github.com/gophercloud/gophercloud/v2/openstack"
	"github.com/gophercloud/gophercloud/v2/openstack/identity/v3/endpoints"
	"github.com/gophercloud/gophercloud/v2/openstack/identity/v3/projects"
	"github.com/gophercloud/gophercloud/v2/openstack/identity/v3/roles"
	"github.com/gophercloud/gophercloud/v2/openstack/identity/v3/services"
	"github.com/gophercloud/gophercloud/v2/openstack/identity/v3/users"
	"golang.org/x/sys/unix"
)

const (
	// Region is the region bootstrap creates and AddEndpoint uses.
	Region = "RegionOne"
	// DomainID is the domain of everything made here (Keystone's default).
	DomainID = "default"

	keystoneManage = "/usr/bin/keystone-manage"
	// Debian's interpreter, whose dist-packages hold keystone and gunicorn.
	python = "/usr/bin/python3"

	// Bounds for work that takes seconds normally but may crawl when the
	// machine is loaded: they only turn a hang into a failure.
	manageTimeout = 5 * time.Minute
	readyTimeout  = 5 * time.Minute
	stopTimeout   = 15 * time.Second
	apiTimeout    = 2 * time.Minute
)

// Keystone is one running Keystone, private to the test that started it.
type Keystone struct {
	// URL is the identity v3 endpoint, http://127.0.0.1:PORT/v3.
	URL string
	// The bootstrap admin: user AdminUser with AdminPassword holds role
	// admin on project AdminProject, all in domain DomainID.
	AdminUser, AdminPassword, AdminProject string
	// Dir holds the config, database, keys and logs; Start's t.TempDir
	// removes it, Run's caller does.
	Dir string

	cmd  *exec.Cmd
	done chan struct{} // closed when the server process has been reaped
	logf func(format string, args ...any)

	// exited is set, under waitMu, once the server has exited and before
	// it is reaped; while it is false its PID, and so its process group
	// ID, cannot belong to anyone else.
	waitMu sync.Mutex
	exited bool

	mu    sync.Mutex
	admin *gophercloud.ServiceClient
}

// LogPath is Keystone's own log file (the server's and keystone-manage's).
func (k *Keystone) LogPath() string { return filepath.Join(k.Dir, "keystone.log") }

// ServerLogPath is gunicorn's log (worker starts, crashes, tracebacks that
// happen before Keystone's logging is set up).
func (k *Keystone) ServerLogPath() string { return filepath.Join(k.Dir, "gunicorn.log") }

// template is what is made once per test binary: a migrated database and
// key repositories, kept in memory so that nothing outlives the process.
type template struct {
	db   []byte
	keys map[string]map[string][]byte // key repository -> file name -> content
}

var (
	tmplOnce sync.Once
	tmpl     template
	tmplErr  error

	prereqOnce sync.Once
	prereqSkip string
)

// The key repositories, as named in keystone.conf.
var keyRepos = []string{"fernet-keys", "fernet-receipts", "credential-keys"}

// prerequisites returns why Keystone cannot run here, or "".
func prerequisites() string {
	prereqOnce.Do(func() {
		if st, err := os.Stat(keystoneManage); err != nil || !st.Mode().IsRegular() {
			prereqSkip = "keystone-manage not found (" + keystoneManage + "): install Debian package python3-keystone"
			return
		}
		// A cheap import: gunicorn's WSGI runner alone, not keystone (whose
		// import takes seconds and keystone-manage does right after anyway).
		if out, err := exec.Command(python, "-c", "import gunicorn.app.wsgiapp").CombinedOutput(); err != nil {
			prereqSkip = fmt.Sprintf("gunicorn not importable by %s (%v: %s): install Debian package python3-gunicorn",
				python, err, strings.TrimSpace(string(out)))
			return
		}
		if _, _, err := owner(); err != nil {
			prereqSkip = "cannot name the current user and group for keystone-manage's --keystone-user/--keystone-group: " + err.Error()
		}
	})
	return prereqSkip
}

// owner names the current user and its primary group, to which
// fernet_setup and credential_setup chown the key repositories.
func owner() (string, string, error) {
	u, err := user.Current()
	if err != nil {
		return "", "", err
	}
	g, err := user.LookupGroupId(u.Gid)
	if err != nil {
		return "", "", err
	}
	return u.Username, g.Name, nil
}

// ErrNotInstalled is what Run's error wraps when Keystone cannot run on
// this machine (its packages are missing); Available says why.
var ErrNotInstalled = errors.New("keystonetest: Keystone cannot run here")

// Available returns nil when a Keystone can be started here, or an error
// wrapping ErrNotInstalled that names what to install.
func Available() error {
	if why := prerequisites(); why != "" {
		return fmt.Errorf("%w: %s", ErrNotInstalled, why)
	}
	return nil
}

// Start runs a Keystone for t on 127.0.0.1 and a port the kernel chose. At
// t.Cleanup the server is stopped (by its PID) and t.TempDir removes its
// files; if t failed, the tails of its logs are logged first. It skips t
// when keystone-manage or gunicorn is missing.
func Start(t testing.TB) *Keystone {
	t.Helper()
	if why := prerequisites(); why != "" {
		t.Skip("keystonetest: " + why)
	}
	k, stop, err := Run(t.TempDir(), t.Logf)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if t.Failed() {
			k.dumpLogs()
		}
		stop()
	})
	return k
}

// Run starts a Keystone on 127.0.0.1 and a port the kernel chose, with its
// config, database, keys and logs in dir (an existing, empty directory
// that the caller removes after stop). It is Start for programs that are
// not tests (benchmarks): logf, when not nil, receives what Start logs.
// stop ends the server (by its PID) and may be called more than once; on
// an error nothing is left running. When Keystone's packages are missing
// the error wraps ErrNotInstalled.
func Run(dir string, logf func(format string, args ...any)) (k *Keystone, stop func(), err error) {
	if logf == nil {
		logf = func(string, ...any) {}
	}
	if err := Available(); err != nil {
		return nil, nil, err
	}
	began := time.Now()

	var built time.Duration // the template's cost, reported by the Start that paid it
	tmplOnce.Do(func() {
		tmpl, tmplErr = sharedTemplate()
		built = time.Since(began)
	})
	if tmplErr != nil {
		return nil, nil, fmt.Errorf("keystonetest: preparing Keystone's database and keys: %w", tmplErr)
	}
	password, err := randomHex(16)
	if err != nil {
		return nil, nil, err
	}

	k = &Keystone{
		AdminUser:     "admin",
		AdminPassword: password,
		AdminProject:  "admin",
		Dir:           dir,
		done:          make(chan struct{}),
		logf:          logf,
	}

	// The listening socket is made here and handed to gunicorn, so the
	// port is known for bootstrap's endpoint URLs before the server runs
	// and nobody else can take it meanwhile.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, nil, fmt.Errorf("keystonetest: listen: %w", err)
	}
	lnFile, err := ln.(*net.TCPListener).File()
	ln.Close() // lnFile is a separate descriptor of the same socket
	if err != nil {
		return nil, nil, fmt.Errorf("keystonetest: listener fd: %w", err)
	}
	defer lnFile.Close() // the child has its own copy once started
	port := ln.Addr().(*net.TCPAddr).Port
	k.URL = fmt.Sprintf("http://127.0.0.1:%d/v3", port)

	conf, err := writeConf(k.Dir)
	if err != nil {
		return nil, nil, fmt.Errorf("keystonetest: %w", err)
	}
	if err := os.WriteFile(filepath.Join(k.Dir, "keystone.db"), tmpl.db, 0o600); err != nil {
		return nil, nil, fmt.Errorf("keystonetest: %w", err)
	}
	for repo, files := range tmpl.keys {
		d := filepath.Join(k.Dir, repo)
		// 0700: Keystone warns about key repositories others can read.
		if err := os.Mkdir(d, 0o700); err != nil {
			return nil, nil, fmt.Errorf("keystonetest: %w", err)
		}
		for name, b := range files {
			if err := os.WriteFile(filepath.Join(d, name), b, 0o600); err != nil {
				return nil, nil, fmt.Errorf("keystonetest: %w", err)
			}
		}
	}
	gconf := fmt.Sprintf(`# gunicorn settings for keystonetest (see keystonetest.go)
wsgi_app = "keystone.server.wsgi:initialize_public_application()"
bind = ["fd://3"]
workers = 1
worker_class = "gthread"
threads = 8
# Loading Keystone in the worker can take long on a loaded machine; the
# worker is killed if it has not reported within this many seconds.
timeout = 300
graceful_timeout = 5
errorlog = %s
accesslog = %s
`, strconv.Quote(k.ServerLogPath()), strconv.Quote(filepath.Join(k.Dir, "access.log")))
	if err := os.WriteFile(filepath.Join(k.Dir, "gunicorn.conf.py"), []byte(gconf), 0o600); err != nil {
		return nil, nil, fmt.Errorf("keystonetest: %w", err)
	}

	out, err := os.Create(filepath.Join(k.Dir, "gunicorn.out"))
	if err != nil {
		return nil, nil, fmt.Errorf("keystonetest: %w", err)
	}
	defer out.Close()
	// No arguments: oslo.config would parse them as Keystone's own.
	cmd := exec.Command(python, "-m", "gunicorn")
	cmd.Dir = k.Dir // where gunicorn looks for gunicorn.conf.py
	cmd.Env = childEnv(conf)
	cmd.Stdout, cmd.Stderr = out, out
	cmd.ExtraFiles = []*os.File{lnFile} // fd 3
	cmd.SysProcAttr = &syscall.SysProcAttr{
		// Its own group, so a server that will not stop can be killed
		// together with its worker.
		Setpgid: true,
		// If this process dies (a panic, go test's timeout) the master
		// dies too; its worker notices its parent changed and exits.
		Pdeathsig: syscall.SIGKILL,
	}
	// Pdeathsig fires when the OS *thread* that forked the child exits,
	// not the process. The Go runtime ends threads: one locked by a
	// goroutine that returns without unlocking (netns does that on
	// purpose after an unshare) dies with it, and if gunicorn had been
	// forked from that thread earlier it was killed right then (seen in
	// CI: "Parent changed, shutting down" as a cluster made its
	// namespaces). So gunicorn is forked from a thread locked for its
	// whole life, which nothing else can use or end.
	started := make(chan error, 1)
	go func() {
		runtime.LockOSThread()
		if err := cmd.Start(); err != nil {
			runtime.UnlockOSThread()
			started <- err
			return
		}
		started <- nil
		<-k.done // reaped: the thread may serve others again
		runtime.UnlockOSThread()
	}()
	if err := <-started; err != nil {
		return nil, nil, fmt.Errorf("keystonetest: starting gunicorn: %w", err)
	}
	k.cmd = cmd
	go k.wait()
	fail := func(err error) (*Keystone, func(), error) {
		k.stop()
		return nil, nil, err
	}

	// bootstrap runs beside the server's start-up (both are seconds of
	// Python imports); the server touches no table until a request needs
	// one, and no request is made before bootstrap has finished.
	ep := k.URL
	if err := manage(conf, "bootstrap",
		"--bootstrap-username", k.AdminUser,
		"--bootstrap-password", k.AdminPassword,
		"--bootstrap-project-name", k.AdminProject,
		"--bootstrap-role-name", "admin",
		"--bootstrap-service-name", "keystone",
		"--bootstrap-admin-url", ep,
		"--bootstrap-public-url", ep,
		"--bootstrap-internal-url", ep,
		"--bootstrap-region-id", Region); err != nil {
		return fail(fmt.Errorf("keystonetest: %w", err))
	}
	if err := k.waitReady(); err != nil {
		return fail(fmt.Errorf("keystonetest: %w (logs in %s, %s)\n%s", err, k.LogPath(), k.ServerLogPath(), k.logTails()))
	}
	logf("keystonetest: Keystone at %s (pid %d) ready in %v (of which %v preparing the shared database and keys)",
		k.URL, cmd.Process.Pid, time.Since(began).Round(100*time.Millisecond), built.Round(100*time.Millisecond))
	return k, k.stop, nil
}

// waitReady polls the version document until the server answers.
func (k *Keystone) waitReady() error {
	c := &http.Client{Timeout: 5 * time.Second}
	deadline := time.Now().Add(readyTimeout)
	var last error
	for time.Now().Before(deadline) {
		select {
		case <-k.done:
			return fmt.Errorf("gunicorn exited before serving (%v); its output: %s", k.cmd.ProcessState, tail(filepath.Join(k.Dir, "gunicorn.out"), 2000))
		default:
		}
		resp, err := c.Get(k.URL)
		if err == nil {
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
			err = fmt.Errorf("GET %s: %s", k.URL, resp.Status)
		}
		last = err
		time.Sleep(200 * time.Millisecond)
	}
	return fmt.Errorf("keystone not ready after %v: %v", readyTimeout, last)
}

// stop ends the server: SIGQUIT is gunicorn's quick shutdown (the master
// stops its worker and exits; SIGTERM would let requests finish for
// graceful_timeout). Should it not exit, its process group (the master and
// its worker) is killed, only while the master is known to be unreaped.
func (k *Keystone) stop() {
	pid := k.cmd.Process.Pid
	select {
	case <-k.done:
		return
	default:
	}
	syscall.Kill(pid, syscall.SIGQUIT)
	select {
	case <-k.done:
		return
	case <-time.After(stopTimeout):
	}
	k.logf("keystonetest: gunicorn (pid %d) did not stop in %v; killing its process group", pid, stopTimeout)
	k.waitMu.Lock()
	if !k.exited {
		syscall.Kill(-pid, syscall.SIGKILL)
	}
	k.waitMu.Unlock()
	<-k.done
}

// wait waits for the server to exit without reaping it (WNOWAIT), records
// that under waitMu, and only then reaps it, so that stop never signals a
// process group whose leader is gone.
func (k *Keystone) wait() {
	var info unix.Siginfo
	for {
		err := unix.Waitid(unix.P_PID, k.cmd.Process.Pid, &info, unix.WEXITED|unix.WNOWAIT, nil)
		if err != unix.EINTR {
			break
		}
	}
	k.waitMu.Lock()
	k.exited = true
	k.waitMu.Unlock()
	k.cmd.Wait()
	close(k.done)
}

func (k *Keystone) dumpLogs() { k.logf("%s", k.logTails()) }

// logTails is the end of each of the server's logs.
func (k *Keystone) logTails() string {
	var b strings.Builder
	for _, p := range []string{k.LogPath(), k.ServerLogPath(), filepath.Join(k.Dir, "gunicorn.out")} {
		fmt.Fprintf(&b, "keystonetest: tail of %s:\n%s\n", p, tail(p, 8000))
	}
	return b.String()
}

// tail returns up to the last n bytes of a file.
func tail(path string, n int64) string {
	f, err := os.Open(path)
	if err != nil {
		return err.Error()
	}
	defer f.Close()
	if st, err := f.Stat(); err == nil && st.Size() > n {
		f.Seek(st.Size()-n, io.SeekStart)
	}
	b, _ := io.ReadAll(f)
	return string(b)
}

// writeConf writes dir/keystone.conf naming only files in dir.
func writeConf(dir string) (string, error) {
	conf := fmt.Sprintf(`# keystone.conf written by keystonetest: everything lives in this directory.
[DEFAULT]
log_file = %[1]s/keystone.log
use_stderr = false

[database]
connection = sqlite:///%[1]s/keystone.db
# A test's database needs no durability; without an fsync per commit
# db_sync and bootstrap are faster.
sqlite_synchronous = false

[token]
provider = fernet

[fernet_tokens]
key_repository = %[1]s/fernet-keys

[fernet_receipts]
key_repository = %[1]s/fernet-receipts

[credential]
key_repository = %[1]s/credential-keys
`, dir)
	p := filepath.Join(dir, "keystone.conf")
	return p, os.WriteFile(p, []byte(conf), 0o600)
}

// childEnv is this process's environment with Keystone pointed at conf and
// nothing that would point it (or gunicorn) elsewhere.
func childEnv(conf string) []string {
	var env []string
	for _, kv := range os.Environ() {
		switch strings.SplitN(kv, "=", 2)[0] {
		case "OS_KEYSTONE_CONFIG_DIR", "OS_KEYSTONE_CONFIG_FILES", "GUNICORN_CMD_ARGS", "PYTHONPATH", "PYTHONHOME":
			continue
		}
		env = append(env, kv)
	}
	return append(env, "OS_KEYSTONE_CONFIG_FILES="+conf)
}

// manage runs keystone-manage with conf; its output is returned only on
// failure (it always prints a harmless eventlet traceback at exit).
func manage(conf string, args ...string) error {
	ctx, cancel := context.WithTimeout(context.Background(), manageTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, keystoneManage, append([]string{"--config-file", conf}, args...)...)
	cmd.Env = childEnv(conf)
	cmd.Dir = filepath.Dir(conf)
	out, err := cmd.CombinedOutput()
	if err != nil {
		return fmt.Errorf("keystone-manage %s: %v\n%s\nkeystone.log:\n%s", args[0], err, out,
			tail(filepath.Join(filepath.Dir(conf), "keystone.log"), 4000))
	}
	return nil
}

// CacheEnv names a directory where test binaries of one run share the
// template: the first makes it, the others read it (lbaas.sh test makes
// the directory and removes it when the run ends, so nothing outlives the
// run). Unset: each binary makes its own.
const CacheEnv = "LBAAS_KEYSTONETEST_CACHE"

// sharedTemplate is makeTemplate through the run's cache, if any.
func sharedTemplate() (template, error) {
	cache := os.Getenv(CacheEnv)
	if cache == "" {
		return makeTemplate()
	}
	dir := filepath.Join(cache, "template")
	if tp, err := readTemplate(dir); err == nil {
		return tp, nil
	}
	tp, err := makeTemplate()
	if err != nil {
		return tp, err
	}
	// Written beside, then renamed: a reader sees all of it or none.
	tmp, err := os.MkdirTemp(cache, "template-")
	if err != nil {
		return tp, nil // the cache is an optimisation
	}
	if writeTemplate(tmp, tp) != nil || os.Rename(tmp, dir) != nil {
		os.RemoveAll(tmp)
	}
	return tp, nil
}

func writeTemplate(dir string, tp template) error {
	if err := os.WriteFile(filepath.Join(dir, "keystone.db"), tp.db, 0o600); err != nil {
		return err
	}
	for repo, files := range tp.keys {
		if err := os.MkdirAll(filepath.Join(dir, repo), 0o700); err != nil {
			return err
		}
		for name, b := range files {
			if err := os.WriteFile(filepath.Join(dir, repo, name), b, 0o600); err != nil {
				return err
			}
		}
	}
	return nil
}

func readTemplate(dir string) (template, error) {
	tp := template{keys: map[string]map[string][]byte{}}
	var err error
	if tp.db, err = os.ReadFile(filepath.Join(dir, "keystone.db")); err != nil {
		return template{}, err
	}
	for _, repo := range keyRepos {
		ents, err := os.ReadDir(filepath.Join(dir, repo))
		if err != nil || len(ents) == 0 {
			return template{}, fmt.Errorf("template %s: no %s", dir, repo)
		}
		tp.keys[repo] = map[string][]byte{}
		for _, e := range ents {
			if tp.keys[repo][e.Name()], err = os.ReadFile(filepath.Join(dir, repo, e.Name())); err != nil {
				return template{}, err
			}
		}
	}
	return tp, nil
}

// makeTemplate runs db_sync, fernet_setup and credential_setup (which
// touch disjoint files, so they run in parallel) in a scratch directory,
// puts the database in WAL mode and keeps the results in memory. Closing
// the last connection checkpoints the WAL into the file and removes the
// -wal and -shm files, so keystone.db alone is the whole database.
func makeTemplate() (template, error) {
	dir, err := os.MkdirTemp("", "keystonetest-template-")
	if err != nil {
		return template{}, err
	}
	defer os.RemoveAll(dir)
	conf, err := writeConf(dir)
	if err != nil {
		return template{}, err
	}
	usr, grp, err := owner()
	if err != nil {
		return template{}, err
	}
	steps := [][]string{
		{"db_sync"},
		{"fernet_setup", "--keystone-user", usr, "--keystone-group", grp},
		{"credential_setup", "--keystone-user", usr, "--keystone-group", grp},
	}
	errs := make([]error, len(steps))
	var wg sync.WaitGroup
	for i, s := range steps {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[i] = manage(conf, s...)
		}()
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return template{}, err
	}
	if err := walMode(filepath.Join(dir, "keystone.db")); err != nil {
		return template{}, err
	}

	tp := template{keys: map[string]map[string][]byte{}}
	if tp.db, err = os.ReadFile(filepath.Join(dir, "keystone.db")); err != nil {
		return template{}, err
	}
	for _, repo := range keyRepos {
		ents, err := os.ReadDir(filepath.Join(dir, repo))
		if err != nil {
			return template{}, err
		}
		if len(ents) == 0 {
			return template{}, fmt.Errorf("keystone-manage made no keys in %s", repo)
		}
		tp.keys[repo] = map[string][]byte{}
		for _, e := range ents {
			b, err := os.ReadFile(filepath.Join(dir, repo, e.Name()))
			if err != nil {
				return template{}, err
			}
			tp.keys[repo][e.Name()] = b
		}
	}
	return tp, nil
}

// walMode switches the database to SQLite's write-ahead log, a setting
// stored in the file itself, so every copy of the template has it.
//
// Why: in SQLite's default rollback-journal mode this Keystone (22.0.2)
// answers POST /v3/roles with 500 "database is locked" (seen every time
// here, in gthread and sync gunicorn workers alike): the commit waits out
// the 5 s busy timeout for a read lock that another connection of the same
// process still holds. In WAL mode readers never block a writer's commit.
// Debian's python3 (which Keystone needs anyway) has the sqlite3 module, so
// no sqlite3 binary is needed.
func walMode(db string) error {
	const script = `import sqlite3, sys
c = sqlite3.connect(sys.argv[1])
mode = c.execute("PRAGMA journal_mode=WAL").fetchone()[0]
c.close()
sys.exit(0 if mode == "wal" else "journal_mode is " + mode)
`
	if out, err := exec.Command(python, "-c", script, db).CombinedOutput(); err != nil {
		return fmt.Errorf("setting %s to WAL mode: %v: %s", db, err, out)
	}
	return nil
}

func randomHex(n int) (string, error) {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		return "", fmt.Errorf("keystonetest: %w", err)
	}
	return hex.EncodeToString(b), nil
}

// AuthOptions are password credentials for a user of the default domain,
// scoped to projectID (unscoped if it is ""), for openstack.AuthenticatedClient.
func (k *Keystone) AuthOptions(userName, password, projectID string) gophercloud.AuthOptions {
	o := gophercloud.AuthOptions{
		IdentityEndpoint: k.URL,
		Username:         userName,
		Password:         password,
		DomainID:         DomainID,
	}
	if projectID != "" {
		o.Scope = &gophercloud.AuthScope{ProjectID: projectID}
	}
	return o
}

// Admin returns an identity v3 client authenticated as the bootstrap admin
// (project-scoped to AdminProject, re-authenticating when its token expires).
func (k *Keystone) Admin(t testing.TB) *gophercloud.ServiceClient {
	t.Helper()
	ctx, cancel := k.ctx()
	defer cancel()
	c, err := k.AdminContext(ctx)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// AdminContext is Admin returning its error.
func (k *Keystone) AdminContext(ctx context.Context) (*gophercloud.ServiceClient, error) {
	k.mu.Lock()
	defer k.mu.Unlock()
	if k.admin != nil {
		return k.admin, nil
	}
	opts := gophercloud.AuthOptions{
		IdentityEndpoint: k.URL,
		Username:         k.AdminUser,
		Password:         k.AdminPassword,
		DomainID:         DomainID,
		AllowReauth:      true,
		Scope:            &gophercloud.AuthScope{ProjectName: k.AdminProject, DomainID: DomainID},
	}
	pc, err := openstack.AuthenticatedClient(ctx, opts)
	if err != nil {
		return nil, fmt.Errorf("keystonetest: authenticating as %s: %w", k.AdminUser, err)
	}
	c, err := openstack.NewIdentityV3(pc, gophercloud.EndpointOpts{})
	if err != nil {
		return nil, fmt.Errorf("keystonetest: identity client: %w", err)
	}
	k.admin = c
	return c, nil
}

func (k *Keystone) ctx() (context.Context, context.CancelFunc) {
	return context.WithTimeout(context.Background(), apiTimeout)
}

// CreateProject creates a project in the default domain.
func (k *Keystone) CreateProject(t testing.TB, name string) (id string) {
	t.Helper()
	ctx, cancel := k.ctx()
	defer cancel()
	id, err := k.CreateProjectContext(ctx, name)
	if err != nil {
		t.Fatal(err)
	}
	return id
}

// CreateProjectContext is CreateProject returning its error.
func (k *Keystone) CreateProjectContext(ctx context.Context, name string) (id string, err error) {
	c, err := k.AdminContext(ctx)
	if err != nil {
		return "", err
	}
	p, err := projects.Create(ctx, c, projects.CreateOpts{Name: name, DomainID: DomainID}).Extract()
	if err != nil {
		return "", fmt.Errorf("keystonetest: creating project %q: %w", name, err)
	}
	return p.ID, nil
}

// CreateRole returns the ID of the role name, creating it if it does not
// exist (bootstrap already made admin, member and reader).
func (k *Keystone) CreateRole(t testing.TB, name string) (id string) {
	t.Helper()
	ctx, cancel := k.ctx()
	defer cancel()
	id, err := k.CreateRoleContext(ctx, name)
	if err != nil {
		t.Fatal(err)
	}
	return id
}

// CreateRoleContext is CreateRole returning its error.
func (k *Keystone) CreateRoleContext(ctx context.Context, name string) (id string, err error) {
	c, err := k.AdminContext(ctx)
	if err != nil {
		return "", err
	}
	find := func() (string, error) {
		pages, err := roles.List(c, roles.ListOpts{Name: name}).AllPages(ctx)
		if err != nil {
			return "", fmt.Errorf("keystonetest: listing roles: %w", err)
		}
		rs, err := roles.ExtractRoles(pages)
		if err != nil {
			return "", fmt.Errorf("keystonetest: listing roles: %w", err)
		}
		for _, r := range rs {
			if r.Name == name && r.DomainID == "" {
				return r.ID, nil
			}
		}
		return "", nil
	}
	if id, err := find(); id != "" || err != nil {
		return id, err
	}
	r, err := roles.Create(ctx, c, roles.CreateOpts{Name: name}).Extract()
	if err != nil {
		// Another goroutine may have made it meanwhile.
		if gophercloud.ResponseCodeIs(err, http.StatusConflict) {
			if id, ferr := find(); id != "" || ferr != nil {
				return id, ferr
			}
		}
		return "", fmt.Errorf("keystonetest: creating role %q: %w", name, err)
	}
	return r.ID, nil
}

// CreateUser creates a user in the default domain, with projectID as its
// default project, and assigns it each of roles (by name, created if
// needed) on projectID.
func (k *Keystone) CreateUser(t testing.TB, name, password, projectID string, roleNames ...string) (id string) {
	t.Helper()
	ctx, cancel := k.ctx()
	defer cancel()
	id, err := k.CreateUserContext(ctx, name, password, projectID, roleNames...)
	if err != nil {
		t.Fatal(err)
	}
	return id
}

// CreateUserContext is CreateUser returning its error.
func (k *Keystone) CreateUserContext(ctx context.Context, name, password, projectID string, roleNames ...string) (id string, err error) {
	c, err := k.AdminContext(ctx)
	if err != nil {
		return "", err
	}
	u, err := users.Create(ctx, c, users.CreateOpts{
		Name:             name,
		Password:         password,
		DomainID:         DomainID,
		DefaultProjectID: projectID,
	}).Extract()
	if err != nil {
		return "", fmt.Errorf("keystonetest: creating user %q: %w", name, err)
	}
	for _, rn := range roleNames {
		rid, err := k.CreateRoleContext(ctx, rn)
		if err != nil {
			return "", err
		}
		err = roles.Assign(ctx, c, rid, roles.AssignOpts{UserID: u.ID, ProjectID: projectID}).ExtractErr()
		if err != nil {
			return "", fmt.Errorf("keystonetest: assigning role %q to user %q on project %s: %w", rn, name, projectID, err)
		}
	}
	return u.ID, nil
}

// AddEndpoint registers a service of serviceType named serviceName with
// public, internal and admin endpoints at url in Region, so that the
// catalogs of tokens issued afterwards list it.
func (k *Keystone) AddEndpoint(t testing.TB, serviceType, serviceName, url string) {
	t.Helper()
	ctx, cancel := k.ctx()
	defer cancel()
	if err := k.AddEndpointContext(ctx, serviceType, serviceName, url); err != nil {
		t.Fatal(err)
	}
}

// AddEndpointContext is AddEndpoint returning its error.
func (k *Keystone) AddEndpointContext(ctx context.Context, serviceType, serviceName, url string) error {
	c, err := k.AdminContext(ctx)
	if err != nil {
		return err
	}
	s, err := services.Create(ctx, c, services.CreateOpts{Type: serviceType, Name: serviceName}).Extract()
	if err != nil {
		return fmt.Errorf("keystonetest: creating service %q: %w", serviceType, err)
	}
	for _, iface := range []gophercloud.Availability{gophercloud.AvailabilityPublic, gophercloud.AvailabilityInternal, gophercloud.AvailabilityAdmin} {
		_, err := endpoints.Create(ctx, c, endpoints.CreateOpts{
			Availability: iface,
			Region:       Region,
			URL:          url,
			ServiceID:    s.ID,
		}).Extract()
		if err != nil {
			return fmt.Errorf("keystonetest: creating %s endpoint of %q: %w", iface, serviceType, err)
		}
	}
	return nil
}
