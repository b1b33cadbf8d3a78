package simulator

import (
	"net/http"
	"strings"
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
