package vm

import (
	"context"
	"testing"

	"jiannuo/sync/protocol"
)

// TestIncidentAck: against a real county server, a refused credential is
// an incident; the admin acknowledges it through the view-model (a note is
// required); the row then says who acknowledged it.
func TestIncidentAck(t *testing.T) {
	c := startTestCounty(t)
	ctx := context.Background()
	if _, err := c.client("错误的口令").Devices(ctx); err == nil {
		t.Fatal("wrong password accepted")
	}
	in := NewIncidents(c.client(testAdminPass))
	must(t, in.Load(ctx))
	if len(in.Rows) != 1 || in.Rows[0].ID == "" || in.Rows[0].Acked || in.Rows[0].Code != protocol.CodeNotAuthorized {
		t.Fatalf("rows %+v", in.Rows)
	}
	row := in.Rows[0]
	wantKey(t, in.Ack(ctx, row, "  "), "error.reason_required")
	wantKey(t, in.Ack(ctx, IncidentRow{ID: "00112233445566778899aabbccddeeff"}, "说明"), "error.not_found")
	must(t, in.Ack(ctx, row, "已核实：管理员输错口令"))
	var got *IncidentRow
	for i := range in.Rows {
		if in.Rows[i].ID == row.ID {
			got = &in.Rows[i]
		}
	}
	if got == nil || !got.Acked || got.AckNote != "已核实：管理员输错口令" {
		t.Fatalf("after ack %+v", in.Rows)
	}
	checkMessage(t, got.AckedText)
	// A wrong credential cannot acknowledge.
	_, err := c.client("错误的口令").AckIncident(ctx, row.ID, "x")
	wantKey(t, err, "error.not_authorized")
}
