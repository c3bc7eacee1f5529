package county

// AddAdminForTest adds a county admin credential that is not the
// recovery credential, hashed with the server's KDF parameters.
func AddAdminForTest(s *Server, name, password string) error {
	return addAdmin(s.st, name, password, s.cfg.KDF, false)
}
