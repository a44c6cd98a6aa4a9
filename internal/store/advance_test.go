package store

import (
	"testing"
	"time"

	"go.etcd.io/etcd/api/v3/etcdserverpb"
	"go.etcd.io/etcd/api/v3/mvccpb"
	clientv3 "go.etcd.io/etcd/client/v3"
)

func events(header int64, revs ...int64) clientv3.WatchResponse {
	r := clientv3.WatchResponse{Header: &etcdserverpb.ResponseHeader{Revision: header}}
	for _, rev := range revs {
		r.Events = append(r.Events, &clientv3.Event{Type: mvccpb.PUT, Kv: &mvccpb.KeyValue{Key: []byte("/lbaas/x"), ModRevision: rev}})
	}
	return r
}

func progress(rev int64) clientv3.WatchResponse {
	return clientv3.WatchResponse{Header: &etcdserverpb.ResponseHeader{Revision: rev}}
}

// The cache's revision says which writes it holds: a writer waits for its
// revision and then reads its own write from the cache. What etcd sends
// that does not prove the events were applied must not move it: the header
// of a catching-up batch (etcd's current revision, with more batches to
// come), and a progress notification that an older etcd may send ahead of
// the last events (etcd issue 15220) until a later one repeats it.
func TestTheCacheRevisionMovesOnlyToWhatItProvablyHolds(t *testing.T) {
	s := &Store{rev: 10}
	t0 := time.Unix(1000, 0)
	steps := []struct {
		name string
		resp clientv3.WatchResponse
		at   time.Duration
		want int64
	}{
		{"a catching-up batch headed with etcd's revision", events(500, 11, 12, 13), 0, 13},
		{"a progress notification ahead of events", progress(20), 0, 13},
		{"the same, repeated too soon", progress(20), 10 * time.Millisecond, 13},
		{"the events it was ahead of", events(20, 19), 20 * time.Millisecond, 19},
		{"the same progress, repeated after the wait", progress(20), 60 * time.Millisecond, 20},
		{"a progress at what the cache holds", progress(20), 70 * time.Millisecond, 20},
		{"a new progress revision", progress(25), 80 * time.Millisecond, 20},
		{"a higher one replaces it and waits again", progress(26), 200 * time.Millisecond, 20},
		{"repeated", progress(26), 260 * time.Millisecond, 26},
		{"an older event batch moves nothing back", events(26, 24), 270 * time.Millisecond, 26},
	}
	for _, st := range steps {
		s.advance(st.resp, t0.Add(st.at))
		if s.rev != st.want {
			t.Fatalf("%s: revision %d, want %d", st.name, s.rev, st.want)
		}
	}
}
