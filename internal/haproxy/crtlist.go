package haproxy

import (
	"crypto/sha256"
	"encoding/hex"
	"os"
	"path/filepath"
	"strings"
)

// A listener with SNI certificates names them in a crt-list file rather
// than as "crt" words on its bind line: HAProxy reads at most 64 words a
// line, and a listener with 50 SNI certificates (two words each) was
// refused whole ("too many words, truncating after word 64"). The file's
// name carries its content's hash, so the configuration that names it
// always finds the list it was checked with, and the previous
// configuration (kept for a rollback) its own.

// crtList is the crt-list of a listener with SNI certificates: the
// default certificate first (HAProxy serves the first entry to a client
// whose server name no certificate has), then the SNI ones; HAProxy
// takes each certificate's names from the certificate itself.
func (l Listener) crtList() string {
	if len(l.SNICertFiles) == 0 {
		return ""
	}
	return strings.Join(append([]string{l.TLSCertFile}, l.SNICertFiles...), "\n") + "\n"
}

// crtListPath is where the listener's crt-list is, in dir (the
// configuration's directory); "" when it has none.
func (l Listener) crtListPath(dir string) string {
	list := l.crtList()
	if list == "" {
		return ""
	}
	sum := sha256.Sum256([]byte(list))
	return filepath.Join(dir, "crt-list-"+l.ID+"-"+hex.EncodeToString(sum[:6])+".txt")
}

// writeCrtLists writes the crt-list of every listener of spec that has
// one, before the configuration naming them is checked.
func writeCrtLists(spec Spec) error {
	dir := filepath.Dir(spec.Paths.Config)
	for _, l := range spec.Listeners {
		if p := l.crtListPath(dir); p != "" {
			if err := writeAtomic(p, []byte(l.crtList()), 0o640); err != nil {
				return err
			}
		}
	}
	return nil
}

// removeStaleCrtLists deletes the crt-lists that neither spec nor the
// configuration kept for a rollback (prev) names.
func removeStaleCrtLists(spec, prev Spec) {
	dir := filepath.Dir(spec.Paths.Config)
	keep := map[string]bool{}
	for _, s := range []Spec{spec, prev} {
		for _, l := range s.Listeners {
			keep[l.crtListPath(dir)] = true
		}
	}
	old, _ := filepath.Glob(filepath.Join(dir, "crt-list-*.txt"))
	for _, p := range old {
		if !keep[p] {
			_ = os.Remove(p)
		}
	}
}
