package simulator

import (
	"net/http"
	"strings"
	"time"
)

// handleSimBatches lists every batch whose metadata matches all
// metadata.<key>=<value> query parameters, so tests can assert "exactly one
// batch per run" without paging through the API.
func (s *Server) handleSimBatches(w http.ResponseWriter, r *http.Request) {
	want := map[string]string{}
	for k, vs := range r.URL.Query() {
		if key, ok := strings.CutPrefix(k, "metadata."); ok && len(vs) > 0 {
			want[key] = vs[0]
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	var match []*batchRecord
	for _, b := range s.sortedBatches(false) {
		if metadataMatches(b.Metadata, want) {
			match = append(match, b)
		}
	}
	data, err := s.advanceAll(match)
	if err != nil {
		writeInternal(w, s.log, "sim batches", err)
		return
	}
	writeJSON(w, http.StatusOK, newList(data, func(b apiBatch) string { return b.ID }, false))
}

func metadataMatches(have, want map[string]string) bool {
	for k, v := range want {
		if got, ok := have[k]; !ok || got != v {
			return false
		}
	}
	return true
}

type simScenario struct {
	Name        string `json:"name"`
	Description string `json:"description"`
}

// handleSimScenarios lists the registered scenarios and the forced one.
func (s *Server) handleSimScenarios(w http.ResponseWriter, _ *http.Request) {
	out := struct {
		Forced    string        `json:"forced"`
		Default   string        `json:"default"`
		Scenarios []simScenario `json:"scenarios"`
	}{Forced: s.cfg.ForceScenario, Default: DefaultScenario}
	for _, name := range s.ScenarioNames() {
		out.Scenarios = append(out.Scenarios, simScenario{Name: name, Description: s.scenarios[name].Description})
	}
	writeJSON(w, http.StatusOK, out)
}

// simFile is a file as the test helper lists it.
type simFile struct {
	ID        string `json:"id"`
	Filename  string `json:"filename"`
	Bytes     int64  `json:"bytes"`
	Purpose   string `json:"purpose"`
	CreatedAt int64  `json:"created_at"`
	Scenario  string `json:"scenario"`
	Model     string `json:"model"`
	BatchID   string `json:"batch_id"`
}

// handleSimFiles lists every file, newest first, optionally only those of a
// purpose and/or whose filename contains filename_contains, so tests can count
// the uploads of one run.
func (s *Server) handleSimFiles(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	purpose, contains := q.Get("purpose"), q.Get("filename_contains")
	s.mu.Lock()
	files := make([]*fileRecord, 0, len(s.files))
	for _, f := range s.files {
		if (purpose == "" || f.Purpose == purpose) && strings.Contains(f.Filename, contains) {
			files = append(files, f)
		}
	}
	s.mu.Unlock()
	sortByCreation(files, func(f *fileRecord) time.Time { return f.CreatedAt }, func(f *fileRecord) string { return f.ID }, false)
	data := make([]simFile, len(files))
	for i, f := range files {
		data[i] = simFile{
			ID: f.ID, Filename: f.Filename, Bytes: f.Bytes, Purpose: f.Purpose, CreatedAt: f.CreatedAt.Unix(),
			Scenario: f.Scenario, Model: f.Model, BatchID: f.BatchID,
		}
	}
	writeJSON(w, http.StatusOK, newList(data, func(f simFile) string { return f.ID }, false))
}
