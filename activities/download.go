package activities

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"

	"github.com/openai/openai-go/v3"
	"gorm.io/gorm"
	"gorm.io/gorm/clause"

	"github.com/batchledger/batchledger/audit"
	"github.com/batchledger/batchledger/azureopenai"
	"github.com/batchledger/batchledger/models"
	"github.com/batchledger/batchledger/outcome"
)

// OpResults records the results JSONL we wrote.
const OpResults = "results.write"

// ResultLine is one line of the results JSONL: every input row, in input
// order, with its response or the reason it has none. Absent fields stay absent.
type ResultLine struct {
	Row      int                   `json:"row"`
	Line     int                   `json:"line"`
	CustomID *string               `json:"custom_id,omitempty"`
	Outcome  string                `json:"outcome"`
	Response *outcome.ResponseInfo `json:"response,omitempty"`
	Error    *outcome.Error        `json:"error,omitempty"`
	Message  string                `json:"message,omitempty"`
}

// fetched is one downloaded Azure file and where its bytes sit in the recorded response.
type fetched struct {
	body       []byte
	blob       string // recorded files.content response
	bodyOffset int64
}

// Download fetches the batch's output and error files, assigns exactly one
// outcome to every input row and records the results JSONL.
func (a *Activities) Download(ctx context.Context, in DownloadInput) (DownloadResult, error) {
	ctx, done := a.begin(ctx, in.RunID)
	defer done()
	var rows []models.RowRecord
	if err := a.DB.WithContext(ctx).Where("run_id = ?", in.RunID).Order("row_index").Find(&rows).Error; err != nil {
		return DownloadResult{}, fmt.Errorf("load rows of %s: %w", in.RunID, err)
	}
	if len(rows) == 0 {
		return DownloadResult{}, fmt.Errorf("run %s has no row records: %w", in.RunID, audit.ErrIntegrity)
	}

	var (
		outLines, errLines []outcome.Line
		files              = map[outcome.Source]fetched{}
		info               outcome.BatchInfo
		batchMsg           string
		missingOutput      string // set when the output file could not be found
	)
	if in.Batch != nil {
		b := in.Batch
		info = outcome.BatchInfo{Status: b.Status, TimedOut: in.TimedOut, FailedCount: int(b.RequestCounts.Failed)}
		if b.OutputFileID != "" {
			f, found, err := a.fileContent(ctx, b.OutputFileID)
			if err != nil {
				return DownloadResult{}, err
			}
			if found {
				files[outcome.SourceOutput] = f
				outLines = outcome.ParseFile(outcome.SourceOutput, f.body)
			} else {
				missingOutput = fmt.Sprintf("the output file %s named by the batch does not exist (HTTP 404)", b.OutputFileID)
			}
			a.crash("download.after_content")
		}
		if b.ErrorFileID != "" {
			f, found, err := a.fileContent(ctx, b.ErrorFileID)
			if err != nil {
				return DownloadResult{}, err
			}
			if found {
				files[outcome.SourceError] = f
				errLines = outcome.ParseFile(outcome.SourceError, f.body)
			}
		}
		info.ErrorFileMissing = b.ErrorFileID == "" || len(errLines) == 0
		if b.Status == "failed" {
			raw, err := a.Store.GetRange(ctx, b.Batch)
			if err != nil {
				return DownloadResult{}, integrity(err)
			}
			batchMsg = describeBatchErrors(batchErrors(raw))
		}
	}

	var submitted []outcome.Submitted
	for _, r := range rows {
		if r.CustomID != nil {
			submitted = append(submitted, outcome.Submitted{RowIndex: r.RowIndex, CustomID: *r.CustomID})
		}
	}
	var (
		assigned  []outcome.Assignment
		anomalies []outcome.Anomaly
	)
	switch {
	case in.Batch != nil:
		var err error
		if assigned, anomalies, err = outcome.Assign(submitted, info, outLines, errLines); err != nil {
			return DownloadResult{}, fmt.Errorf("assign outcomes of %s: %w", in.RunID, err)
		}
	case len(submitted) > 0 && in.Canceled:
		for _, sub := range submitted {
			assigned = append(assigned, outcome.Assignment{RowIndex: sub.RowIndex, CustomID: sub.CustomID,
				Outcome: outcome.BatchCancelled, Message: "the run was cancelled before a batch was created"})
		}
	case len(submitted) > 0:
		return DownloadResult{}, fmt.Errorf("run %s submitted %d rows but has no batch: %w", in.RunID, len(submitted), audit.ErrIntegrity)
	}
	byRow := make(map[int]outcome.Assignment, len(assigned))
	for _, as := range assigned {
		byRow[as.RowIndex] = as
	}

	var results bytes.Buffer
	counts := map[string]int{}
	for i := range rows {
		r := &rows[i]
		line := ResultLine{Row: r.RowIndex, Line: r.Line, CustomID: r.CustomID, Outcome: r.Outcome}
		if r.Message != nil {
			line.Message = *r.Message
		}
		if as, ok := byRow[r.RowIndex]; ok {
			line.Outcome, line.Message = as.Outcome, as.Message
			if as.Outcome == outcome.BatchFailed && batchMsg != "" {
				line.Message = batchMsg
			}
			if as.Outcome == outcome.ResultNotFound && missingOutput != "" {
				line.Message = missingOutput
			}
			if as.Line != nil {
				line.Response, line.Error = as.Line.Response, as.Line.Error
				f := files[as.Line.Source]
				src, no, blob, off, n, sha := string(as.Line.Source), as.Line.LineNo, f.blob, f.bodyOffset+as.Line.Offset, as.Line.Length, as.Line.SHA256
				r.ResultSource, r.ResultLineNo, r.ResultBlob, r.ResultOffset, r.ResultLength, r.ResultSHA = &src, &no, &blob, &off, &n, &sha
			}
			r.Outcome = line.Outcome
			if line.Message != "" {
				msg := line.Message
				r.Message = &msg
			}
		}
		if r.Outcome == "" {
			// Every row must end with an outcome; a gap here is our own bug.
			return DownloadResult{}, fmt.Errorf("row %d of %s has no outcome: %w", r.RowIndex, in.RunID, audit.ErrIntegrity)
		}
		b, err := json.Marshal(line)
		if err != nil {
			return DownloadResult{}, fmt.Errorf("encode result of row %d: %w", r.RowIndex, err)
		}
		off, n, sha := int64(results.Len()), int64(len(b)), audit.Hash(b)
		r.ResultsOffset, r.ResultsLength, r.ResultsSHA = &off, &n, &sha
		results.Write(b)
		results.WriteByte('\n')
		counts[r.Outcome]++
	}

	resRef, err := a.Rec.RecordArtifact(ctx, OpResults, results.Bytes())
	if err != nil {
		return DownloadResult{}, err
	}
	a.crash("download.before_commit")
	anomalyRows := make([]models.Anomaly, 0, len(anomalies))
	for _, an := range anomalies {
		rec := models.Anomaly{RunID: in.RunID, Source: string(an.Source), LineNo: an.LineNo, CustomID: an.CustomID, Problem: an.Problem}
		if f, ok := files[an.Source]; ok {
			if l := findLine(outLines, errLines, an); l != nil {
				rec.Blob, rec.Offset, rec.Length, rec.SHA256 = f.blob, f.bodyOffset+l.Offset, l.Length, l.SHA256
			}
		}
		anomalyRows = append(anomalyRows, rec)
	}
	countsJSON, _ := json.Marshal(counts)
	cj := string(countsJSON)
	err = a.DB.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		if err := tx.Clauses(clause.OnConflict{UpdateAll: true}).CreateInBatches(rows, 1000).Error; err != nil {
			return fmt.Errorf("save row outcomes: %w", err)
		}
		if err := tx.Where("run_id = ?", in.RunID).Delete(&models.Anomaly{}).Error; err != nil {
			return fmt.Errorf("clear anomalies: %w", err)
		}
		if len(anomalyRows) > 0 {
			if err := tx.CreateInBatches(anomalyRows, 1000).Error; err != nil {
				return fmt.Errorf("save anomalies: %w", err)
			}
		}
		upd := map[string]any{"results_hash": resRef.SHA256, "results_size": resRef.Size, "counts_json": cj}
		if in.Batch != nil {
			upd["batch_status"], upd["output_file_id"], upd["error_file_id"] = in.Batch.Status, in.Batch.OutputFileID, in.Batch.ErrorFileID
		}
		return tx.Model(&models.Run{}).Where("run_id = ?", in.RunID).Updates(upd).Error
	})
	if err != nil {
		return DownloadResult{}, fmt.Errorf("save results of %s: %w", in.RunID, err)
	}
	return DownloadResult{Results: resRef, Counts: counts, Anomalies: len(anomalies)}, nil
}

// fileContent downloads one file; its bytes are the body of the recorded
// response. A file the batch names but Azure does not have (404) is not an
// error of the run: found is false, the 404 is recorded, and the rows it
// would have explained get outcomes that say so.
func (a *Activities) fileContent(ctx context.Context, fileID string) (f fetched, found bool, err error) {
	resp, err := a.AI.Files.Content(audit.WithOperation(ctx, azureopenai.OpFilesContent), fileID)
	var apiErr *openai.Error
	if errors.As(err, &apiErr) && apiErr.StatusCode == http.StatusNotFound {
		return fetched{}, false, nil
	}
	if err != nil {
		return fetched{}, false, classify("files.content "+fileID, err)
	}
	body, at, err := recordedBody(ctx, azureopenai.OpFilesContent, resp)
	if err != nil {
		return fetched{}, false, fmt.Errorf("files.content %s: %w", fileID, err)
	}
	return fetched{body: body, blob: at.Blob, bodyOffset: at.Offset}, true, nil
}

func findLine(out, errs []outcome.Line, an outcome.Anomaly) *outcome.Line {
	lines := out
	if an.Source == outcome.SourceError {
		lines = errs
	}
	for i := range lines {
		if lines[i].LineNo == an.LineNo {
			return &lines[i]
		}
	}
	return nil
}

func describeBatchErrors(errs []BatchError) string {
	if len(errs) == 0 {
		return "batch failed; Azure gave no errors"
	}
	parts := make([]string, 0, len(errs))
	for _, e := range errs {
		s := e.Code + ": " + e.Message
		if e.Line != nil {
			s = fmt.Sprintf("line %d: %s", *e.Line, s)
		}
		parts = append(parts, s)
	}
	return "batch failed: " + strings.Join(parts, "; ")
}
