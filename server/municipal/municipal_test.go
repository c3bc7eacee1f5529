package municipal_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"

	"jiannuo/domain"
	"jiannuo/domain/calendar"
	"jiannuo/domain/office"
	"jiannuo/server/municipal"
	"jiannuo/store"
	"jiannuo/sync/protocol"
)

const (
	luanchuan office.Code = "410324" // 栾川县
	songxian  office.Code = "410325" // 嵩县
	ruyang    office.Code = "410326" // 汝阳县
)

func township(c office.Code, n int) office.Code {
	return office.Code(string(c) + []string{"101", "102", "103"}[n])
}

// TestCityConvergesOnTheUnion: three county servers and two municipal
// nodes in one cluster; townships sync to their counties; each municipal
// node discovers the counties through the cluster, pulls them on their
// announcements, and ends holding exactly the union of the counties'
// replicas, with the same digest as the other node, every county receipt
// byte for byte as its device got it, a revocation at its place, and the
// city statistics computed from it.
func TestCityConvergesOnTheUnion(t *testing.T) {
	c1 := newCounty(t, luanchuan)
	c2 := newCounty(t, songxian, c1.serfAddr)
	c3 := newCounty(t, ruyang, c2.serfAddr)
	counties := []*countyNode{c1, c2, c3}
	m1 := newMunicipal(t, "市信用平台-1", counties...)
	m2 := newMunicipal(t, "市信用平台-2", counties...)
	m1.start(c1.serfAddr)
	m2.start(c3.serfAddr)

	// Each county: two townships with a device each; commitments,
	// publication, fulfilment; one closed on time, one late.
	var devs []*device
	var refs []store.Ref
	for _, c := range counties {
		for i := range 2 {
			d := c.device(township(c.code, i), domain.RoleLeader)
			devs = append(devs, d)
			a := d.create("窗口午间值守", domain.WorkdaysDeadline(10))
			b := d.create("路灯报修三日内修复", domain.DateDeadline(calendar.NewDate(2026, 11, 10)))
			d.create("草稿不计入统计", domain.WorkdaysDeadline(5))
			d.publish(a)
			d.publish(b)
			if _, err := d.se.LogFulfilment(a, store.EntryInput{Date: calendar.NewDate(2026, 11, 5), Progress: 100, Note: "已安排专人值守"}); err != nil {
				t.Fatal(err)
			}
			d.sync()
			if err := d.se.Transition(a, domain.StatusFulfilledOnTime, ""); err != nil {
				t.Fatal(err)
			}
			d.sync()
			refs = append(refs, a, b)
		}
	}
	// A county admin of 栾川 records a breach (a dishonesty record).
	adm := c1.device(luanchuan, domain.RoleCountyAdmin)
	adm.sync()
	if err := adm.se.Transition(refs[1], domain.StatusBreached, "逾期未修复，群众投诉三次"); err != nil {
		t.Fatal(err)
	}
	if _, err := adm.se.RecordDishonesty(refs[1], store.DishonestyInput{Type: domain.DishonestyBreach, Reason: "承诺期限内未修复路灯"}); err != nil {
		t.Fatal(err)
	}
	adm.sync()

	want := union(t, counties...)
	for _, m := range []*muniNode{m1, m2} {
		s := m.waitConverged(counties...)
		for _, cs := range s.Counties {
			if !cs.Trusted || cs.Member != "alive" || cs.Lag != 0 {
				t.Errorf("%s: %+v", cs.County, cs)
			}
		}
		sameAs(t, m.n.Identity().Name, m.n.Store(), want)
	}
	d1, _ := m1.n.Store().Digest()
	d2, _ := m2.n.Store().Digest()
	if d1 != d2 {
		t.Fatal("the two municipal nodes hold the same change sets but differ")
	}
	var total uint64
	for _, c := range counties {
		total += c.head()
	}
	if h, _ := m1.n.Store().FeedHead(); h != total {
		t.Fatalf("municipal node applied %d change sets, the counties hold %d", h, total)
	}

	// The county's receipts, kept byte for byte as the devices got them.
	for _, d := range devs {
		seq, raw, err := d.st.LastReceipt()
		if err != nil {
			t.Fatal(err)
		}
		got, ok, err := m1.n.Receipt(d.id(), seq)
		if err != nil || !ok || !bytes.Equal(got, raw) {
			t.Fatalf("receipt for %s/%d on the municipal node: %v %v, equal %v", d.id().Short(), seq, ok, err, bytes.Equal(got, raw))
		}
		if _, err := protocol.OpenReceipt(got, d.c.key); err != nil {
			t.Fatal(err)
		}
	}

	// A revocation reaches the municipal nodes with its position.
	revoked := devs[4] // a township of 汝阳
	if err := c3.srv.Revoke(revoked.id(), "终端遗失", "admin"); err != nil {
		t.Fatal(err)
	}
	for _, m := range []*muniNode{m1, m2} {
		m.waitFor("the revocation", func(municipal.Status) bool {
			r, err := m.n.Store().DeviceRecord(revoked.id())
			return err == nil && r.Revoked && r.Reason == "终端遗失"
		})
	}

	// Statistics over HTTP, and the public page mounted at /.
	resp, err := http.Get("http://" + m1.n.HTTPAddr() + "/stats")
	if err != nil {
		t.Fatal(err)
	}
	var st municipal.Stats
	if err := json.NewDecoder(resp.Body).Decode(&st); err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	// 12 published commitments (drafts left out): 6 fulfilled on time,
	// 1 breached, 5 open, of which the date deadline 2026-11-10 is
	// overdue after it.
	if st.City.Commitments != 12 || st.City.FulfilledOnTime != 6 || st.City.Breached != 1 || st.City.Open != 5 || st.City.Closed != 7 {
		t.Fatalf("city counts: %+v", st.City)
	}
	if st.City.OnTimeRate == nil || *st.City.OnTimeRate != 6.0/7.0 {
		t.Fatalf("on-time rate %v", st.City.OnTimeRate)
	}
	if len(st.Counties) != 3 || st.Counties[0].County != luanchuan || len(st.Counties[0].Breaches) != 1 ||
		st.Counties[0].Breaches[0].Reason != "逾期未修复，群众投诉三次" || len(st.Counties[0].Townships) != 2 {
		t.Fatalf("county figures: %+v", st.Counties)
	}
	if d := st.Counties[0].Dishonesty; d.Records != 1 || d.Open != 1 || d.ByType[domain.DishonestyBreach] != 1 || st.Counties[1].Dishonesty.Records != 0 {
		t.Fatalf("dishonesty records: %+v / %+v", d, st.Counties[1].Dishonesty)
	}
	today := calendar.DateOf(time.Now().In(time.FixedZone("CST", 8*3600)))
	if today.After(calendar.NewDate(2026, 11, 10)) && st.City.Overdue != 5 {
		t.Fatalf("overdue %d on %s, want 5", st.City.Overdue, today)
	}
	resp, err = http.Get("http://" + m1.n.HTTPAddr() + "/")
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("public page: %v %v", resp, err)
	}
	resp.Body.Close()
	resp, err = http.Get("http://" + m1.n.OpsAddr() + "/status")
	if err != nil {
		t.Fatal(err)
	}
	var status municipal.Status
	json.NewDecoder(resp.Body).Decode(&status)
	resp.Body.Close()
	if len(status.Counties) != 3 || status.Incidents != 0 {
		t.Fatalf("ops status: %+v", status)
	}
}

// TestCountyFailsAndCatchesUp: a county server whose announcements the
// municipal node cannot act on is shown with its lag; killed, it is shown
// failed with that lag while its townships keep working offline and the
// other counties keep flowing; restarted on its directory, it is caught up
// from the cursor with every operation exactly once.
func TestCountyFailsAndCatchesUp(t *testing.T) {
	c1 := newCounty(t, luanchuan)
	c2 := newCounty(t, songxian, c1.serfAddr)
	m := newMunicipal(t, "市信用平台", c1, c2)
	m.start(c2.serfAddr)
	d1 := c1.device(township(luanchuan, 0), domain.RoleLeader)
	d2 := c2.device(township(songxian, 0), domain.RoleLeader)
	d1.create("栾川承诺一", domain.WorkdaysDeadline(5))
	d1.sync()
	d2.create("嵩县承诺一", domain.WorkdaysDeadline(5))
	d2.sync()
	m.waitConverged(c1, c2)
	applied := c2.head()

	// The link to 嵩县 breaks; it goes on ingesting and announcing.
	m.gate.set(c2.addr, true)
	d2.create("嵩县承诺二", domain.WorkdaysDeadline(5))
	d2.sync()
	d2.create("嵩县承诺三", domain.WorkdaysDeadline(5))
	d2.sync()
	lag := c2.head() - applied
	m.waitFor("the lag of 嵩县", func(s municipal.Status) bool {
		cs := countyOf(s, songxian)
		return cs.Lag == lag && cs.Applied == applied
	})

	// 嵩县's server dies.
	c2.kill()
	s := m.waitFor("嵩县 failed", func(s municipal.Status) bool { return countyOf(s, songxian).Member == "failed" })
	if cs := countyOf(s, songxian); cs.Lag != lag || cs.Head != applied+lag {
		t.Fatalf("failed county shown as %+v, want lag %d", cs, lag)
	}
	// Its township keeps working offline; nothing is lost.
	d2.create("离线录入一", domain.WorkdaysDeadline(5))
	d2.create("离线录入二", domain.WorkdaysDeadline(5))
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	if err := d2.eng.SyncOnce(ctx); err == nil {
		t.Fatal("sync with the county down succeeded")
	}
	cancel()
	if p, _ := d2.st.Pending(); p.PendingOps+p.OutboxChangeSets == 0 {
		t.Fatal("the offline work is gone")
	}
	// The other county flows on.
	d1.create("栾川承诺二", domain.WorkdaysDeadline(5))
	d1.sync()
	m.waitConverged(c1)

	// Restarted on the same directory, with the link back.
	m.gate.set(c2.addr, false)
	c2.start()
	d2.sync()
	m.waitConverged(c1, c2)
	m.waitFor("嵩县 alive", func(s municipal.Status) bool { return countyOf(s, songxian).Member == "alive" })
	sameAs(t, "the municipal replica", m.n.Store(), union(t, c1, c2))
	wantSets, wantOps := 0, 0
	for _, c := range []*countyNode{c1, c2} {
		s, o := opCount(t, c.srv.Store())
		wantSets, wantOps = wantSets+s, wantOps+o
	}
	if sets, ops := opCount(t, m.n.Store()); sets != wantSets || ops != wantOps {
		t.Fatalf("municipal node holds %d change sets and %d operations, the counties %d and %d", sets, ops, wantSets, wantOps)
	}
	if h, _ := m.n.Store().FeedHead(); h != uint64(wantSets) {
		t.Fatalf("municipal feed has %d entries for %d change sets: something was applied twice", h, wantSets)
	}
}

// TestTamperedChangeSetRefused: bytes of a stored change set altered in a
// county's bbolt file are refused by the municipal node, nothing of it is
// stored, the cursor stays before it, an incident names the county, and the
// county shows as tampered; once the county's file is repaired the node
// catches up.
func TestTamperedChangeSetRefused(t *testing.T) {
	c1 := newCounty(t, luanchuan)
	d := c1.device(township(luanchuan, 0), domain.RoleLeader)
	for _, title := range []string{"第一项", "TAMPER-ME 第二项", "第三项"} {
		d.create(title, domain.WorkdaysDeadline(5))
		d.sync()
	}
	dev := d.id()
	key := append(append([]byte(nil), dev[:]...), 0, 0, 0, 0, 0, 0, 0, 2)
	var original []byte
	tamper := func(edit func(v []byte)) {
		t.Helper()
		c1.kill()
		db, err := bolt.Open(c1.dir+"/county.db", 0o600, nil)
		if err != nil {
			t.Fatal(err)
		}
		err = db.Update(func(tx *bolt.Tx) error {
			b := tx.Bucket([]byte("log"))
			if original == nil {
				original = bytes.Clone(b.Get(key))
			}
			v := bytes.Clone(original)
			edit(v)
			return b.Put(key, v)
		})
		if err != nil {
			t.Fatal(err)
		}
		db.Close()
		c1.noCheck = true
		c1.start()
	}
	// The title's text changed: the receipt (signed again from the feed
	// entry) no longer names these bytes.
	tamper(func(v []byte) { v[bytes.Index(v, []byte("TAMPER-ME"))] = 'D' })

	m := newMunicipal(t, "市信用平台", c1)
	m.start(c1.serfAddr)
	s := m.waitFor("tampered", func(s municipal.Status) bool { return countyOf(s, luanchuan).State == municipal.StateTampered })
	cs := countyOf(s, luanchuan)
	if cs.Applied != 1 || cs.Incident == nil || cs.Incident.Code != municipal.CodeReceiptMismatch || cs.Incident.Seq != 2 || cs.Incident.Device != dev {
		t.Fatalf("county status: %+v incident %+v", cs, cs.Incident)
	}
	checkRefused := func(code protocol.Code) {
		t.Helper()
		in, err := m.n.Incidents()
		if err != nil || len(in) == 0 || in[0].County != luanchuan || in[0].Code != code || in[0].Device != dev || in[0].Seq != 2 || in[0].Pos != 2 {
			t.Fatalf("incidents: %+v %v", in, err)
		}
		raws, err := m.n.Store().ChangeSets(dev, 0, 0)
		if err != nil || len(raws) != 1 {
			t.Fatalf("municipal node holds %d change sets of the device, want only the first: %v", len(raws), err)
		}
		if all, _ := m.n.Store().AllCommitments(); len(all) != 1 || all[0].Title != "第一项" {
			t.Fatalf("commitments on the municipal node: %+v", all)
		}
		if cur, _ := m.n.Cursor(luanchuan); cur != 1 {
			t.Fatalf("cursor %d, want 1: the refused change set is never skipped", cur)
		}
	}
	checkRefused(municipal.CodeReceiptMismatch)

	// The signature's last byte changed instead: the content matches the
	// receipt, the device's signature does not.
	tamper(func(v []byte) { v[len(v)-1] ^= 0x40 })
	m.waitFor("the second incident", func(s municipal.Status) bool {
		cs := countyOf(s, luanchuan)
		return cs.Incident != nil && cs.Incident.Code == protocol.CodeBadSignature
	})
	checkRefused(protocol.CodeBadSignature)
	if in, _ := m.n.Incidents(); len(in) != 2 {
		t.Fatalf("%d incidents, want one per problem: %+v", len(in), in)
	}

	// Repaired from a backup: the node gets past it.
	tamper(func([]byte) {})
	c1.noCheck = false
	m.waitConverged(c1)
	s = m.waitFor("caught up", func(s municipal.Status) bool { return countyOf(s, luanchuan).State == municipal.StateCaughtUp })
	if cs := countyOf(s, luanchuan); cs.Incident != nil {
		t.Fatalf("problem still shown after recovery: %+v", cs.Incident)
	}
	sameAs(t, "the municipal replica", m.n.Store(), union(t, c1))
}

// TestWrongCountyKey: a county server whose key is not the trust file's
// is never pulled: incident, wrong_key, nothing stored.
func TestWrongCountyKey(t *testing.T) {
	real := newCounty(t, luanchuan)
	m := newMunicipal(t, "市信用平台", real)
	real.stop()
	impostor := newCounty(t, luanchuan) // same county code, another key
	d := impostor.device(township(luanchuan, 0), domain.RoleLeader)
	d.create("冒名承诺", domain.WorkdaysDeadline(5))
	d.sync()
	// Even authorised by the impostor, the node refuses it.
	id, _ := municipal.LoadIdentity(m.dir)
	impostor.srv.AuthoriseUpstream(id.PublicKey(), "市信用平台")
	m.start(impostor.serfAddr)
	s := m.waitFor("wrong key", func(s municipal.Status) bool { return countyOf(s, luanchuan).State == municipal.StateWrongKey })
	if cs := countyOf(s, luanchuan); cs.Incident == nil || cs.Incident.Code != protocol.CodeWrongServer || cs.Applied != 0 {
		t.Fatalf("status %+v", cs)
	}
	if all, _ := m.n.Store().AllCommitments(); len(all) != 0 {
		t.Fatalf("stored %d commitments from an impostor", len(all))
	}
}

// TestUnauthorisedNode: a municipal node the county admin has not
// authorised is refused by the county with not_authorized, and retries
// only with backoff.
func TestUnauthorisedNode(t *testing.T) {
	c := newCounty(t, luanchuan)
	trust := municipal.Trust{luanchuan: c.key}
	raw, _ := trust.MarshalJSON()
	dir := t.TempDir()
	if _, err := municipal.Init(dir, municipal.InitConfig{Name: "未授权节点", Trust: raw}); err != nil {
		t.Fatal(err)
	}
	m := &muniNode{t: t, dir: dir}
	t.Cleanup(m.stop)
	m.start(c.serfAddr)
	s := m.waitFor("refusal", func(s municipal.Status) bool { return countyOf(s, luanchuan).State == municipal.StateError })
	if cs := countyOf(s, luanchuan); !bytes.Contains([]byte(cs.LastError), []byte("not_authorized")) && !bytes.Contains([]byte(cs.LastError), []byte("not authorized")) {
		t.Fatalf("last error %q", cs.LastError)
	}
	in, _ := c.srv.Incidents()
	if len(in) == 0 || in[0].Code != protocol.CodeNotAuthorized {
		t.Fatalf("county incidents: %+v", in)
	}
}

func TestTrustFile(t *testing.T) {
	good := `{"410324": "` + string(bytes.Repeat([]byte("ab"), 32)) + `"}`
	if tr, err := municipal.ParseTrust([]byte(good)); err != nil || len(tr) != 1 {
		t.Fatalf("%v %v", tr, err)
	}
	for name, s := range map[string]string{
		"empty":          `{}`,
		"not json":       `410324`,
		"township":       `{"410324101": "` + string(bytes.Repeat([]byte("ab"), 32)) + `"}`,
		"short key":      `{"410324": "abcd"}`,
		"not hex":        `{"410324": "` + string(bytes.Repeat([]byte("zz"), 32)) + `"}`,
		"same key twice": `{"410324": "` + string(bytes.Repeat([]byte("ab"), 32)) + `", "410325": "` + string(bytes.Repeat([]byte("ab"), 32)) + `"}`,
	} {
		if _, err := municipal.ParseTrust([]byte(s)); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
	dir := t.TempDir()
	if _, err := municipal.Init(dir, municipal.InitConfig{Name: "n", Trust: []byte(good)}); err != nil {
		t.Fatal(err)
	}
	if _, err := municipal.Init(dir, municipal.InitConfig{Name: "n", Trust: []byte(good)}); err == nil {
		t.Fatal("Init overwrote an identity")
	}
}

var _ = io.Discard
