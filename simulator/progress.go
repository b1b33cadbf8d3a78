package simulator

import (
	"errors"
	"fmt"
	"math"
	"time"
)

// phases are the lifecycle durations of a batch under scenario sc.
func (s *Server) phases(sc Scenario) Phases {
	p := Phases{
		Validating:  s.cfg.Validating,
		InProgress:  s.cfg.InProgress,
		Finalizing:  s.cfg.Finalizing,
		CancelDelay: s.cfg.CancelDelay,
		Window:      completionWindow,
	}
	if sc.Phases != nil {
		p = sc.Phases(p)
	}
	return p
}

// advance moves a batch through every transition that is due at now and
// persists the result if anything changed. Transition times are the moments
// the transitions were due, not the time of the read, so a batch looks the
// same however often (or rarely, or across restarts) it is polled.
// The caller holds s.mu; rec is not modified.
func (s *Server) advance(rec *batchRecord, now time.Time) (*batchRecord, error) {
	next := *rec
	changed := false
	for {
		moved, err := s.step(&next, now)
		if err != nil {
			return nil, fmt.Errorf("advance batch %s from %s: %w", rec.ID, next.Status, err)
		}
		if !moved {
			break
		}
		changed = true
	}
	if !changed {
		return rec, nil
	}
	if err := s.store.saveBatch(&next); err != nil {
		return nil, err
	}
	s.batches[next.ID] = &next
	s.log.Info("batch progressed", "batch_id", next.ID, "from", rec.Status, "to", next.Status)
	return &next, nil
}

// step performs at most one transition.
func (s *Server) step(b *batchRecord, now time.Time) (bool, error) {
	sc := s.scenarioFor(b)
	p := s.phases(sc)
	switch b.Status {
	case statusValidating:
		due := b.CreatedAt.Add(p.Validating)
		if now.Before(due) {
			return false, nil
		}
		v, err := s.validateBatch(b, sc)
		if err != nil {
			return false, err
		}
		if len(v.errors) > 0 {
			b.Status, b.FailedAt = statusFailed, &due
			b.Errors = &BatchErrors{Object: "list", Data: v.errors}
			b.Counts = RequestCounts{}
			return true, nil
		}
		b.Status, b.InProgressAt = statusInProgress, &due
		b.LineCount = v.lines
		b.Counts = RequestCounts{Total: v.lines}
		return true, nil

	case statusInProgress:
		due := b.InProgressAt.Add(p.InProgress)
		if b.ExpiresAt.Before(due) && !now.Before(b.ExpiresAt) {
			return s.expire(b, sc, p)
		}
		if now.Before(due) {
			return false, nil
		}
		b.Status, b.FinalizingAt = statusFinalizing, &due
		return true, nil

	case statusFinalizing:
		due := b.FinalizingAt.Add(p.Finalizing)
		if now.Before(due) {
			return false, nil
		}
		res, err := s.writeResults(b, b.LineCount, cancelledLine, due)
		if err != nil {
			return false, err
		}
		b.Status, b.CompletedAt = statusCompleted, &due
		b.apply(res)
		return true, nil

	case statusCancelling:
		due := b.CancellingAt.Add(p.CancelDelay)
		if now.Before(due) {
			return false, nil
		}
		b.Status, b.CancelledAt = statusCancelled, &due
		if b.InProgressAt == nil {
			// Cancelled while validating: account for the lines only if the
			// input would have passed validation.
			v, err := s.validateBatch(b, sc)
			if err != nil {
				return false, err
			}
			if len(v.errors) > 0 {
				return true, nil
			}
		}
		res, err := s.writeResults(b, b.FinishedAtCancel, cancelledLine, due)
		if err != nil {
			return false, err
		}
		b.apply(res)
		return true, nil
	}
	return false, nil
}

// expire ends an in-progress batch at its expires_at (never before it went
// in progress) with the lines executed by then; the rest are batch_expired.
func (s *Server) expire(b *batchRecord, sc Scenario, p Phases) (bool, error) {
	at := b.ExpiresAt
	if at.Before(*b.InProgressAt) {
		at = *b.InProgressAt
	}
	finished := partialLines(sc, b.LineCount, at.Sub(*b.InProgressAt), p.InProgress)
	res, err := s.writeResults(b, finished, expiredLine, at)
	if err != nil {
		return false, err
	}
	b.Status, b.ExpiredAt = statusExpired, &at
	b.apply(res)
	return true, nil
}

func (b *batchRecord) apply(res batchResult) {
	b.Counts = res.counts
	b.OutputFileID = res.outputFileID
	b.ErrorFileID = res.errorFileID
	b.BlankErrorFileID = res.blankErrorFileID
}

// validateBatch validates the batch's input file, then lets the scenario fail
// it; a vanished input file is a validation failure, as it would be for the
// real service.
func (s *Server) validateBatch(b *batchRecord, sc Scenario) (validation, error) {
	if _, ok := s.files[b.InputFileID]; !ok {
		return validation{errors: []BatchError{{
			Code:    "file_not_found",
			Message: fmt.Sprintf("The input file %s was not found.", b.InputFileID),
			Param:   strPtr("input_file_id"),
		}}}, nil
	}
	v, err := validateInput(s.store.contentPath(b.InputFileID), b.Endpoint, s.cfg.MaxLines)
	if err != nil || len(v.errors) > 0 || sc.Validate == nil {
		return v, err
	}
	v.errors = sc.Validate(ValidateInput{BatchID: b.ID, Model: v.model, Lines: v.lines})
	return v, nil
}

var errNotCancellable = errors.New("batch is not cancellable")

// cancel starts cancellation of a batch that is not terminal. The lines that
// count as executed are the scenario's Partial, or else the leading fraction
// of the input equal to the elapsed fraction of the in-progress phase (all of
// them once finalizing). The caller holds s.mu and has advanced rec to now.
func (s *Server) cancel(rec *batchRecord, now time.Time) (*batchRecord, error) {
	if rec.terminal() {
		return nil, errNotCancellable
	}
	if rec.Status == statusCancelling {
		return rec, nil
	}
	sc := s.scenarioFor(rec)
	next := *rec
	switch rec.Status {
	case statusInProgress:
		next.FinishedAtCancel = partialLines(sc, rec.LineCount, now.Sub(*rec.InProgressAt), s.phases(sc).InProgress)
	case statusFinalizing:
		next.FinishedAtCancel = rec.LineCount
	default: // validating: nothing ran yet
		next.FinishedAtCancel = 0
	}
	next.Status, next.CancellingAt = statusCancelling, &now
	if err := s.store.saveBatch(&next); err != nil {
		return nil, err
	}
	s.batches[next.ID] = &next
	s.log.Info("batch cancelling", "batch_id", next.ID, "finished_lines", next.FinishedAtCancel, "lines", next.LineCount)
	return &next, nil
}

// partialLines is how many leading lines of an in-progress batch count as
// executed after elapsed of its in-progress phase.
func partialLines(sc Scenario, total int, elapsed, phase time.Duration) int {
	if sc.Partial != nil {
		return min(max(sc.Partial(total), 0), total)
	}
	return finishedLines(total, elapsed, phase)
}

func finishedLines(total int, elapsed, phase time.Duration) int {
	if phase <= 0 || elapsed >= phase {
		return total
	}
	if elapsed <= 0 {
		return 0
	}
	return int(math.Floor(float64(total) * float64(elapsed) / float64(phase)))
}
