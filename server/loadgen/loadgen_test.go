package loadgen_test

import (
	"context"
	"crypto/ed25519"
	"io"
	"log/slog"
	"testing"
	"time"

	"jiannuo/auth"
	"jiannuo/domain/office"
	"jiannuo/server/county"
	"jiannuo/server/county/countytest"
	"jiannuo/server/loadgen"
	"jiannuo/store"
	"jiannuo/sync/countyapi"
	"jiannuo/sync/protocol"
)

const (
	countyCode office.Code = "410324"
	adminPass              = "县信用办管理员口令"
)

func quiet() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

// startServer runs a county server with real TLS on 127.0.0.1.
func startServer(t *testing.T) (*county.Server, string) {
	t.Helper()
	c := countytest.Start(t, countytest.Config{County: countyCode, Admin: "admin", Password: adminPass, NoSync: true})
	return c.Server, c.Base.BaseURL
}

// TestRunThroughAdminAPI: devices enrolled and approved through the admin
// API push their change sets, every one is acknowledged with a receipt,
// and the county holds every commitment they created.
func TestRunThroughAdminAPI(t *testing.T) {
	srv, url := startServer(t)
	lg, err := loadgen.New(loadgen.Config{URL: url, Fingerprint: srv.Identity().Fingerprint,
		Devices: 3, ChangeSets: 4, Ops: 25, Window: 2, VerifyEvery: 3, Admin: "admin", Password: adminPass})
	if err != nil {
		t.Fatal(err)
	}
	defer lg.Close()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	res, err := lg.Run(ctx)
	if err != nil {
		t.Fatalf("run: %v (%+v)", err, res)
	}
	if res.ChangeSets != 12 || res.Ops != 300 || res.Refused != 0 || len(res.Errors) != 0 {
		t.Fatalf("result: %+v", res)
	}
	if res.BytesSent <= 0 || res.SentPerOp <= 0 || res.PayloadPerOp <= 0 || res.OpsPerSecond <= 0 || res.LatencyP50 <= 0 {
		t.Fatalf("figures missing: %+v", res)
	}
	// Per device: the first, the 4th (every third after the first) and the last.
	if res.ReceiptsVerified < 6 {
		t.Fatalf("%d receipts verified", res.ReceiptsVerified)
	}
	all, err := srv.Store().AllCommitments()
	if err != nil {
		t.Fatal(err)
	}
	if want := 3 * 4 * 25 / 5; len(all) != want {
		t.Fatalf("county holds %d commitments, want %d", len(all), want)
	}
	for _, c := range all {
		if c.Status != "published" {
			t.Fatalf("commitment %+v", c)
		}
	}
	if _, err := lg.Run(ctx); err == nil {
		t.Fatal("a second Run was allowed")
	}
}

// TestChangeSetsChainAndVerify: the built change sets are what a county
// would accept, in order, and apply.
func TestChangeSetsChainAndVerify(t *testing.T) {
	srv, url := startServer(t)
	lg, err := loadgen.New(loadgen.Config{URL: url, Fingerprint: srv.Identity().Fingerprint, County: countyCode,
		Devices: 2, ChangeSets: 3, Ops: 40, Offices: 1,
		Approve: func(_ context.Context, d protocol.DeviceID) error {
			_, err := srv.Approve(d, countyapi.ApproveRequest{}, "test")
			return err
		}})
	if err != nil {
		t.Fatal(err)
	}
	defer lg.Close()
	if err := lg.Prepare(context.Background()); err != nil {
		t.Fatal(err)
	}
	st, err := store.Open(t.TempDir()+"/replica.db", &store.Options{KDF: auth.TestParams(), Logger: quiet(), NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	for _, d := range lg.Devices() {
		if d.Office != "410324101" {
			t.Fatalf("device office %s, want the one township", d.Office)
		}
		if err := st.PutDevice(store.DeviceRecord{ID: d.ID, Key: d.Key.Public().(ed25519.PublicKey), Office: d.Office, Name: "d"}); err != nil {
			t.Fatal(err)
		}
		res, err := st.Apply(d.ChangeSets...)
		if err != nil {
			t.Fatal(err)
		}
		for i, r := range res {
			if r.Code != protocol.CodeOK || r.Seq != uint64(i+1) {
				t.Fatalf("change set %d: %s %v", i+1, r.Code, r.Err)
			}
		}
	}
	if err := st.Check(); err != nil {
		t.Fatal(err)
	}
	// Two devices of one township: each receives the other's change sets.
	res, err := lg.Run(context.Background())
	if err != nil {
		t.Fatalf("run: %v (%+v)", err, res)
	}
	if res.Ops != 2*3*40 {
		t.Fatalf("result: %+v", res)
	}
}

// TestIdle: idle devices stay connected and the admin API sees them online.
func TestIdle(t *testing.T) {
	srv, url := startServer(t)
	lg, err := loadgen.New(loadgen.Config{URL: url, Fingerprint: srv.Identity().Fingerprint, Admin: "admin", Password: adminPass})
	if err != nil {
		t.Fatal(err)
	}
	defer lg.Close()
	ctx := context.Background()
	idle, err := lg.Idle(ctx, 5)
	if err != nil {
		t.Fatal(err)
	}
	if idle.Len() != 5 || idle.Alive() != 5 {
		t.Fatalf("%d connected, %d alive", idle.Len(), idle.Alive())
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		n, err := lg.Online(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if n == 5 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d devices online, want 5", n)
		}
		time.Sleep(20 * time.Millisecond)
	}
	idle.Close()
	// The same devices, from another load generator that knows they are
	// enrolled.
	lg2, err := loadgen.New(loadgen.Config{URL: url, Fingerprint: srv.Identity().Fingerprint, Keys: lg.Keys(), Enrolled: true})
	if err != nil {
		t.Fatal(err)
	}
	defer lg2.Close()
	idle2, err := lg2.Idle(ctx, 5)
	if err != nil {
		t.Fatal(err)
	}
	idle2.Close()
}
