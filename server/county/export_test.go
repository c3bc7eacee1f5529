package county

// SetCommitHook makes every group commit of s call f inside its write
// transaction, before the commit (nil removes it): a test holds the single
// writer busy this way, to see what does or does not wait for it.
func SetCommitHook(s *Server, f func()) {
	if f == nil {
		s.commitHook.Store(nil)
		return
	}
	s.commitHook.Store(&f)
}

// AddAdminForTest adds a county admin credential that is not the
// recovery credential, hashed with the server's KDF parameters.
func AddAdminForTest(s *Server, name, password string) error {
	return addAdmin(s.st, name, password, s.cfg.KDF, false)
}

// SetParkHook makes s call f whenever its parked feeds change (a session's
// feed parks while idle, the feed's advance wakes it, a session ends).
func SetParkHook(s *Server, f func()) { s.parkHook.Store(&f) }

// ParkedFeeds returns how many sessions' feeds are parked: idle, with no
// goroutine.
func ParkedFeeds(s *Server) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.parked)
}
