package loadgen_test

import (
	"context"
	"testing"
	"time"

	"jiannuo/server/county/countytest"
	"jiannuo/server/loadgen"
	"jiannuo/sync/countyapi"
	"jiannuo/sync/protocol"
)

// pushWire pushes devices × changeSets × 100 operations of the given text
// into a fresh county server (TLS on 127.0.0.1, fsync off: only the bytes
// matter here) and returns what the load generator measured.
func pushWire(tb testing.TB, text loadgen.TextMode, noCompression bool, devices, changeSets int) loadgen.Result {
	tb.Helper()
	c := countytest.Start(tb, countytest.Config{County: countyCode, Admin: "admin", Password: adminPass, NoSync: true})
	lg, err := loadgen.New(loadgen.Config{URL: c.Base.BaseURL, Fingerprint: c.Base.Fingerprint, County: countyCode,
		Devices: devices, ChangeSets: changeSets, Ops: 100, Text: text, Seed: 15, NoCompression: noCompression,
		Approve: func(_ context.Context, d protocol.DeviceID) error {
			_, err := c.Approve(d, countyapi.ApproveRequest{}, "test")
			return err
		}})
	if err != nil {
		tb.Fatal(err)
	}
	defer lg.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	res, err := lg.Run(ctx)
	if err != nil {
		tb.Fatalf("%s: %v (%+v)", text, err, res)
	}
	return res
}

// TestTextModesOnTheWire: generated text makes longer change sets than
// the clauses, and permessage-deflate saves much less on them: the
// clauses' figures flatter the wire. Byte counts, not times.
func TestTextModesOnTheWire(t *testing.T) {
	type figures struct{ payload, deflated, plain float64 }
	got := map[loadgen.TextMode]figures{}
	for _, m := range []loadgen.TextMode{loadgen.TextHanzi, loadgen.TextClauses} {
		on, off := pushWire(t, m, false, 2, 3), pushWire(t, m, true, 2, 3)
		if on.PayloadPerOp != off.PayloadPerOp {
			t.Fatalf("%s: the same seed built change sets of %.1f and %.1f B/op", m, on.PayloadPerOp, off.PayloadPerOp)
		}
		if off.SentPerOp < off.PayloadPerOp {
			t.Fatalf("%s without compression: %.1f B/op sent for %.1f of change set", m, off.SentPerOp, off.PayloadPerOp)
		}
		got[m] = figures{payload: on.PayloadPerOp, deflated: on.SentPerOp, plain: off.SentPerOp}
		t.Logf("%-7s change set %.1f B/op; sent with permessage-deflate %.1f B/op, without %.1f B/op", m, on.PayloadPerOp, on.SentPerOp, off.SentPerOp)
	}
	h, c := got[loadgen.TextHanzi], got[loadgen.TextClauses]
	if h.payload <= c.payload {
		t.Errorf("generated text: %.1f B/op of change set, clauses %.1f: real texts are longer", h.payload, c.payload)
	}
	// Deflate keeps at least half of a change set of generated text
	// (signatures, IDs and hashes do not compress either), and saves at
	// least twice as much, relatively, on the clauses.
	if hr, cr := h.deflated/h.plain, c.deflated/c.plain; hr < 0.5 || cr > hr/2 {
		t.Errorf("deflate keeps %.2f of generated text and %.2f of the clauses", hr, cr)
	}
}

// BenchmarkWire reports the bytes a device sends per operation, for each
// text mode with and without permessage-deflate (a county server in
// process, 4 devices × 10 change sets × 100 operations):
//
//	go test -run '^$' -bench Wire -benchtime 1x ./server/loadgen/
//
// wire-B/op counts what crossed TCP (TLS records with websocket frames),
// payload-B/op the change sets' own encoding, recv-B/op what the device
// received (receipts), x-payload wire over payload.
func BenchmarkWire(b *testing.B) {
	for _, m := range []loadgen.TextMode{loadgen.TextHanzi, loadgen.TextClauses} {
		for _, deflate := range []bool{true, false} {
			name := m.String() + "/deflate"
			if !deflate {
				name = m.String() + "/plain"
			}
			b.Run(name, func(b *testing.B) {
				var res loadgen.Result
				for range b.N {
					res = pushWire(b, m, !deflate, 4, 10)
				}
				b.ReportMetric(res.SentPerOp, "wire-B/op")
				b.ReportMetric(res.PayloadPerOp, "payload-B/op")
				b.ReportMetric(res.ReceivedPerOp, "recv-B/op")
				b.ReportMetric(res.SentPerOp/res.PayloadPerOp, "x-payload")
			})
		}
	}
}
