package activities

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"
)

// batchObject is the subset of Azure's batch object we act on. Fields are
// pointers or raw so that absent, null and "" stay distinguishable.
type batchObject struct {
	ID            *string         `json:"id"`
	Status        *string         `json:"status"`
	OutputFileID  *string         `json:"output_file_id"`
	ErrorFileID   *string         `json:"error_file_id"`
	RequestCounts *RequestCount   `json:"request_counts"`
	Errors        json.RawMessage `json:"errors"`
}

// BatchError is one entry of a batch's errors.data.
type BatchError struct {
	Code    string `json:"code,omitempty"`
	Message string `json:"message,omitempty"`
	Param   string `json:"param,omitempty"`
	Line    *int   `json:"line,omitempty"`
}

// parseBatch validates a batch object. Timestamps are ignored (the docs show
// both unix seconds and ISO strings); status is lowercased (one doc page
// shows "Validating").
func parseBatch(body []byte) (BatchState, error) {
	var b batchObject
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	if err := dec.Decode(&b); err != nil {
		return BatchState{}, fmt.Errorf("batch object is not JSON: %w", err)
	}
	if b.ID == nil || *b.ID == "" {
		return BatchState{}, fmt.Errorf("batch object has no id")
	}
	if b.Status == nil || *b.Status == "" {
		return BatchState{}, fmt.Errorf("batch %s has no status", *b.ID)
	}
	st := BatchState{ID: *b.ID, Status: strings.ToLower(*b.Status)}
	if b.OutputFileID != nil {
		st.OutputFileID = *b.OutputFileID
	}
	if b.ErrorFileID != nil {
		st.ErrorFileID = *b.ErrorFileID
	}
	if b.RequestCounts != nil {
		st.RequestCounts = *b.RequestCounts
	}
	return st, nil
}

// batchErrors reads errors.data, which the spec types as one object and the
// docs and OpenAI as an array; both are accepted.
func batchErrors(body []byte) []BatchError {
	var b batchObject
	if json.Unmarshal(body, &b) != nil || len(b.Errors) == 0 || string(b.Errors) == "null" {
		return nil
	}
	var wrap struct {
		Data json.RawMessage `json:"data"`
	}
	if json.Unmarshal(b.Errors, &wrap) != nil || len(wrap.Data) == 0 {
		return nil
	}
	var list []BatchError
	if json.Unmarshal(wrap.Data, &list) == nil {
		return list
	}
	var one BatchError
	if json.Unmarshal(wrap.Data, &one) == nil {
		return []BatchError{one}
	}
	return nil
}
