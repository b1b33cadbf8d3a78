package simulator

import (
	"net/http"
	"time"
)

// pickFault asks the scenario whether to disturb this exchange, counting
// attempts per scenario, operation and object so a hook can fail only the
// first try.
func (s *Server) pickFault(sc Scenario, in FaultInput) Fault {
	if sc.Fault == nil {
		return Fault{}
	}
	key := sc.Name + "|" + string(in.Op) + "|" + in.BatchID + "|" + in.FileID
	s.mu.Lock()
	s.attempts[key]++
	in.Attempt = s.attempts[key]
	s.mu.Unlock()
	f := sc.Fault(in)
	if !f.none() {
		s.log.Info("injecting fault", "scenario", sc.Name, "op", in.Op, "batch_id", in.BatchID,
			"file_id", in.FileID, "attempt", in.Attempt, "status", f.Status, "reset", f.Reset,
			"lose_response", f.LoseResponse, "delay", f.Delay)
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
			code = http.StatusText(f.Status)
		}
		if msg == "" {
			msg = "Simulated failure."
		}
		writeError(w, f.Status, code, msg, nil)
	case f.LoseResponse:
		handle(&discardWriter{header: http.Header{}})
		dropConnection(w)
	default:
		handle(w)
	}
}

// dropConnection closes the client connection without a response.
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
