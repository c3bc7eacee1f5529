package municipal

import (
	"net/http"
	"strconv"

	"jiannuo/sync/countyapi"
	"jiannuo/sync/protocol"
)

// Handler returns the public routes: the public page and feed at / (from
// Config.Public, at most PublicConcurrency answers made at once), the city
// statistics at GET /stats, and /healthz.
func (n *Node) Handler() http.Handler {
	mux := http.NewServeMux()
	var pub http.Handler = http.HandlerFunc(placeholder)
	if n.cfg.Public != nil {
		pub = n.cfg.Public(n)
	}
	mux.Handle("/", n.limited(pub))
	mux.Handle("/evidence/", pub)
	mux.HandleFunc("GET /stats", n.serveStats)
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) { w.Write([]byte("ok\n")) })
	return mux
}

// OpsHandler returns the operators' routes: GET /status (every county's
// cluster and pull state and lag), GET /incidents (?limit=N, newest
// first), GET /digest (the replica's digest, to compare nodes), POST
// /pull (pull every alive county now) and GET /backup (a backup archive,
// for the holder of the operators' token: backup.go).
func (n *Node) OpsHandler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /status", func(w http.ResponseWriter, _ *http.Request) {
		countyapi.WriteIndentedJSON(w, http.StatusOK, n.Status())
	})
	mux.HandleFunc("GET /incidents", func(w http.ResponseWriter, r *http.Request) {
		in, err := n.Incidents()
		if err != nil {
			n.serverError(w, err)
			return
		}
		if l, err := strconv.Atoi(r.URL.Query().Get("limit")); err == nil && l > 0 && l < len(in) {
			in = in[:l]
		}
		countyapi.WriteIndentedJSON(w, http.StatusOK, in)
	})
	mux.HandleFunc("GET /digest", func(w http.ResponseWriter, _ *http.Request) {
		d, err := n.st.Digest()
		if err != nil {
			n.serverError(w, err)
			return
		}
		head, _ := n.st.FeedHead()
		countyapi.WriteIndentedJSON(w, http.StatusOK, map[string]any{"digest": d.String(), "change_sets": head})
	})
	mux.HandleFunc("POST /pull", func(w http.ResponseWriter, _ *http.Request) {
		n.Refresh()
		countyapi.WriteIndentedJSON(w, http.StatusAccepted, map[string]string{"status": "pulling"})
	})
	mux.HandleFunc("GET /backup", n.serveBackup)
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) { w.Write([]byte("ok\n")) })
	return mux
}

func (n *Node) serveStats(w http.ResponseWriter, _ *http.Request) {
	s, err := n.Stats()
	if err != nil {
		n.serverError(w, err)
		return
	}
	w.Header().Set("Cache-Control", "public, max-age=60")
	countyapi.WriteIndentedJSON(w, http.StatusOK, s)
}

func (n *Node) serverError(w http.ResponseWriter, err error) {
	n.log.Error("request failed", "err", err)
	countyapi.WriteIndentedJSON(w, http.StatusInternalServerError, countyapi.ErrorBody{Code: protocol.CodeInternal, Message: "the municipal node could not read its data"})
}

// placeholder stands in for the public page when the node was built
// without one (Config.Public is nil).
func placeholder(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path != "/" {
		http.NotFound(w, r)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Write([]byte(`<!doctype html><html lang="zh-CN"><meta charset="utf-8"><title>信用洛阳 · 政务承诺公开</title>` +
		`<p>政务承诺公开页面尚未启用。统计数据见 <a href="/stats">/stats</a>。</p></html>`))
}

// limited lets at most PublicConcurrency requests into h at once, with
// PublicQueue more waiting; the rest are answered 503 at once.
func (n *Node) limited(h http.Handler) http.Handler {
	slots := make(chan struct{}, n.cfg.PublicConcurrency)
	waiting := make(chan struct{}, n.cfg.PublicQueue)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case slots <- struct{}{}:
		default:
			select {
			case waiting <- struct{}{}:
			default:
				n.busy.Add(1)
				w.Header().Set("Retry-After", "1")
				http.Error(w, "服务繁忙，请稍后再试 busy, try again shortly", http.StatusServiceUnavailable)
				return
			}
			select {
			case slots <- struct{}{}:
				<-waiting
			case <-r.Context().Done():
				<-waiting
				return
			}
		}
		defer func() { <-slots }()
		h.ServeHTTP(w, r)
	})
}
