package wsconn

import (
	"bytes"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"jiannuo/sync/protocol"
)

// pair returns the server side of a real websocket on loopback, for a
// pump, and the client side, which the test reads.
func pair(t *testing.T) (server, client *websocket.Conn) {
	t.Helper()
	conns := make(chan *websocket.Conn, 1)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		conn, err := (&websocket.Upgrader{}).Upgrade(w, r, nil)
		if err != nil {
			t.Error(err)
			close(conns)
			return
		}
		conns <- conn
	}))
	t.Cleanup(srv.Close)
	client, _, err := websocket.DefaultDialer.Dial("ws"+strings.TrimPrefix(srv.URL, "http"), nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { client.Close() })
	server = <-conns
	if server == nil {
		t.FailNow()
	}
	t.Cleanup(func() { server.Close() })
	return server, client
}

func readFrame(t *testing.T, conn *websocket.Conn) *protocol.Frame {
	t.Helper()
	conn.SetReadDeadline(time.Now().Add(10 * time.Second))
	var f *protocol.Frame
	_, data, err := ReadMessage(conn)
	if err == nil {
		f, err = protocol.DecodeFrame(data)
	}
	if err != nil {
		t.Fatal(err)
	}
	return f
}

// TestPumpPriorities: whatever order frames are queued in, control frames
// go first, then stream frames, bulk frames last, each in queue order; the
// Sent hook sees every frame after it is written.
func TestPumpPriorities(t *testing.T) {
	server, client := pair(t)
	var mu sync.Mutex
	var sent []uint64
	p := NewPump(server, PumpConfig{ControlQueue: 4, StreamQueue: 4, BulkQueue: 4, Sent: func(f *protocol.Frame) {
		mu.Lock()
		sent = append(sent, f.Pos)
		mu.Unlock()
	}})
	defer p.Close()
	queue := []struct {
		pri Priority
		pos uint64
	}{{Bulk, 7}, {Stream, 4}, {Bulk, 8}, {Control, 1}, {Stream, 5}, {Control, 2}, {Stream, 6}, {Control, 3}}
	for _, q := range queue {
		if !p.Send(q.pri, &protocol.Frame{Type: protocol.FrameAck, Pos: q.pos}) {
			t.Fatal("Send on an open pump returned false")
		}
	}
	p.Start()
	for want := uint64(1); want <= 8; want++ {
		if f := readFrame(t, client); f.Type != protocol.FrameAck || f.Pos != want {
			t.Fatalf("frame %d: got %s %d", want, f.Type, f.Pos)
		}
	}
	// The last Sent call may run just after the client read the frame.
	p.Close()
	p.Wait()
	mu.Lock()
	defer mu.Unlock()
	if len(sent) != 8 || sent[0] != 1 || sent[7] != 8 {
		t.Fatalf("Sent saw %v", sent)
	}
}

// TestPumpErrorFrameIsLast: the writer closes the connection after an
// error frame; what was queued behind it is not sent.
func TestPumpErrorFrameIsLast(t *testing.T) {
	server, client := pair(t)
	p := NewPump(server, PumpConfig{ControlQueue: 4, StreamQueue: 4})
	p.Send(Control, &protocol.Frame{Type: protocol.FrameError, Code: protocol.CodeMalformed, Message: "bad"})
	p.Send(Stream, &protocol.Frame{Type: protocol.FrameCaughtUp, Pos: 1})
	p.Start()
	if f := readFrame(t, client); f.Type != protocol.FrameError || f.Code != protocol.CodeMalformed {
		t.Fatalf("got %s %s, want the error", f.Type, f.Code)
	}
	<-p.Done()
	p.Wait()
	client.SetReadDeadline(time.Now().Add(10 * time.Second))
	if _, _, err := client.ReadMessage(); err == nil {
		t.Fatal("a frame after the error frame")
	} else if ce := (*websocket.CloseError)(nil); !errors.As(err, &ce) || ce.Code != websocket.ClosePolicyViolation || ce.Text != "malformed" {
		// A closing handshake, not a cut connection.
		t.Fatalf("after the error frame: %v, want a close frame 1008 malformed", err)
	}
	if p.Err() != nil {
		t.Fatalf("an error frame is a clean end, got %v", p.Err())
	}
	if CloseCode(protocol.CodeInternal) != websocket.CloseInternalServerErr {
		t.Fatal("an internal failure is not closed with 1011")
	}
}

// TestPumpOfferAndSend: Offer refuses only when the queue is full on an
// open pump; once closed, Send reports it and Offer has nothing to do.
func TestPumpOfferAndSend(t *testing.T) {
	server, _ := pair(t)
	p := NewPump(server, PumpConfig{ControlQueue: 1})
	f := &protocol.Frame{Type: protocol.FrameAck}
	if !p.Offer(Control, f) {
		t.Fatal("Offer into an empty queue refused")
	}
	if p.Offer(Control, f) {
		t.Fatal("Offer into a full queue accepted")
	}
	p.Close()
	if !p.Offer(Control, f) {
		t.Fatal("Offer on a closed pump reported a slow peer")
	}
	if p.Send(Control, f) {
		t.Fatal("Send on a closed pump reported success")
	}
	p.Wait() // never started: returns at once
}

// TestPumpFailKeepsFirstReason: Fail closes and keeps the first reason; a
// write that fails on a closed connection does not replace it.
func TestPumpFailKeepsFirstReason(t *testing.T) {
	server, _ := pair(t)
	p := NewPump(server, PumpConfig{})
	p.Start()
	first := errors.New("store failed")
	p.Fail(first)
	p.Fail(errors.New("second"))
	<-p.Done()
	p.Wait()
	if p.Err() != first {
		t.Fatalf("Err: %v, want %v", p.Err(), first)
	}
}

// TestPumpWriteFailure: a write the peer cannot take ends the pump with
// the write's error.
func TestPumpWriteFailure(t *testing.T) {
	server, _ := pair(t)
	p := NewPump(server, PumpConfig{StreamQueue: 1})
	server.Close() // under the pump: its next write fails
	p.Start()
	p.Send(Stream, &protocol.Frame{Type: protocol.FrameAck})
	<-p.Done()
	p.Wait()
	if p.Err() == nil {
		t.Fatal("a failed write left no reason")
	}
}

// TestPumpPings: with a PingPeriod the idle writer pings; without, it
// never does. Alike with a writer for the whole session and on demand.
func TestPumpPings(t *testing.T) {
	for _, c := range []struct {
		period time.Duration
		queues PumpConfig
	}{
		{0, PumpConfig{StreamQueue: 1}},
		{time.Millisecond, PumpConfig{StreamQueue: 1}},
		{0, PumpConfig{ControlQueue: 1, StreamQueue: 1, BulkQueue: 1}},
		{time.Millisecond, PumpConfig{ControlQueue: 1, StreamQueue: 1, BulkQueue: 1}},
	} {
		period, cfg := c.period, c.queues
		server, client := pair(t)
		pinged := make(chan struct{}, 1)
		client.SetPingHandler(func(string) error {
			select {
			case pinged <- struct{}{}:
			default:
			}
			return nil
		})
		cfg.PingPeriod = period
		p := NewPump(server, cfg)
		p.Start()
		// The client's reader handles pings; a frame sent after the pump
		// would have pinged many times shows whether it did.
		read := make(chan *protocol.Frame, 1)
		go func() {
			_, data, err := ReadMessage(client)
			if err == nil {
				f, _ := protocol.DecodeFrame(data)
				read <- f
			}
			close(read)
		}()
		if period > 0 {
			<-pinged
		}
		p.Send(Stream, &protocol.Frame{Type: protocol.FrameAck, Pos: 9})
		if f := <-read; f == nil || f.Pos != 9 {
			t.Fatalf("period %v: frame %v", period, f)
		}
		if period == 0 && len(pinged) > 0 {
			t.Fatal("a pump without PingPeriod pinged")
		}
		p.Close()
		p.Wait()
	}
}

// TestPumpStreamChunks: a file goes out from the asked offset in chunks of
// ChunkBytes (DefaultChunkBytes unless set), the last one shorter, which
// put together are the file from there.
func TestPumpStreamChunks(t *testing.T) {
	for _, c := range []struct {
		size   int
		queues PumpConfig
	}{{0, PumpConfig{BulkQueue: 2}}, {7000, PumpConfig{BulkQueue: 2}}, {7000, PumpConfig{ControlQueue: 1, StreamQueue: 1, BulkQueue: 2}}} {
		size, cfg := c.size, c.queues
		want := size
		if want == 0 {
			want = DefaultChunkBytes
		}
		server, client := pair(t)
		cfg.ChunkBytes = size
		p := NewPump(server, cfg)
		p.Start()
		data := bytes.Repeat([]byte("证据"), protocol.MaxChunkBytes) // 6 full chunks' worth
		h := protocol.Hash{1}
		from := int64(protocol.MaxChunkBytes + 5)
		p.StreamChunks(h, from, data)
		var got []byte
		for int64(len(got)) < int64(len(data))-from {
			f := readFrame(t, client)
			rest := int(int64(len(data)) - from - int64(len(got)))
			if f.Type != protocol.FrameEvidenceChunk || f.Hash != h || f.Offset != from+int64(len(got)) || len(f.Body) != min(want, rest) {
				t.Fatalf("chunk size %d: %s %s offset %d, %d bytes", want, f.Type, f.Hash, f.Offset, len(f.Body))
			}
			got = append(got, f.Body...)
		}
		if !bytes.Equal(got, data[from:]) {
			t.Fatal("the chunks are not the file from the offset")
		}
		p.Close()
	}
}

// TestPumpWriterOnDemand: with queues of every priority, the writer's
// goroutine ends once it has sent everything and starts again for the
// next frame, from Send, Offer or StreamChunks; frames queued before Start
// wait for it; none is lost or reordered.
func TestPumpWriterOnDemand(t *testing.T) {
	server, client := pair(t)
	p := NewPump(server, PumpConfig{ControlQueue: 2, StreamQueue: 2, BulkQueue: 2})
	defer p.Close()
	writerEnded := func() {
		t.Helper()
		p.writer.Wait() // returns once no writer runs: the idle writer ended
		p.mu.Lock()
		defer p.mu.Unlock()
		if p.active || p.pendingLocked() {
			t.Fatalf("the writer ended with active %v, pending %v", p.active, p.pendingLocked())
		}
	}
	expect := func(pos ...uint64) {
		t.Helper()
		for _, want := range pos {
			if f := readFrame(t, client); f.Pos != want {
				t.Fatalf("got frame %d, want %d", f.Pos, want)
			}
		}
	}
	p.Send(Stream, &protocol.Frame{Type: protocol.FrameAck, Pos: 2})
	p.Send(Control, &protocol.Frame{Type: protocol.FrameAck, Pos: 1})
	p.mu.Lock()
	if p.active {
		t.Fatal("a writer runs before Start")
	}
	p.mu.Unlock()
	p.Start()
	expect(1, 2)
	writerEnded()
	for round := uint64(0); round < 50; round++ {
		if round%2 == 0 {
			p.Send(Stream, &protocol.Frame{Type: protocol.FrameAck, Pos: 10 + round})
		} else if !p.Offer(Control, &protocol.Frame{Type: protocol.FrameAck, Pos: 10 + round}) {
			t.Fatal("Offer found no room with nothing queued")
		}
		expect(10 + round)
		writerEnded()
	}
	// The chunks' goroutine kicks after each chunk, perhaps after the
	// writer sent the last: wait for it to end before waiting for the
	// writer (a kick may start one, which ends again).
	chunksDone := make(chan struct{})
	p.chunksDone = func() { close(chunksDone) }
	p.StreamChunks(protocol.Hash{1}, 0, bytes.Repeat([]byte{7}, 3*DefaultChunkBytes))
	for off := int64(0); off < 3*DefaultChunkBytes; off += DefaultChunkBytes {
		if f := readFrame(t, client); f.Type != protocol.FrameEvidenceChunk || f.Offset != off {
			t.Fatalf("chunk: %s at %d, want %d", f.Type, f.Offset, off)
		}
	}
	<-chunksDone
	writerEnded()
	// Many senders at once, each frame followed by its own kick: every
	// frame arrives.
	var senders sync.WaitGroup
	for i := range uint64(8) {
		senders.Go(func() { p.Send(Stream, &protocol.Frame{Type: protocol.FrameAck, Pos: 100 + i}) })
	}
	seen := map[uint64]bool{}
	for range 8 {
		seen[readFrame(t, client).Pos] = true
	}
	senders.Wait()
	if len(seen) != 8 {
		t.Fatalf("frames seen: %v", seen)
	}
	p.Close()
	p.Wait()
	// A frame queued after Close starts no writer.
	p.Offer(Control, &protocol.Frame{Type: protocol.FrameAck})
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.active {
		t.Fatal("a writer started after Close")
	}
}
