package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"strings"

	"github.com/batchledger/batchledger/audit"
	"github.com/batchledger/batchledger/models"
)

// cmdExplain shows one row's whole story, each piece read from the audit
// store and verified against its recorded hash. Any missing or mismatching
// piece makes it exit non-zero, naming what failed.
func cmdExplain(ctx context.Context, args []string, out io.Writer, log *slog.Logger) error {
	fs := flag.NewFlagSet("explain", flag.ContinueOnError)
	row := fs.Int("row", 0, "1-based data row number")
	customID := fs.String("custom-id", "", "the row's custom_id")
	runID, err := parseRunArgs(fs, args)
	if err != nil {
		return err
	}
	if runID == "" || (*row == 0) == (*customID == "") {
		return errors.New("explain: usage: starter explain RUN_ID (--row N | --custom-id ID)")
	}
	d, err := newDeps(log)
	if err != nil {
		return err
	}
	defer d.close()
	run, err := loadRun(ctx, d, runID)
	if err != nil {
		return err
	}
	db, err := d.database(ctx)
	if err != nil {
		return err
	}
	q := db.WithContext(ctx).Where("run_id = ?", runID)
	if *row != 0 {
		q = q.Where("row_index = ?", *row)
	} else {
		q = q.Where("custom_id = ?", *customID)
	}
	var rec models.RowRecord
	if err := q.Limit(1).Find(&rec).Error; err != nil {
		return fmt.Errorf("explain: %w", err)
	}
	if rec.RunID == "" {
		return fmt.Errorf("explain: run %s has no row %s", runID, rowName(*row, *customID))
	}
	store, err := d.blobs(ctx)
	if err != nil {
		return err
	}
	e := &explainer{ctx: ctx, store: store, out: out}
	e.explain(run, rec)
	if len(e.failed) > 0 {
		return fmt.Errorf("explain: %d check(s) failed: %s", len(e.failed), strings.Join(e.failed, "; "))
	}
	fmt.Fprintf(out, "\nall %d checks verified\n", e.verified)
	return nil
}

func rowName(row int, customID string) string {
	if customID != "" {
		return "with custom_id " + customID
	}
	return fmt.Sprint(row)
}

type explainer struct {
	ctx      context.Context
	store    audit.Store
	out      io.Writer
	verified int
	failed   []string
}

func (e *explainer) fail(what string, err error) {
	e.failed = append(e.failed, fmt.Sprintf("%s: %v", what, err))
	fmt.Fprintf(e.out, "  FAILED: %v\n", err)
}

// section prints one recorded line after reading it by range and checking its hash.
func (e *explainer) section(title string, r models.Range) []byte {
	fmt.Fprintf(e.out, "\n%s\n  at %s, sha256 %s\n", title, r, r.SHA256)
	b, err := e.store.GetRange(e.ctx, r)
	if err != nil {
		e.fail(title, err)
		return nil
	}
	e.verified++
	fmt.Fprintf(e.out, "  VERIFIED\n  %s\n", indent(string(b)))
	return b
}

// whole checks a small whole blob (template, system prompt) against its hash.
func (e *explainer) whole(title, hash string, show bool) {
	if hash == "" {
		return
	}
	fmt.Fprintf(e.out, "\n%s\n  at %s\n", title, models.BlobName(hash))
	b, err := e.store.ReadNamed(e.ctx, models.BlobName(hash))
	if err == nil && audit.Hash(b) != hash {
		err = fmt.Errorf("%s hashes to %s: %w", models.BlobName(hash), audit.Hash(b), audit.ErrIntegrity)
	}
	if err != nil {
		e.fail(title, err)
		return
	}
	e.verified++
	fmt.Fprintln(e.out, "  VERIFIED")
	if show {
		fmt.Fprintf(e.out, "  %s\n", indent(strings.TrimRight(string(b), "\n")))
	}
}

func (e *explainer) explain(run models.Run, rec models.RowRecord) {
	fmt.Fprintf(e.out, "run %s, row %d (input %s line %d)\n", run.RunID, rec.RowIndex, run.InputName, rec.Line)
	fmt.Fprintf(e.out, "outcome: %s\n", rec.Outcome)
	if rec.Message != nil {
		fmt.Fprintf(e.out, "message: %s\n", *rec.Message)
	}
	if rec.CustomID != nil {
		fmt.Fprintf(e.out, "custom_id: %s\n", *rec.CustomID)
	}
	fmt.Fprintf(e.out, "input file id: %s\nbatch id: %s (status %s)\nvariables sha256: %s\n",
		orNone(run.InputFileID), orNone(run.BatchID), orNone(run.BatchStatus), rec.VarsHash)

	e.section("input row", models.Range{Blob: rec.InputBlob, Offset: rec.InputOffset, Length: rec.InputLength, SHA256: rec.InputSHA})
	e.whole("template "+run.TemplateName, run.TemplateHash, true)
	e.whole("system prompt", run.SystemHash, true)
	e.whole("model parameters", run.ParamsHash, true)

	if rec.RequestBlob == nil {
		fmt.Fprintln(e.out, "\nrequest line: none (the row was not submitted)")
	} else {
		line := e.section("request line (as uploaded by files.create)", models.Range{Blob: *rec.RequestBlob, Offset: *rec.RequestOffset, Length: *rec.RequestLength, SHA256: *rec.RequestSHA})
		if line != nil {
			e.prompt(line, rec.PromptHash)
		}
	}
	if rec.ResultBlob == nil {
		fmt.Fprintln(e.out, "\noutput/error line: none (see outcome and message)")
	} else {
		title := fmt.Sprintf("%s file line %d (inside the recorded files.content response)", *rec.ResultSource, *rec.ResultLineNo)
		e.section(title, models.Range{Blob: *rec.ResultBlob, Offset: *rec.ResultOffset, Length: *rec.ResultLength, SHA256: *rec.ResultSHA})
	}
	if rec.ResultsOffset == nil {
		e.fail("results line", errors.New("the row has no line in the results JSONL"))
	} else {
		e.section("results line", models.Range{Blob: run.ResultsHash, Offset: *rec.ResultsOffset, Length: *rec.ResultsLength, SHA256: *rec.ResultsSHA})
	}
}

// prompt shows the rendered user prompt from the exact request line and
// checks it against the prompt hash recorded at render time.
func (e *explainer) prompt(line []byte, want *string) {
	var req struct {
		Body struct {
			Messages []struct {
				Role    string `json:"role"`
				Content string `json:"content"`
			} `json:"messages"`
		} `json:"body"`
	}
	dec := json.NewDecoder(bytes.NewReader(line))
	if err := dec.Decode(&req); err != nil {
		e.fail("rendered prompt", fmt.Errorf("request line is not a chat request: %w", err))
		return
	}
	var user string
	for _, m := range req.Body.Messages {
		if m.Role == "user" {
			user = m.Content
		}
	}
	fmt.Fprintf(e.out, "\nrendered prompt (user message of the request line)\n")
	if want == nil || audit.Hash([]byte(user)) != *want {
		e.fail("rendered prompt", fmt.Errorf("prompt does not match its recorded hash: %w", audit.ErrIntegrity))
		return
	}
	e.verified++
	fmt.Fprintf(e.out, "  sha256 %s VERIFIED\n  %s\n", *want, indent(user))
}

func indent(s string) string { return strings.ReplaceAll(s, "\n", "\n  ") }

func orNone(s string) string {
	if s == "" {
		return "(none)"
	}
	return s
}
