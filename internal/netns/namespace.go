package netns

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"sort"
	"strings"

	"golang.org/x/sys/unix"
)

// RunDir is where `ip netns` keeps one bind mount per named namespace. We use
// the same directory so that `ip netns exec NAME ...` works on our namespaces
// and operators can inspect them with the usual tools.
const RunDir = "/run/netns"

// maxNameLen is NAME_MAX: a namespace name is a single file name under RunDir.
const maxNameLen = 255

// Path returns the bind-mount path of the named namespace.
func Path(name string) string { return filepath.Join(RunDir, name) }

// ValidateName reports whether name can be used as a namespace name. Names
// are file names under RunDir, so '/' and NUL are impossible; control
// characters and spaces are refused because they make `ip netns` output and
// logs ambiguous. Long names and ':' (as in "vrouter-<vm>:<si>") are fine.
func ValidateName(name string) error {
	if name == "" || name == "." || name == ".." {
		return fmt.Errorf("netns: invalid namespace name %q", name)
	}
	if len(name) > maxNameLen {
		return fmt.Errorf("netns: namespace name longer than %d bytes", maxNameLen)
	}
	for _, r := range name {
		if r == '/' || r <= ' ' || r == 0x7f {
			return fmt.Errorf("netns: namespace name %q contains a forbidden character %q", name, r)
		}
	}
	return nil
}

// Exists reports whether the named namespace exists, that is whether its file
// under RunDir is a mounted namespace (a left-over plain file after a crash
// does not count).
func Exists(name string) (bool, error) {
	if err := ValidateName(name); err != nil {
		return false, err
	}
	return isNamespaceMount(Path(name))
}

func isNamespaceMount(path string) (bool, error) {
	var st unix.Statfs_t
	if err := unix.Statfs(path, &st); err != nil {
		if errors.Is(err, unix.ENOENT) {
			return false, nil
		}
		return false, fmt.Errorf("netns: statfs %s: %w", path, err)
	}
	return st.Type == unix.NSFS_MAGIC, nil
}

// Ensure creates the named network namespace if it does not exist yet. It is
// idempotent, and it repairs the file left behind when a previous creation
// crashed between creating the mount point and mounting it.
//
// Concurrent Ensure calls for the same name are not serialised; the agent's
// reconciler owns each namespace from a single goroutine.
func Ensure(name string) error {
	if err := ValidateName(name); err != nil {
		return err
	}
	path := Path(name)
	if ok, err := isNamespaceMount(path); err != nil || ok {
		return err
	}
	if err := prepareRunDir(); err != nil {
		return err
	}
	f, err := os.OpenFile(path, os.O_RDONLY|os.O_CREATE, 0o444)
	if err != nil {
		return fmt.Errorf("netns: create %s: %w", path, err)
	}
	f.Close()
	if err := mountNewNamespace(path); err != nil {
		os.Remove(path)
		return fmt.Errorf("netns: create namespace %q: %w", name, err)
	}
	return nil
}

// prepareRunDir makes RunDir a shared mount, as `ip netns add` does, so that
// namespaces created later also appear in other mount namespaces (for example
// services started with a private /tmp) instead of being pinned invisibly.
func prepareRunDir() error {
	if err := os.MkdirAll(RunDir, 0o755); err != nil {
		return fmt.Errorf("netns: %w", err)
	}
	err := unix.Mount("", RunDir, "none", unix.MS_SHARED|unix.MS_REC, "")
	if err == nil {
		return nil
	}
	if !errors.Is(err, unix.EINVAL) {
		return fmt.Errorf("netns: make %s shared: %w", RunDir, err)
	}
	// EINVAL: RunDir is not a mount point yet; bind it onto itself first.
	if err := unix.Mount(RunDir, RunDir, "none", unix.MS_BIND|unix.MS_REC, ""); err != nil {
		return fmt.Errorf("netns: bind %s: %w", RunDir, err)
	}
	if err := unix.Mount("", RunDir, "none", unix.MS_SHARED|unix.MS_REC, ""); err != nil {
		return fmt.Errorf("netns: make %s shared: %w", RunDir, err)
	}
	return nil
}

// mountNewNamespace creates a fresh network namespace and bind-mounts it on
// path. The unshare happens on a throwaway goroutine whose OS thread is never
// unlocked: when the goroutine returns, the Go runtime kills that thread, so
// no other goroutine can ever be scheduled on a thread that sits in the new
// namespace, and the caller's thread is never touched.
func mountNewNamespace(path string) error {
	errc := make(chan error, 1)
	go func() {
		runtime.LockOSThread()
		if err := unix.Unshare(unix.CLONE_NEWNET); err != nil {
			errc <- fmt.Errorf("unshare: %w", err)
			return
		}
		if err := unix.Mount("/proc/thread-self/ns/net", path, "none", unix.MS_BIND, ""); err != nil {
			errc <- fmt.Errorf("bind mount: %w", err)
			return
		}
		errc <- nil
	}()
	return <-errc
}

// Delete removes the named namespace. It is idempotent: deleting a namespace
// that does not exist is not an error. Interfaces inside the namespace
// disappear once the last process and socket in it are gone.
func Delete(name string) error {
	if err := ValidateName(name); err != nil {
		return err
	}
	path := Path(name)
	// Unmount until nothing is mounted: two racing Ensure calls can stack
	// two mounts on the same file, and os.Remove fails while any remains.
	for range 8 {
		err := unix.Unmount(path, unix.MNT_DETACH)
		if errors.Is(err, unix.EINVAL) || errors.Is(err, unix.ENOENT) {
			break
		}
		if err != nil {
			return fmt.Errorf("netns: unmount %s: %w", path, err)
		}
	}
	if err := os.Remove(path); err != nil && !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("netns: remove %s: %w", path, err)
	}
	return nil
}

// List returns the sorted names under RunDir that start with prefix (all of
// them for an empty prefix).
func List(prefix string) ([]string, error) {
	entries, err := os.ReadDir(RunDir)
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return nil, nil
		}
		return nil, fmt.Errorf("netns: %w", err)
	}
	var names []string
	for _, e := range entries {
		if strings.HasPrefix(e.Name(), prefix) {
			names = append(names, e.Name())
		}
	}
	sort.Strings(names)
	return names, nil
}

// Inode returns the inode number of the named namespace, the identity the
// kernel shows in /proc/<pid>/ns/net as "net:[INODE]".
func Inode(name string) (uint64, error) {
	if err := ValidateName(name); err != nil {
		return 0, err
	}
	var st unix.Stat_t
	if err := unix.Stat(Path(name), &st); err != nil {
		return 0, fmt.Errorf("netns: stat %s: %w", Path(name), err)
	}
	return st.Ino, nil
}
