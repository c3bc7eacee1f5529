package county

import (
	"fmt"
	"net/http"

	"jiannuo/domain/office"
	"jiannuo/store"
	"jiannuo/sync/countyapi"
	"jiannuo/sync/protocol"
)

// Who did what: change sets name their author by login; the account
// changes township leaders sign (protocol.OpAccount) build each office's
// account directory on the county's replica like on every other
// (store.Directory). The admin API shows it, and names the person behind
// the author of each competing value in the conflict queue.

// Directory returns the account directory of office o (a township, or the
// county; empty: the whole county), each login with its history.
// A code outside the county is refused with protocol.ErrOutOfScope.
func (s *Server) Directory(o office.Code) ([]store.DirectoryEntry, error) {
	if o == "" {
		o = s.id.County
	}
	if !s.id.County.Contains(o) {
		return nil, fmt.Errorf("%w: office %s is not in county %s", protocol.ErrOutOfScope, o, s.id.County)
	}
	return s.st.Directory(o)
}

// serveDirectory answers GET /admin/directory[?office=CODE].
func (s *Server) serveDirectory(w http.ResponseWriter, r *http.Request, _ string) {
	dir, err := s.Directory(office.Code(r.URL.Query().Get("office")))
	if err != nil {
		s.writeErr(w, r, statusFor(err), err)
		return
	}
	if dir == nil {
		dir = []store.DirectoryEntry{}
	}
	countyapi.WriteJSON(w, http.StatusOK, dir)
}

// ConflictRows returns the conflict queue with the person behind the
// author of each competing value.
func (s *Server) ConflictRows() ([]countyapi.ConflictRow, error) {
	cs, err := s.st.Conflicts()
	if err != nil {
		return nil, err
	}
	people, err := s.st.People()
	if err != nil {
		return nil, err
	}
	out := make([]countyapi.ConflictRow, 0, len(cs))
	for _, c := range cs {
		row := countyapi.ConflictRow{Conflict: c, Authors: make([]string, len(c.Versions))}
		for i, v := range c.Versions {
			row.Authors[i] = people.Who(v.Op.Device, v.Author)
		}
		out = append(out, row)
	}
	return out, nil
}
