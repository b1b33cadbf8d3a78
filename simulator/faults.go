package simulator

import (
	"errors"
	"net/http"
	"strconv"
	"time"
)

// pickFault asks the scenario whether to disturb this exchange, counting
// attempts per scenario, operation and object (batch, file, or the content
// of an upload) so a hook can fail only the first try. The counters live in
// memory: a restart starts them again.
func (s *Server) pickFault(sc Scenario, in FaultInput) Fault {
	if sc.Fault == nil {
		return Fault{}
	}
	key := sc.Name + "|" + string(in.Op) + "|" + in.BatchID + "|" + in.FileID + "|" + in.ContentSHA256
	s.mu.Lock()
	s.attempts[key]++
	in.Attempt = s.attempts[key]
	s.mu.Unlock()
	f := sc.Fault(in)
	if !f.none() {
		s.log.Info("injecting fault", "scenario", sc.Name, "op", in.Op, "batch_id", in.BatchID,
			"file_id", in.FileID, "content_sha256", in.ContentSHA256, "attempt", in.Attempt, "status", f.Status,
			"reset", f.Reset, "reset_mid_body", f.ResetMidBody, "lose_response", f.LoseResponse, "delay", f.Delay)
	}
	return f
}

// serveWithFault performs handle under fault f.
func (s *Server) serveWithFault(w http.ResponseWriter, r *http.Request, f Fault, handle func(http.ResponseWriter)) {
	if f.Delay > 0 {
		t := time.NewTimer(f.Delay)
		defer t.Stop()
		select {
		case <-t.C:
		case <-r.Context().Done():
			return
		}
	}
	switch {
	case f.Reset:
		dropConnection(w)
	case f.Status != 0:
		if f.RetryAfter != "" {
			w.Header().Set("Retry-After", f.RetryAfter)
		}
		code, msg := f.Code, f.Message
		if code == "" {
			code = strconv.Itoa(f.Status)
		}
		if msg == "" {
			msg = "Simulated failure."
		}
		writeServiceError(w, f.Status, code, msg)
	case f.ResetMidBody:
		tw := &truncatingWriter{ResponseWriter: w}
		handle(tw)
		if err := http.NewResponseController(w).Flush(); err != nil {
			s.log.Warn("flush before reset", "err", err)
		}
		dropConnection(w)
	case f.LoseResponse:
		handle(&discardWriter{header: http.Header{}})
		dropConnection(w)
	default:
		handle(w)
	}
}

// dropConnection closes the client connection, after whatever was flushed.
func dropConnection(w http.ResponseWriter) {
	conn, _, err := http.NewResponseController(w).Hijack()
	if err != nil {
		// Not hijackable (e.g. HTTP/2): aborting the handler resets the stream.
		panic(http.ErrAbortHandler)
	}
	_ = conn.Close()
}

// discardWriter swallows a response that the fault says is lost.
type discardWriter struct{ header http.Header }

func (d *discardWriter) Header() http.Header         { return d.header }
func (d *discardWriter) Write(p []byte) (int, error) { return len(p), nil }
func (d *discardWriter) WriteHeader(int)             {}

var errTruncated = errors.New("response truncated by fault")

// truncatingWriter passes the status, the headers and the first half of the
// body (by the Content-Length header; none without it) and refuses the rest.
type truncatingWriter struct {
	http.ResponseWriter
	wroteHeader bool
	remaining   int64
}

func (t *truncatingWriter) WriteHeader(code int) {
	if t.wroteHeader {
		return
	}
	t.wroteHeader = true
	if n, err := strconv.ParseInt(t.Header().Get("Content-Length"), 10, 64); err == nil {
		t.remaining = n / 2
	}
	t.ResponseWriter.WriteHeader(code)
}

func (t *truncatingWriter) Write(p []byte) (int, error) {
	if !t.wroteHeader {
		t.WriteHeader(http.StatusOK)
	}
	if t.remaining <= 0 {
		return 0, errTruncated
	}
	n := int64(len(p))
	if n > t.remaining {
		n = t.remaining
	}
	written, err := t.ResponseWriter.Write(p[:n])
	t.remaining -= int64(written)
	if err != nil {
		return written, err
	}
	if written < len(p) {
		return written, errTruncated
	}
	return written, nil
}
