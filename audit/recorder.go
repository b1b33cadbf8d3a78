// Package audit records the exact bytes of every exchange with Azure OpenAI
// (and of our own inputs and outputs) in a content-addressed blob store, and
// indexes each one with a row in the PostgreSQL table calls.
package audit

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"time"

	"gorm.io/gorm"

	"github.com/batchledger/batchledger/models"
)

// Recorder writes blobs first, then the calls row; it returns only when both
// are durable, so a returned Call is proof that the bytes are recorded.
type Recorder struct {
	Store Store
	DB    *gorm.DB
	Log   *slog.Logger
}

// Exchange is one thing to record. Request or Response may be nil (an
// artifact has no response; a failed HTTP attempt may have none).
type Exchange struct {
	Operation          string
	Method             string
	URL                string
	Status             int
	Request            []byte
	RequestBodyOffset  int64
	Response           []byte // nil: no response arrived
	ResponseBodyOffset int64
	Err                error
	Latency            time.Duration
}

// Record stores an exchange in the scope attached to ctx.
func (r *Recorder) Record(ctx context.Context, ex Exchange) (models.Call, error) {
	scope := ScopeFrom(ctx)
	if scope == nil {
		return models.Call{}, fmt.Errorf("record %s: no audit scope in context", ex.Operation)
	}
	call := models.Call{
		RunID:             scope.RunID,
		WorkflowRunID:     scope.WorkflowRunID,
		Activity:          scope.Activity,
		Attempt:           scope.Attempt,
		CallIndex:         scope.nextIndex(),
		Operation:         ex.Operation,
		Method:            ex.Method,
		URL:               ex.URL,
		Status:            ex.Status,
		RequestBodyOffset: ex.RequestBodyOffset,
		LatencyMS:         ex.Latency.Milliseconds(),
	}
	reqRef, err := r.Store.Put(ctx, ex.Request)
	if err != nil {
		return models.Call{}, fmt.Errorf("record %s request: %w", ex.Operation, err)
	}
	call.RequestHash, call.RequestRef, call.RequestSize = reqRef.SHA256, reqRef.BlobName(), reqRef.Size
	if ex.Response != nil {
		respRef, err := r.Store.Put(ctx, ex.Response)
		if err != nil {
			return models.Call{}, fmt.Errorf("record %s response: %w", ex.Operation, err)
		}
		name, off := respRef.BlobName(), ex.ResponseBodyOffset
		call.ResponseHash, call.ResponseRef, call.ResponseSize, call.ResponseBodyOffset = &respRef.SHA256, &name, &respRef.Size, &off
	}
	if ex.Err != nil {
		b, _ := json.Marshal(map[string]string{"error": ex.Err.Error()})
		s := string(b)
		call.ErrorJSON = &s
	} else if ex.Status >= 400 {
		b, _ := json.Marshal(map[string]any{"error": "http status", "status": ex.Status})
		s := string(b)
		call.ErrorJSON = &s
	}
	if err := r.DB.WithContext(ctx).Create(&call).Error; err != nil {
		return models.Call{}, fmt.Errorf("record %s row: %w", ex.Operation, err)
	}
	scope.add(call)
	if r.Log != nil {
		r.Log.Debug("recorded call", "run", call.RunID, "activity", call.Activity, "attempt", call.Attempt,
			"index", call.CallIndex, "op", call.Operation, "status", call.Status)
	}
	return call, nil
}

// RecordArtifact records bytes we produced or received outside HTTP (input
// rows, template, rendered JSONL, results) as a call with only a request.
func (r *Recorder) RecordArtifact(ctx context.Context, operation string, data []byte) (models.Ref, error) {
	c, err := r.Record(ctx, Exchange{Operation: operation, Request: data})
	if err != nil {
		return models.Ref{}, err
	}
	return models.Ref{SHA256: c.RequestHash, Size: c.RequestSize}, nil
}
