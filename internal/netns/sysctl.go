package netns

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// SetSysctl writes a network sysctl inside the named namespace, for example
// SetSysctl(ns, "net.ipv4.ip_forward", "1") or
// SetSysctl(ns, "net.ipv4.ping_group_range", "0 2147483647"). Only net.*
// keys are accepted: the others are not per network namespace and writing
// them would change the whole host.
func SetSysctl(namespace, key, value string) error {
	return setSysctlParts(namespace, strings.Split(key, "."), value)
}

// setSysctlParts takes the key already split, because interface names such
// as "eth0.100" contain dots.
func setSysctlParts(namespace string, parts []string, value string) error {
	p, err := sysctlPath(parts)
	if err != nil {
		return err
	}
	key := strings.Join(parts, ".")
	// /proc/sys/net resolves to the network namespace of the thread that
	// opens the file, so the open must happen inside Do.
	return Do(namespace, func() error {
		if err := os.WriteFile(p, []byte(value), 0o644); err != nil {
			return fmt.Errorf("netns: sysctl %s=%q in %q: %w", key, value, namespace, err)
		}
		return nil
	})
}

// GetSysctl reads a network sysctl inside the named namespace.
func GetSysctl(namespace, key string) (string, error) {
	p, err := sysctlPath(strings.Split(key, "."))
	if err != nil {
		return "", err
	}
	var out string
	err = Do(namespace, func() error {
		b, err := os.ReadFile(p)
		out = strings.TrimSpace(string(b))
		return err
	})
	return out, err
}

func sysctlPath(parts []string) (string, error) {
	key := strings.Join(parts, ".")
	if len(parts) < 2 || parts[0] != "net" {
		return "", fmt.Errorf("netns: sysctl %q is not a net.* key", key)
	}
	for _, p := range parts {
		if p == "" || p == "." || p == ".." || strings.ContainsAny(p, "/\x00") {
			return "", fmt.Errorf("netns: invalid sysctl key %q", key)
		}
	}
	return filepath.Join(append([]string{"/proc/sys"}, parts...)...), nil
}
