package simulator

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"time"
	"unicode/utf8"
)

type createBatchRequest struct {
	InputFileID      string            `json:"input_file_id"`
	Endpoint         string            `json:"endpoint"`
	CompletionWindow string            `json:"completion_window"`
	Metadata         map[string]string `json:"metadata"`
}

func (s *Server) handleCreateBatch(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, 1<<20))
	if err != nil {
		writeError(w, http.StatusBadRequest, "invalidPayload", "Could not read the request body.", nil)
		return
	}
	var req createBatchRequest
	if err := json.Unmarshal(body, &req); err != nil {
		writeError(w, http.StatusBadRequest, "invalidPayload", "The request body is not a valid batch create request: "+err.Error(), nil)
		return
	}
	scenario, serr := s.batchScenarioChoice(req.Metadata, s.inputModel(req.InputFileID))
	if serr != nil {
		writeError(w, http.StatusBadRequest, "invalidPayload", serr.message, strPtr(serr.param))
		return
	}
	f := s.pickFault(s.scenarioNamed(scenario), FaultInput{Op: OpCreateBatch, FileID: req.InputFileID, Metadata: req.Metadata, Request: r})
	s.serveWithFault(w, r, f, func(w http.ResponseWriter) { s.createBatch(w, req, scenario) })
}

// inputModel is the deployment named by an uploaded file, "" if the file is
// unknown or names none. Files stored before uploads recorded it are read.
func (s *Server) inputModel(fileID string) string {
	rec, ok := s.lookupFile(fileID)
	switch {
	case !ok:
		return ""
	case rec.Model != "" || rec.Purpose != purposeBatch:
		return rec.Model
	}
	f, err := os.Open(s.store.contentPath(rec.ID))
	if err != nil {
		s.log.Warn("read deployment of input file", "file_id", rec.ID, "err", err)
		return ""
	}
	defer func() { _ = f.Close() }()
	model, err := firstModel(f)
	if err != nil {
		s.log.Warn("read deployment of input file", "file_id", rec.ID, "err", err)
	}
	return model
}

func (s *Server) createBatch(w http.ResponseWriter, req createBatchRequest, scenario string) {
	if msg, param := checkCreate(req); msg != "" {
		writeError(w, http.StatusBadRequest, "invalidPayload", msg, strPtr(param))
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	in, ok := s.files[req.InputFileID]
	if !ok {
		writeError(w, http.StatusBadRequest, "invalidPayload",
			fmt.Sprintf("The input file %s was not found.", req.InputFileID), strPtr("input_file_id"))
		return
	}
	if in.Purpose != purposeBatch {
		writeError(w, http.StatusBadRequest, "invalidPayload",
			fmt.Sprintf("The input file %s has purpose %q, not \"batch\".", in.ID, in.Purpose), strPtr("input_file_id"))
		return
	}
	now := s.cfg.Now()
	window := s.phases(s.scenarioNamed(scenario)).Window
	rec := &batchRecord{
		ID:               newBatchID(),
		Endpoint:         req.Endpoint,
		InputFileID:      req.InputFileID,
		CompletionWindow: req.CompletionWindow,
		Status:           statusValidating,
		Scenario:         scenario,
		Metadata:         req.Metadata,
		CreatedAt:        now,
		ExpiresAt:        now.Add(window),
	}
	if err := s.store.saveBatch(rec); err != nil {
		writeInternal(w, s.log, "create batch", err)
		return
	}
	s.batches[rec.ID] = rec
	s.log.Info("batch created", "batch_id", rec.ID, "input_file_id", rec.InputFileID, "scenario", scenario)
	writeJSON(w, http.StatusOK, rec.api())
}

// checkCreate validates a create request; it returns a message and the
// offending parameter, or "" if the request is acceptable.
func checkCreate(req createBatchRequest) (string, string) {
	switch {
	case req.InputFileID == "":
		return "input_file_id is required.", "input_file_id"
	case !supportedEndpoint(req.Endpoint):
		return fmt.Sprintf("Unsupported endpoint %q: use /chat/completions.", req.Endpoint), "endpoint"
	case req.CompletionWindow != "24h":
		return fmt.Sprintf("Unsupported completion_window %q: only 24h is supported.", req.CompletionWindow), "completion_window"
	case len(req.Metadata) > 16:
		return "metadata may have at most 16 keys.", "metadata"
	}
	for k, v := range req.Metadata {
		if utf8.RuneCountInString(k) > 64 || utf8.RuneCountInString(v) > 512 {
			return "metadata keys may have at most 64 characters and values at most 512.", "metadata"
		}
	}
	return "", ""
}

// currentBatch returns the batch advanced to now. The caller holds s.mu.
func (s *Server) currentBatch(id string) (*batchRecord, bool, error) {
	if !batchIDPattern.MatchString(id) {
		return nil, false, nil
	}
	rec, ok := s.batches[id]
	if !ok {
		return nil, false, nil
	}
	rec, err := s.advance(rec, s.cfg.Now())
	return rec, true, err
}

// batchScenario is the scenario of a batch for fault decisions.
func (s *Server) batchScenario(id string) (Scenario, map[string]string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if b, ok := s.batches[id]; ok {
		return s.scenarioFor(b), b.Metadata
	}
	return s.globalScenario(), nil
}

func (s *Server) handleGetBatch(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	sc, md := s.batchScenario(id)
	f := s.pickFault(sc, FaultInput{Op: OpGetBatch, BatchID: id, Metadata: md, Request: r})
	s.serveWithFault(w, r, f, func(w http.ResponseWriter) {
		s.mu.Lock()
		defer s.mu.Unlock()
		rec, ok, err := s.currentBatch(id)
		switch {
		case err != nil:
			writeInternal(w, s.log, "get batch", err)
		case !ok:
			writeNotFound(w, "Batch", id)
		default:
			writeJSON(w, http.StatusOK, rec.api())
		}
	})
}

func (s *Server) handleCancelBatch(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	sc, md := s.batchScenario(id)
	f := s.pickFault(sc, FaultInput{Op: OpCancelBatch, BatchID: id, Metadata: md, Request: r})
	s.serveWithFault(w, r, f, func(w http.ResponseWriter) {
		s.mu.Lock()
		defer s.mu.Unlock()
		rec, ok, err := s.currentBatch(id)
		if err != nil {
			writeInternal(w, s.log, "cancel batch", err)
			return
		}
		if !ok {
			writeNotFound(w, "Batch", id)
			return
		}
		next, err := s.cancel(rec, s.cfg.Now())
		switch {
		case errors.Is(err, errNotCancellable):
			writeError(w, http.StatusConflict, "conflict",
				fmt.Sprintf("Cannot cancel batch %s with status %s.", id, rec.Status), nil)
		case err != nil:
			writeInternal(w, s.log, "cancel batch", err)
		default:
			writeJSON(w, http.StatusOK, next.api())
		}
	})
}

func (s *Server) handleListBatches(w http.ResponseWriter, r *http.Request) {
	f := s.pickFault(s.globalScenario(), FaultInput{Op: OpListBatches, Request: r})
	s.serveWithFault(w, r, f, func(w http.ResponseWriter) {
		p, err := parseListParams(r.URL.Query(), 20, 100)
		if err != nil {
			writeError(w, http.StatusBadRequest, "invalidPayload", err.Error(), nil)
			return
		}
		s.mu.Lock()
		defer s.mu.Unlock()
		sel, more, err := page(s.sortedBatches(p.asc), batchID, p)
		if err != nil {
			writeError(w, http.StatusBadRequest, "invalidPayload", err.Error(), strPtr("after"))
			return
		}
		data, err := s.advanceAll(sel)
		if err != nil {
			writeInternal(w, s.log, "list batches", err)
			return
		}
		writeJSON(w, http.StatusOK, newList(data, func(b apiBatch) string { return b.ID }, more))
	})
}

func batchID(b *batchRecord) string { return b.ID }

// sortedBatches lists all batches, newest first unless asc. Caller holds s.mu.
func (s *Server) sortedBatches(asc bool) []*batchRecord {
	all := make([]*batchRecord, 0, len(s.batches))
	for _, b := range s.batches {
		all = append(all, b)
	}
	sortByCreation(all, func(b *batchRecord) time.Time { return b.CreatedAt }, batchID, asc)
	return all
}

// advanceAll brings each batch to now and renders it. Caller holds s.mu.
func (s *Server) advanceAll(batches []*batchRecord) ([]apiBatch, error) {
	now := s.cfg.Now()
	out := make([]apiBatch, 0, len(batches))
	for _, b := range batches {
		nb, err := s.advance(b, now)
		if err != nil {
			return nil, err
		}
		out = append(out, nb.api())
	}
	return out, nil
}
