package simulator

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"time"
)

// jsonlWriter streams JSON lines into a temp file that becomes a stored file
// only if something was written to it.
type jsonlWriter struct {
	f     *os.File
	buf   *bufio.Writer
	enc   *json.Encoder
	lines int
	done  bool // committed or discarded
}

func newJSONLWriter(dir string) (*jsonlWriter, error) {
	f, err := createTemp(dir)
	if err != nil {
		return nil, err
	}
	buf := bufio.NewWriterSize(f, 1<<20)
	enc := json.NewEncoder(buf)
	// Azure writes text as is; HTML escaping would change the bytes of answers.
	enc.SetEscapeHTML(false)
	return &jsonlWriter{f: f, buf: buf, enc: enc}, nil
}

func (w *jsonlWriter) write(v outputLine) error {
	w.lines++
	if err := w.enc.Encode(v); err != nil {
		return fmt.Errorf("write line for %s: %w", v.CustomID, err)
	}
	return nil
}

// writeRaw writes one line as given (a scenario's deliberately broken line).
func (w *jsonlWriter) writeRaw(line []byte) error {
	w.lines++
	if _, err := w.buf.Write(line); err != nil {
		return fmt.Errorf("write raw line %d: %w", w.lines, err)
	}
	if err := w.buf.WriteByte('\n'); err != nil {
		return fmt.Errorf("write raw line %d: %w", w.lines, err)
	}
	return nil
}

func (w *jsonlWriter) discard() {
	if w.done {
		return
	}
	w.done = true
	_ = w.f.Close()
	_ = os.Remove(w.f.Name())
}

// commit stores the written lines under path; the size is returned.
func (w *jsonlWriter) commit(path string) (int64, error) {
	if err := w.buf.Flush(); err != nil {
		w.discard()
		return 0, fmt.Errorf("flush %s: %w", w.f.Name(), err)
	}
	info, err := w.f.Stat()
	if err != nil {
		w.discard()
		return 0, fmt.Errorf("stat %s: %w", w.f.Name(), err)
	}
	w.done = true // commitTemp closes, and removes the temp file on failure
	if err := commitTemp(w.f, path); err != nil {
		return 0, err
	}
	return info.Size(), nil
}

// batchResult is what a finished batch points at.
type batchResult struct {
	counts       RequestCounts
	outputFileID string
	errorFileID  string
	// blankErrorFileID answers error_file_id "" instead of null.
	blankErrorFileID bool
}

// unfinishedLine reports a line that was never executed (cancelled, expired).
type unfinishedLine func(customID string) outputLine

// writeResults executes the batch's input in the simulator's imagination: the
// first `finished` lines get the scenario's outcome, the rest are reported by
// unfinished. Output and error files are stored (the latter only if needed,
// unless the scenario says otherwise) under ids derived from the batch id, so
// a rerun after a crash is idempotent. The caller holds s.mu.
func (s *Server) writeResults(rec *batchRecord, finished int, unfinished unfinishedLine, at time.Time) (batchResult, error) {
	sc := s.scenarioFor(rec)
	out, err := newJSONLWriter(s.store.filesDir)
	if err != nil {
		return batchResult{}, err
	}
	defer out.discard() // no-op once committed
	errw, err := newJSONLWriter(s.store.filesDir)
	if err != nil {
		return batchResult{}, err
	}
	defer errw.discard()

	// writeErr records a failed line, in the error file only if it has one
	// with content.
	var res batchResult
	writeErr := func(l outputLine) error {
		res.counts.Failed++
		if sc.ErrorFile != ErrorFileNormal {
			return nil
		}
		return errw.write(l)
	}
	err = forEachLine(s.store.contentPath(rec.InputFileID), func(n int, raw []byte) error {
		req, lerr := parseLine(raw, rec.Endpoint)
		if lerr != nil {
			return fmt.Errorf("line %d: %s: %w", n, lerr.message, errInputChanged)
		}
		res.counts.Total++
		if n > finished {
			return writeErr(unfinished(req.CustomID))
		}
		var outcome LineOutcome
		if sc.Line != nil {
			outcome = sc.Line(LineInput{
				BatchID: rec.ID, Index: n - 1, CustomID: req.CustomID,
				Model: req.Model, Body: req.Body, Raw: req.Raw,
			})
		}
		if outcome.Failure != nil {
			return writeErr(failureLine(req, *outcome.Failure))
		}
		res.counts.Completed++
		switch {
		case outcome.ContentFiltered:
			return out.write(filteredLine(req))
		case outcome.Rewrite != nil:
			line, err := marshalLine(successLine(req))
			if err != nil {
				return fmt.Errorf("line %d: %w", n, err)
			}
			return out.writeRaw(outcome.Rewrite(line))
		}
		return out.write(successLine(req))
	})
	if err != nil {
		return batchResult{}, fmt.Errorf("results of batch %s: %w", rec.ID, err)
	}

	// Like Azure: no output file when nothing succeeded, no error file when
	// nothing failed (unless the scenario shapes the error file).
	if out.lines > 0 {
		if res.outputFileID, err = s.storeResultFile(rec, out, "output", at); err != nil {
			return batchResult{}, err
		}
	}
	switch {
	case sc.ErrorFile == ErrorFileBlankID:
		res.blankErrorFileID = true
	case sc.ErrorFile == ErrorFileDangling:
		res.errorFileID = derivedFileID(rec.ID, "error-missing")
	case errw.lines > 0 || sc.ErrorFile == ErrorFileEmpty:
		if res.errorFileID, err = s.storeResultFile(rec, errw, "error", at); err != nil {
			return batchResult{}, err
		}
	}
	return res, nil
}

var errInputChanged = errors.New("input no longer valid")

func (s *Server) storeResultFile(rec *batchRecord, w *jsonlWriter, kind string, at time.Time) (string, error) {
	id := derivedFileID(rec.ID, kind)
	size, err := w.commit(s.store.contentPath(id))
	if err != nil {
		return "", fmt.Errorf("store %s file of batch %s: %w", kind, rec.ID, err)
	}
	f := &fileRecord{
		ID:        id,
		Bytes:     size,
		CreatedAt: at,
		Filename:  rec.ID + "_" + kind + ".jsonl",
		Purpose:   purposeBatchOutput,
		BatchID:   rec.ID,
		Scenario:  rec.Scenario,
	}
	if err := s.store.saveFile(f); err != nil {
		return "", err
	}
	s.files[id] = f
	return id, nil
}
