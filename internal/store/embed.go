package store

import (
	"context"
	"fmt"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"
	"go.etcd.io/etcd/server/v3/embed"
	"go.etcd.io/etcd/server/v3/etcdserver/api/v3client"
)

// Embedded is a single-member etcd running inside the server process.
type Embedded struct {
	etcd   *embed.Etcd
	Client *clientv3.Client
}

// StartEmbedded starts (or restarts, keeping its data) a single-member etcd
// under dir. Clients inside the process talk to it without a socket; the
// client listener is a unix socket in dir (mode of dir: 0700) so that no
// other local user can reach the store, and the peer listener, which a
// single member needs but never uses, takes a free loopback port.
func StartEmbedded(ctx context.Context, dir string) (*Embedded, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("etcd data dir: %w", err)
	}
	cfg := embed.NewConfig()
	cfg.Name = "lbaas"
	cfg.Dir = filepath.Join(dir, "etcd")
	cfg.LogLevel = "warn"
	// etcd's own log goes beside its data, not into the server's output.
	cfg.LogOutputs = []string{filepath.Join(dir, "etcd.log")}
	cfg.AutoCompactionMode = "revision"
	cfg.AutoCompactionRetention = "10000"
	// One API request is one transaction: a batch of a thousand members
	// (a put and a claim each), or a cascade delete, exceeds etcd's
	// default of 128 operations. An external etcd needs --max-txn-ops too.
	cfg.MaxTxnOps = 16384
	cfg.MaxRequestBytes = 8 << 20
	sock := url.URL{Scheme: "unix", Host: filepath.Join(dir, "etcd-client.sock")}
	_ = os.Remove(sock.Host) // a stale socket of a killed server
	cfg.ListenClientUrls = []url.URL{sock}
	cfg.AdvertiseClientUrls = []url.URL{sock}
	port, err := freePort()
	if err != nil {
		return nil, err
	}
	peer, _ := url.Parse(fmt.Sprintf("http://127.0.0.1:%d", port))
	cfg.ListenPeerUrls = []url.URL{*peer}
	cfg.AdvertisePeerUrls = []url.URL{*peer}
	cfg.InitialCluster = cfg.InitialClusterFromName(cfg.Name)
	e, err := embed.StartEtcd(cfg)
	if err != nil {
		return nil, fmt.Errorf("start embedded etcd: %w", err)
	}
	select {
	case <-e.Server.ReadyNotify():
	case <-time.After(60 * time.Second):
		e.Close()
		return nil, fmt.Errorf("embedded etcd did not become ready in 60s")
	case <-ctx.Done():
		e.Close()
		return nil, ctx.Err()
	}
	return &Embedded{etcd: e, Client: v3client.New(e.Server)}, nil
}

// Close stops the member; acknowledged writes are already on disk.
func (e *Embedded) Close() {
	e.Client.Close()
	e.etcd.Close()
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// Connect returns a client of an external etcd cluster.
func Connect(endpoints []string) (*clientv3.Client, error) {
	return clientv3.New(clientv3.Config{Endpoints: endpoints, DialTimeout: 5 * time.Second})
}
