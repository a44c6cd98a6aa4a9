package server

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"io/fs"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"lbaas/internal/model"
	"lbaas/internal/pki"
	"lbaas/internal/secrets"
)

// leaks lists the files under dir, and the etcd snapshot, that hold any
// of the needles.
func leaks(t *testing.T, r *Running, dir string, needles ...string) []string {
	t.Helper()
	var out []string
	check := func(name string, b []byte) {
		for _, n := range needles {
			if bytes.Contains(b, []byte(n)) {
				out = append(out, name+" holds "+n[:min(len(n), 24)])
			}
		}
	}
	filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || d.Type()&fs.ModeSocket != 0 {
			return nil
		}
		if b, err := os.ReadFile(path); err == nil {
			check(path, b)
		}
		return nil
	})
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	rc, err := r.cli.Snapshot(ctx)
	if err != nil {
		t.Fatal("etcd snapshot:", err)
	}
	defer rc.Close()
	snap, err := io.ReadAll(rc)
	if err != nil || len(snap) == 0 {
		t.Fatal("etcd snapshot:", err)
	}
	check("etcd snapshot", snap)
	return out
}

// TestPrivateKeysAreSealedInTheStoreAndResealedOnRotation uploads a
// certificate and looks for its private key in every file of the data
// directory and in an etcd snapshot: it is nowhere in the clear. A restart
// with a new first key reseals it under that key, and the key still opens
// to the uploaded one.
func TestPrivateKeysAreSealedInTheStoreAndResealedOnRotation(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	dir := t.TempDir()
	start := func() *Running {
		r, err := Start(ctx, Options{Listen: "127.0.0.1:0", DataDir: dir, NoAuth: true, Logger: discardLogger()})
		if err != nil {
			t.Fatal(err)
		}
		return r
	}
	c, err := pki.Issue(nil, pki.Request{CommonName: "sealed.example.test", DNSNames: []string{"sealed.example.test"}, NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour)})
	if err != nil {
		t.Fatal(err)
	}
	keyPEM := string(c.KeyPEM)
	// A line of the key's base64 body: present in any copy of the key.
	body := strings.Split(keyPEM, "\n")[1]

	r := start()
	b, _ := json.Marshal(map[string]any{"certificate": map[string]any{"name": "site", "certificate": string(c.CertPEM), "private_key": keyPEM}})
	resp, err := http.Post("http://"+r.Addr+"/v2.0/lbaas-certificates", "application/json", bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	answer, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 201 || bytes.Contains(answer, []byte("PRIVATE KEY")) || bytes.Contains(answer, []byte("sealed:")) {
		t.Fatalf("upload: %d %s", resp.StatusCode, answer)
	}
	var created struct {
		Certificate struct {
			ID string `json:"id"`
		} `json:"certificate"`
	}
	json.Unmarshal(answer, &created)
	id := created.Certificate.ID
	if l := leaks(t, r, dir, "PRIVATE KEY", body); len(l) > 0 {
		t.Fatalf("the private key in the clear after an upload: %v", l)
	}
	e, ok := r.Store.Get(model.KindCertificate, id)
	if !ok {
		t.Fatal("no certificate stored")
	}
	oldSealed := e.Obj.(*model.Certificate).PrivateKeyPEM
	oldKeys, err := secrets.Load(filepath.Join(dir, "secrets.key"))
	if err != nil {
		t.Fatal(err)
	}
	if secrets.KeyID(oldSealed) != oldKeys.Primary() {
		t.Fatalf("stored %q, not sealed with the key file's key", oldSealed[:min(len(oldSealed), 40)])
	}
	r.Close()

	// Rotate: a new first key, the old one kept to open what it sealed.
	old, _ := os.ReadFile(filepath.Join(dir, "secrets.key"))
	line, _ := secrets.NewKeyLine(time.Now())
	if err := os.WriteFile(filepath.Join(dir, "secrets.key"), []byte(line+"\n"+string(old)), 0o600); err != nil {
		t.Fatal(err)
	}
	newKeys, err := secrets.Load(filepath.Join(dir, "secrets.key"))
	if err != nil {
		t.Fatal(err)
	}
	r = start()
	defer r.Close()
	deadline := time.Now().Add(30 * time.Second)
	for {
		e, _ := r.Store.Get(model.KindCertificate, id)
		sealed := e.Obj.(*model.Certificate).PrivateKeyPEM
		if secrets.KeyID(sealed) == newKeys.Primary() {
			plain, err := newKeys.Open(sealed, id)
			if err != nil || string(plain) != keyPEM {
				t.Fatalf("the resealed key does not open to the uploaded one: %v", err)
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("not resealed with the new key within 30s: %q", sealed[:40])
		}
		time.Sleep(50 * time.Millisecond)
	}
	if l := leaks(t, r, dir, "PRIVATE KEY", body); len(l) > 0 {
		t.Fatalf("the private key in the clear after a rotation: %v", l)
	}
	req, _ := http.NewRequest("DELETE", "http://"+r.Addr+"/v2.0/lbaas-certificates/"+id, nil)
	if resp, err := http.DefaultClient.Do(req); err != nil || resp.StatusCode != 204 {
		t.Fatalf("delete: %v %v", err, resp)
	}
	if l := leaks(t, r, dir, "PRIVATE KEY", body); len(l) > 0 {
		t.Fatalf("the private key in the clear after a delete: %v", l)
	}
}

func discardLogger() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }
