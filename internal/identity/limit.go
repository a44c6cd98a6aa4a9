package identity

import (
	"sync"
	"time"

	"golang.org/x/time/rate"
)

// Failed logins allowed per user name (or application credential) and per
// client address: a burst, then a steady rate. Successful logins cost
// nothing (a CLI logs in for every command). Beyond the limit a login is
// refused at once, whether the password is right or not, so guessing is
// slow, a right guess is not told apart, and it costs the server no bcrypt
// work.
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

// blocked reports whether any key has no failure left to spend.
func (l *limiter) blocked(keys ...string) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	now := l.now()
	for _, k := range keys {
		if l.bucket(k).TokensAt(now) < 1 {
			return true
		}
	}
	return false
}

// failed spends one failure of each key.
func (l *limiter) failed(keys ...string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	now := l.now()
	for _, k := range keys {
		l.bucket(k).AllowN(now, 1)
	}
}

func (l *limiter) bucket(key string) *rate.Limiter {
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
	return r
}
