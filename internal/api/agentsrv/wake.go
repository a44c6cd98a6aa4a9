package agentsrv

import (
	"sync"

	"lbaas/internal/controller"
	"lbaas/internal/store"
)

// wakes tells long polls when their node's desired state may have changed
// (controller.Affected), so that a change of one load balancer wakes the
// polls of its two nodes and not those of every node.
type wakes struct {
	mu     sync.Mutex
	byNode map[string]chan struct{}
}

func newWakes(st *store.Store) *wakes {
	w := &wakes{byNode: map[string]chan struct{}{}}
	controller.Track(st) // first: see Track
	st.Observe(func(changes []store.Change) {
		nodes, all := controller.Affected(st, changes)
		w.mu.Lock()
		defer w.mu.Unlock()
		if all {
			for n, ch := range w.byNode {
				close(ch)
				delete(w.byNode, n)
			}
			return
		}
		for n := range nodes {
			if ch, ok := w.byNode[n]; ok {
				close(ch)
				delete(w.byNode, n)
			}
		}
	})
	return w
}

// next returns a channel closed at the next change that may alter node's
// desired state. Taken before the state is computed, it cannot miss a
// change made during the computation.
func (w *wakes) next(node string) <-chan struct{} {
	w.mu.Lock()
	defer w.mu.Unlock()
	ch, ok := w.byNode[node]
	if !ok {
		ch = make(chan struct{})
		w.byNode[node] = ch
	}
	return ch
}
