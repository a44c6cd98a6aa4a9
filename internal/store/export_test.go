package store

// SetCommitHook lets tests lose tries of Commit (see Store.commitHook).
func (s *Store) SetCommitHook(h func(try int, sent bool) error) { s.commitHook = h }
