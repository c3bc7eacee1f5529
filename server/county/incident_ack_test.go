package county

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"jiannuo/sync/countyapi"
	"jiannuo/sync/protocol"
)

// TestAckIncident: a refused credential is an incident with an ID; an
// admin acknowledges it with a note; the incident keeps its content,
// carries who and when, and the acknowledgement is in the audit trail
// once, however often it is sent. Unknown and malformed IDs and a wrong
// credential are refused and change nothing.
func TestAckIncident(t *testing.T) {
	f := startAdminFixture(t)
	if code, _ := f.do("GET", "/admin/devices", "zhangwei", "错误的口令", nil); code != http.StatusUnauthorized {
		t.Fatalf("wrong password: %d", code)
	}
	in := f.incidents()
	if len(in) != 1 || in[0].ID == "" || in[0].Acknowledged || in[0].Code != protocol.CodeNotAuthorized {
		t.Fatalf("incidents %+v", in)
	}
	id := in[0].ID

	// A wrong credential cannot acknowledge (and is one more incident).
	code, body := f.do("POST", "/admin/incidents/"+id+"/ack", "zhangwei", "错误的口令", map[string]string{"reason": "x"})
	f.wantError(code, body, http.StatusUnauthorized, protocol.CodeNotAuthorized)
	code, body = f.admin("POST", "/admin/incidents/00112233445566778899aabbccddeeff/ack", nil)
	f.wantError(code, body, http.StatusNotFound, protocol.CodeNotFound)
	code, body = f.admin("POST", "/admin/incidents/nothex/ack", nil)
	f.wantError(code, body, http.StatusBadRequest, protocol.CodeMalformed)
	code, body = f.admin("POST", "/admin/incidents/"+id+"/ack", map[string]string{"reason": "a\x00b"})
	f.wantError(code, body, http.StatusBadRequest, protocol.CodeMalformed)

	code, body = f.admin("POST", "/admin/incidents/"+id+"/ack", map[string]string{"reason": "已电话核实，系管理员输错口令"})
	if code != http.StatusOK {
		t.Fatalf("ack: %d %s", code, body)
	}
	var got countyapi.Incident
	if err := json.Unmarshal(body, &got); err != nil {
		t.Fatal(err)
	}
	if got.ID != id || !got.Acknowledged || got.AckedBy != "zhangwei" || got.AckedAt.IsZero() || got.AckNote != "已电话核实，系管理员输错口令" {
		t.Fatalf("acknowledged %+v", got)
	}
	// Again: nothing changes.
	if code, body := f.admin("POST", "/admin/incidents/"+id+"/ack", map[string]string{"reason": "第二次"}); code != http.StatusOK {
		t.Fatalf("second ack: %d %s", code, body)
	}
	all := f.incidents()
	var acked *countyapi.Incident
	for i := range all {
		if all[i].ID == id {
			acked = &all[i]
		} else if all[i].Acknowledged {
			t.Fatalf("another incident acknowledged: %+v", all[i])
		}
	}
	if acked == nil || !acked.Acknowledged || acked.AckNote != "已电话核实，系管理员输错口令" || acked.Code != in[0].Code ||
		acked.Message != in[0].Message || !acked.Time.Equal(in[0].Time) {
		t.Fatalf("stored %+v, was %+v", acked, in[0])
	}
	trail, err := f.srv.Audit()
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, e := range trail {
		if e.Action == AuditAckIncident {
			n++
			if e.Target != id || e.Who != "zhangwei" || !strings.Contains(e.Reason, "输错口令") || e.Detail != string(protocol.CodeNotAuthorized) {
				t.Fatalf("audit entry %+v", e)
			}
		}
	}
	if n != 1 {
		t.Fatalf("%d audit entries for the acknowledgement", n)
	}
	if err := f.srv.VerifyAudit(); err != nil {
		t.Fatal(err)
	}
}
