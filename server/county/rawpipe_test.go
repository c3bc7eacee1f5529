package county_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/binary"
	"errors"
	"math/big"
	"net"
	"net/http"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gorilla/websocket"
	bolt "go.etcd.io/bbolt"

	"jiannuo/domain/office"
	"jiannuo/server/county"
	"jiannuo/server/loadgen"
	"jiannuo/sync/protocol"
	"jiannuo/sync/wsconn"
)

// rawPipeline is the baseline of county ingest: the least a server can do
// to accept signed change sets durably, with nothing of the store. Devices
// connect exactly as to a county server (TLS, permessage-deflate,
// challenge, hello, welcome); each session's goroutine decodes every
// pushed change set, checks it against the device's chain and verifies its
// signature (protocol.Verify, in parallel across sessions); one writer
// goroutine commits what is waiting, up to MaxBatch change sets, into one
// bbolt bucket in one fsync'd transaction (key: device and sequence;
// value: the change set), and each session's writer then signs the
// receipts and sends them. The prototype of this pipeline reached about
// 200,000 operations a second on a quiet 2-core machine
// (docs/benchmarks.md, reference figures).
type rawPipeline struct {
	tb       testing.TB
	county   office.Code
	key      ed25519.PrivateKey
	fp       string
	devices  map[protocol.DeviceID]protocol.DeviceInfo
	db       *bolt.DB
	in       chan rawPush
	maxBatch int
	url      string
	srv      *http.Server
	done     chan struct{}
	commits  atomic.Int64
	sessions sync.WaitGroup
}

// rawPush is a verified change set on its way to the writer.
type rawPush struct {
	out  chan<- rawPush // the session's writer, for the receipt
	dev  protocol.DeviceID
	seq  uint64
	hash protocol.Hash
	raw  []byte
	pos  uint64
	time int64
}

// startRawPipeline serves the raw pipeline on 127.0.0.1 with a fresh
// bbolt file (fsync on) for the given devices, committing at most
// maxBatch change sets a transaction, until the test ends.
func startRawPipeline(tb testing.TB, devs []loadgen.Device, maxBatch int) *rawPipeline {
	tb.Helper()
	_, key, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		tb.Fatal(err)
	}
	cert, fp := selfSigned(tb)
	db, err := bolt.Open(filepath.Join(tb.TempDir(), "raw-pipeline.db"), 0o600, &bolt.Options{Timeout: 2 * time.Second})
	if err != nil {
		tb.Fatal(err)
	}
	if err := db.Update(func(tx *bolt.Tx) error { _, err := tx.CreateBucket([]byte("log")); return err }); err != nil {
		tb.Fatal(err)
	}
	p := &rawPipeline{tb: tb, county: countyCode, key: key, fp: fp, devices: map[protocol.DeviceID]protocol.DeviceInfo{},
		db: db, in: make(chan rawPush, 4*maxBatch), maxBatch: maxBatch, done: make(chan struct{})}
	for _, d := range devs {
		p.devices[d.ID] = protocol.DeviceInfo{ID: d.ID, Key: d.Key.Public().(ed25519.PublicKey), Office: d.Office}
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	p.url = "https://" + ln.Addr().String()
	p.srv = &http.Server{Handler: http.HandlerFunc(p.serve)}
	tlsLn := tls.NewListener(ln, &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12})
	go p.srv.Serve(tlsLn)
	go p.writer()
	tb.Cleanup(func() {
		p.srv.Close()
		p.sessions.Wait()
		close(p.in)
		<-p.done
		db.Close()
	})
	return p
}

// selfSigned makes a TLS certificate for 127.0.0.1 and its fingerprint.
func selfSigned(tb testing.TB) (tls.Certificate, string) {
	tb.Helper()
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		tb.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "raw pipeline"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour), IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1)}}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &k.PublicKey, k)
	if err != nil {
		tb.Fatal(err)
	}
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: k}, protocol.Fingerprint(der)
}

func (p *rawPipeline) Device(id protocol.DeviceID) (protocol.DeviceInfo, error) {
	if d, ok := p.devices[id]; ok {
		return d, nil
	}
	return protocol.DeviceInfo{}, protocol.ErrUnknownDevice
}

func (p *rawPipeline) serve(w http.ResponseWriter, r *http.Request) {
	up := websocket.Upgrader{EnableCompression: true, CheckOrigin: func(*http.Request) bool { return true }}
	conn, err := up.Upgrade(w, r, nil)
	if err != nil {
		return
	}
	p.sessions.Add(1)
	defer p.sessions.Done()
	defer conn.Close()
	conn.EnableWriteCompression(true)
	conn.SetCompressionLevel(1)
	send := func(f *protocol.Frame) error {
		return conn.WriteMessage(websocket.BinaryMessage, protocol.AppendFrame(nil, f))
	}
	nonce := make([]byte, 32)
	rand.Read(nonce)
	if send(&protocol.Frame{Type: protocol.FrameChallenge, Version: protocol.ProtocolVersion, Nonce: nonce,
		County: p.county, CountyKey: p.key.Public().(ed25519.PublicKey)}) != nil {
		return
	}
	hello, err := p.read(conn)
	if err != nil || hello.Type != protocol.FrameHello {
		return
	}
	dev, err := p.Device(hello.Device)
	if err != nil || !protocol.VerifyChallenge(dev.Key, nonce, p.fp, hello.Sig) {
		return
	}
	if send(&protocol.Frame{Type: protocol.FrameWelcome, Head: protocol.Head{}}) != nil {
		return
	}
	// The session's writer signs and sends the receipts the writer hands
	// back, in commit order. out holds more than a device's window, so the
	// writer never waits on a session, even one that has ended.
	out := make(chan rawPush, 2*loadgen.DefaultWindow)
	quit := make(chan struct{})
	defer close(quit)
	go func() {
		for {
			select {
			case c := <-out:
				rc := protocol.Receipt{County: p.county, Device: c.dev, Seq: c.seq, Hash: c.hash, Pos: c.pos, Time: c.time}
				if send(&protocol.Frame{Type: protocol.FrameReceipt, Body: rc.Sign(p.key)}) != nil {
					conn.Close()
				}
			case <-quit:
				return
			}
		}
	}()
	chain := &loadgen.Chain{}
	for {
		f, err := p.read(conn)
		if err != nil {
			return
		}
		if f.Type != protocol.FramePush {
			continue // acks: nothing to deliver here
		}
		cs, err := protocol.Verify(f.Body, p, chain, dev.ID)
		if err != nil {
			p.tb.Errorf("raw pipeline: %s/%d: %v", dev.ID.Short(), chain.Last.Seq+1, err)
			return
		}
		chain.Add(cs)
		p.in <- rawPush{out: out, dev: cs.Device, seq: cs.Seq, hash: chain.Last.Hash, raw: f.Body}
	}
}

func (p *rawPipeline) read(conn *websocket.Conn) (*protocol.Frame, error) {
	typ, data, err := wsconn.ReadMessage(conn)
	if err != nil {
		return nil, err
	}
	if typ != websocket.BinaryMessage {
		return nil, errors.New("not a binary message")
	}
	return protocol.DecodeFrame(data)
}

// writer commits what is waiting, up to maxBatch change sets a
// transaction, and hands each its feed position for the receipt.
func (p *rawPipeline) writer() {
	defer close(p.done)
	var pos uint64
	batch := make([]rawPush, 0, p.maxBatch)
	for first := range p.in {
		batch = append(batch[:0], first)
	more:
		for len(batch) < p.maxBatch {
			select {
			case c, ok := <-p.in:
				if !ok {
					break more
				}
				batch = append(batch, c)
			default:
				break more
			}
		}
		now := time.Now().UnixMilli()
		err := p.db.Update(func(tx *bolt.Tx) error {
			b := tx.Bucket([]byte("log"))
			for i := range batch {
				pos++
				batch[i].pos, batch[i].time = pos, now
				key := binary.BigEndian.AppendUint64(append([]byte(nil), batch[i].dev[:]...), batch[i].seq)
				if err := b.Put(key, batch[i].raw); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			p.tb.Errorf("raw pipeline commit: %v", err)
			return
		}
		p.commits.Add(1)
		for _, c := range batch {
			c.out <- c
		}
	}
}

// rawPipelineRate pushes the devices' load (a new Loadgen with the same
// keys, devices, change sets, operations, text and seed: equivalent
// change sets) through a fresh raw pipeline and returns operations per
// second and the mean group size.
func rawPipelineRate(tb testing.TB, cfg loadgen.Config, devs []loadgen.Device) (opsPerSec, perCommit float64) {
	tb.Helper()
	maxBatch := county.DefaultConfig(tb.TempDir()).MaxBatch
	p := startRawPipeline(tb, devs, maxBatch)
	keys := make([]ed25519.PrivateKey, len(devs))
	for i, d := range devs {
		keys[i] = d.Key
	}
	lg, err := loadgen.New(loadgen.Config{URL: p.url, Fingerprint: p.fp, County: countyCode, Keys: keys, Enrolled: true,
		Devices: cfg.Devices, ChangeSets: cfg.ChangeSets, Ops: cfg.Ops, Offices: cfg.Offices, Text: cfg.Text, Seed: cfg.Seed})
	if err != nil {
		tb.Fatal(err)
	}
	defer lg.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	if err := lg.Prepare(ctx); err != nil {
		tb.Fatal(err)
	}
	res, err := lg.Run(ctx)
	if err != nil {
		tb.Fatalf("raw pipeline: %v (%s)", err, res.ErrorSummary())
	}
	return res.OpsPerSecond, float64(res.ChangeSets) / float64(max(p.commits.Load(), 1))
}
