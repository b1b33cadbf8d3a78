package audit

import (
	"context"
	"sync"

	"github.com/batchledger/batchledger/models"
)

// Scope identifies who is making calls: one attempt of one activity of one
// run. Every recorded call gets the next call index in its scope, and the
// scope remembers the calls it recorded so the activity can return their refs.
type Scope struct {
	RunID         string
	WorkflowRunID string // Temporal's run id: tells apart deliberate re-runs of one workflow id
	Activity      string
	Attempt       int32

	mu    sync.Mutex
	next  int32
	calls []models.Call
}

// NewScope starts numbering calls at 0 for one activity attempt.
func NewScope(runID, activity string, attempt int32) *Scope {
	return &Scope{RunID: runID, Activity: activity, Attempt: attempt}
}

func (s *Scope) nextIndex() int32 {
	s.mu.Lock()
	defer s.mu.Unlock()
	i := s.next
	s.next++
	return i
}

func (s *Scope) add(c models.Call) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.calls = append(s.calls, c)
}

// Last returns the most recent recorded call of an operation.
func (s *Scope) Last(operation string) (models.Call, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for i := len(s.calls) - 1; i >= 0; i-- {
		if s.calls[i].Operation == operation {
			return s.calls[i], true
		}
	}
	return models.Call{}, false
}

// Calls returns a copy of the calls recorded so far.
func (s *Scope) Calls() []models.Call {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]models.Call(nil), s.calls...)
}

type scopeKey struct{}
type operationKey struct{}

// WithScope attaches a scope; calls without one are refused, never sent unrecorded.
func WithScope(ctx context.Context, s *Scope) context.Context {
	return context.WithValue(ctx, scopeKey{}, s)
}

// ScopeFrom returns the scope attached to ctx, or nil.
func ScopeFrom(ctx context.Context) *Scope {
	s, _ := ctx.Value(scopeKey{}).(*Scope)
	return s
}

// WithOperation names the API operation (files.create, batches.retrieve, ...)
// for calls made with ctx.
func WithOperation(ctx context.Context, op string) context.Context {
	return context.WithValue(ctx, operationKey{}, op)
}

func operationFrom(ctx context.Context) string {
	op, _ := ctx.Value(operationKey{}).(string)
	return op
}
