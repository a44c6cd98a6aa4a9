package identity

import (
	"sync"
	"time"

	"golang.org/x/time/rate"
)

// Login attempts allowed per user name (or application credential) and
// per client address: a burst, then a steady rate. Beyond them a login is
// refused at once, whether the password was right or not, so guessing is
// slow and costs the server no bcrypt work.
const (
	perNameBurst = 10
	perNameEvery = 6 * time.Second // 10 a minute
	perAddrBurst = 30
	perAddrEvery = time.Second
	maxKeys      = 100000
)

type limiter struct {
	now  func() time.Time
	mu   sync.Mutex
	keys map[string]*rate.Limiter
}

func newLimiter(now func() time.Time) *limiter {
	return &limiter{now: now, keys: map[string]*rate.Limiter{}}
}

func (l *limiter) allow(key string) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	r, ok := l.keys[key]
	if !ok {
		if len(l.keys) >= maxKeys {
			// Bounded memory: forgetting every bucket at once only ever
			// lets an attacker start a fresh burst.
			clear(l.keys)
		}
		burst, every := perNameBurst, perNameEvery
		if len(key) > 5 && key[:5] == "addr:" {
			burst, every = perAddrBurst, perAddrEvery
		}
		r = rate.NewLimiter(rate.Every(every), burst)
		l.keys[key] = r
	}
	return r.AllowN(l.now(), 1)
}
