package wsconn

import (
	"bytes"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/gorilla/websocket"

	"jiannuo/sync/protocol"
)

// TestReadMessageBoundsDecompressedSize: a deflated message that inflates
// past the frame limit is refused, though its compressed size is tiny; a
// message at the limit is read whole.
func TestReadMessageBoundsDecompressedSize(t *testing.T) {
	got := make(chan error, 2)
	sizes := make(chan int, 2)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		up := websocket.Upgrader{EnableCompression: true}
		conn, err := up.Upgrade(w, r, nil)
		if err != nil {
			return
		}
		defer conn.Close()
		conn.SetReadLimit(1 << 20) // compressed bytes: far below what inflates
		for range 2 {
			_, data, err := ReadMessage(conn)
			sizes <- len(data)
			got <- err
			if err != nil {
				return
			}
		}
	}))
	defer srv.Close()
	d := websocket.Dialer{EnableCompression: true}
	conn, _, err := d.Dial("ws"+strings.TrimPrefix(srv.URL, "http"), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	conn.EnableWriteCompression(true)
	if err := conn.WriteMessage(websocket.BinaryMessage, bytes.Repeat([]byte{'a'}, protocol.MaxFrameBytes)); err != nil {
		t.Fatal(err)
	}
	if err, n := <-got, <-sizes; err != nil || n != protocol.MaxFrameBytes {
		t.Fatalf("a frame at the limit: %d bytes, %v", n, err)
	}
	// The reader stops one byte past the limit and closes, so the write
	// itself may see the connection reset; what matters is the reader.
	conn.WriteMessage(websocket.BinaryMessage, bytes.Repeat([]byte{'a'}, 8*protocol.MaxFrameBytes))
	if err := <-got; !errors.Is(err, websocket.ErrReadLimit) {
		t.Fatalf("a deflate bomb: %v, want ErrReadLimit", err)
	}
}
