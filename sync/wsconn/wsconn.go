// Package wsconn holds the websocket details that devices, county servers
// and municipal nodes share, so each side reads frames the same way.
package wsconn

import (
	"io"

	"github.com/gorilla/websocket"

	"jiannuo/sync/protocol"
)

// ReadMessage reads one websocket message and bounds its size after
// decompression. gorilla's read limit counts compressed bytes, so a small
// deflated message could otherwise inflate to gigabytes; over
// protocol.MaxFrameBytes it returns websocket.ErrReadLimit having read no
// more than one byte past the limit.
func ReadMessage(conn *websocket.Conn) (int, []byte, error) {
	typ, r, err := conn.NextReader()
	if err != nil {
		return typ, nil, err
	}
	data, err := io.ReadAll(io.LimitReader(r, protocol.MaxFrameBytes+1))
	if err != nil {
		return typ, nil, err
	}
	if len(data) > protocol.MaxFrameBytes {
		return typ, nil, websocket.ErrReadLimit
	}
	return typ, data, nil
}
