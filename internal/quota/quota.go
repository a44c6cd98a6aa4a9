// Package quota keeps each project within its limits: how many load
// balancers, listeners, pools, members and health monitors it may hold.
// A limit is the project's own (model.Quota, set by an admin) or the
// deployment's default; -1 is unlimited, the default for every kind.
//
// A limit must hold under concurrent creates, which a count read before
// the write cannot promise by itself: two creates both see 9 of 10 and
// both commit. So every create counted against a finite limit also bumps
// the project's quota serial in its own transaction, compared against the
// revision it read. Of two racing creates one commits; the other's
// compare fails, the store's Mutate builds it again, and the new count
// includes the first. Projects without a finite limit pay nothing.
package quota

import (
	"time"

	"lbaas/internal/model"
	"lbaas/internal/store"
)

// Used returns how many objects of kind k project holds.
func Used(st *store.Store, k model.Kind, project string) int {
	return st.IndexCount(k, store.IdxProject, project)
}

// Limits returns project's effective limits: its own where set, the
// defaults elsewhere.
func Limits(st *store.Store, defaults model.Limits, project string) model.Limits {
	if e, ok := st.Get(model.KindQuota, project); ok {
		return e.Obj.(*model.Quota).Limits.Over(defaults)
	}
	return defaults
}

// Guard adds to t what keeps project within its limits when t creates
// add[k] more objects of kind k: a *model.QuotaError naming every kind
// that would go over, or, when any of those kinds has a finite limit, the
// bump of the project's serial that makes t fail if another counted
// create committed since this count. Build t inside store.Mutate so that
// such a failure is retried.
func Guard(st *store.Store, t *store.Txn, defaults model.Limits, project string, add map[model.Kind]int, now time.Time) error {
	q := model.Quota{Meta: model.Meta{ID: project, TenantID: project, CreatedAt: now}}
	var rev int64
	if e, ok := st.Get(model.KindQuota, project); ok {
		q, rev = *e.Obj.(*model.Quota), e.Rev
	}
	limits := q.Limits.Over(defaults)
	guarded := false
	var over []string
	for _, c := range model.CountedKinds {
		n := add[c.Kind]
		limit := *c.Field(&limits)
		if n <= 0 || limit == nil || *limit == model.QuotaUnlimited {
			continue
		}
		guarded = true
		if Used(st, c.Kind, project)+n > *limit {
			over = append(over, c.Words)
		}
	}
	if len(over) > 0 {
		return &model.QuotaError{Resources: over}
	}
	if !guarded {
		return nil
	}
	q.Serial++
	save(t, &q, rev, now)
	return nil
}

// save adds q to t: created when rev is 0 (none was stored), else
// replacing the record read at rev.
func save(t *store.Txn, q *model.Quota, rev int64, now time.Time) {
	q.UpdatedAt = now
	if rev == 0 {
		t.Create(model.KindQuota, q)
	} else {
		t.Update(model.KindQuota, q, rev)
	}
}

// Set adds to t the limits an admin set for project: each non-nil field of
// set replaces the stored one; clear names the fields sent as null, which
// go back to the default.
func Set(st *store.Store, t *store.Txn, project string, set model.Limits, clear []model.Kind, now time.Time) model.Quota {
	q := model.Quota{Meta: model.Meta{ID: project, TenantID: project, CreatedAt: now}}
	var rev int64
	if e, ok := st.Get(model.KindQuota, project); ok {
		q, rev = *e.Obj.(*model.Quota), e.Rev
	}
	for _, c := range model.CountedKinds {
		if v := *c.Field(&set); v != nil {
			n := *v
			*c.Field(&q.Limits) = &n
		}
		for _, k := range clear {
			if k == c.Kind {
				*c.Field(&q.Limits) = nil
			}
		}
	}
	save(t, &q, rev, now)
	return q
}

// Reset adds to t the return of every limit of project to the default.
// The record stays (with no limits) so that its serial keeps guarding.
func Reset(st *store.Store, t *store.Txn, project string, now time.Time) {
	e, ok := st.Get(model.KindQuota, project)
	if !ok {
		return
	}
	q := *e.Obj.(*model.Quota)
	q.Limits = model.Limits{}
	q.UpdatedAt = now
	t.Update(model.KindQuota, &q, e.Rev)
}
