package activities

import (
	"context"
	"encoding/json"
	"fmt"

	"gorm.io/gorm"
	"gorm.io/gorm/clause"

	"github.com/batchledger/batchledger/models"
	"github.com/batchledger/batchledger/render"
)

// Operations recorded by Render for its inputs and output.
const (
	OpInputRows     = "input.rows"
	OpInputTemplate = "input.template"
	OpInputSystem   = "input.system_prompt"
	OpInputParams   = "input.params"
	OpRender        = "render.requests"
)

// Render records the run's inputs, renders one chat-completions request per
// row and records the batch input JSONL. Rows the template cannot render are
// kept with their error and left out of the batch; they do not fail the run.
func (a *Activities) Render(ctx context.Context, in RenderInput) (RenderResult, error) {
	ctx, done := a.begin(ctx, in.RunID)
	defer done()
	inputBytes, err := a.load(ctx, in.Input, "input")
	if err != nil {
		return RenderResult{}, err
	}
	tmplBytes, err := a.load(ctx, in.Template, "template")
	if err != nil {
		return RenderResult{}, err
	}
	var sysBytes []byte
	if in.SystemPrompt != nil && !in.SystemPrompt.IsZero() {
		if sysBytes, err = a.load(ctx, *in.SystemPrompt, "system prompt"); err != nil {
			return RenderResult{}, err
		}
	}
	params := in.Params
	if params.Deployment == "" {
		params.Deployment = a.Deployment
	}
	paramsJSON, err := json.Marshal(params)
	if err != nil {
		return RenderResult{}, fmt.Errorf("encode params: %w", err)
	}

	// Inputs are recorded before anything can fail on their content, so a
	// rejected run still shows exactly what it was given.
	inputRef, err := a.Rec.RecordArtifact(ctx, OpInputRows, inputBytes)
	if err != nil {
		return RenderResult{}, err
	}
	tmplRef, err := a.Rec.RecordArtifact(ctx, OpInputTemplate, tmplBytes)
	if err != nil {
		return RenderResult{}, err
	}
	var sysRef models.Ref
	if sysBytes != nil {
		if sysRef, err = a.Rec.RecordArtifact(ctx, OpInputSystem, sysBytes); err != nil {
			return RenderResult{}, err
		}
	}
	paramsRef, err := a.Rec.RecordArtifact(ctx, OpInputParams, paramsJSON)
	if err != nil {
		return RenderResult{}, err
	}

	inputName := nameOr(in.Input, "input")
	format := render.Format(in.Format)
	if format == "" {
		if format, err = render.DetectFormat(inputName); err != nil {
			return RenderResult{}, invalid("%v", err)
		}
	}
	parsed, err := render.ParseInput(inputName, inputBytes, format)
	if err != nil {
		return RenderResult{}, invalid("%v", err)
	}
	out, err := render.Render(parsed, render.Params{
		Template:     string(tmplBytes),
		TemplateName: nameOr(in.Template, "template"),
		SystemPrompt: string(sysBytes),
		Deployment:   params.Deployment,
		Temperature:  params.Temperature,
		MaxTokens:    params.MaxTokens,
	})
	if err != nil {
		return RenderResult{}, invalid("%v", err)
	}
	reqRef, err := a.Rec.RecordArtifact(ctx, OpRender, out.JSONL)
	if err != nil {
		return RenderResult{}, err
	}

	a.crash("render.before_commit")
	run := models.Run{
		RunID: in.RunID, InputName: inputName, InputFormat: string(format),
		InputHash: inputRef.SHA256, InputSize: inputRef.Size,
		TemplateName: nameOr(in.Template, "template"), TemplateHash: tmplRef.SHA256,
		SystemHash: sysRef.SHA256, ParamsHash: paramsRef.SHA256,
		RequestsHash: reqRef.SHA256, RequestsSize: reqRef.Size,
		Rows: len(parsed.Rows), Submitted: len(out.Lines),
	}
	rows := rowRecords(in.RunID, inputRef, reqRef, parsed, out)
	err = a.DB.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		if err := tx.Clauses(clause.OnConflict{
			Columns: []clause.Column{{Name: "run_id"}},
			DoUpdates: clause.AssignmentColumns([]string{"input_name", "input_format", "input_hash", "input_size",
				"template_name", "template_hash", "system_hash", "params_hash", "requests_hash", "requests_size",
				"rows", "submitted", "updated_at"}),
		}).Create(&run).Error; err != nil {
			return fmt.Errorf("save run: %w", err)
		}
		// Render is deterministic, so a retry writes the same rows again.
		if err := tx.Clauses(clause.OnConflict{UpdateAll: true}).CreateInBatches(rows, 1000).Error; err != nil {
			return fmt.Errorf("save row records: %w", err)
		}
		return nil
	})
	if err != nil {
		return RenderResult{}, err
	}
	return RenderResult{
		Input: inputRef, Template: tmplRef, Requests: reqRef,
		Rows: len(parsed.Rows), Submitted: len(out.Lines), NotRendered: len(out.Errors),
	}, nil
}

func nameOr(s Source, def string) string {
	switch {
	case s.Name != "":
		return s.Name
	case s.Blob != "":
		return s.Blob
	}
	return def
}

// rowRecords links every input row to its request line (when it has one)
// or to the reason it was left out.
func rowRecords(runID string, inputRef, reqRef models.Ref, in render.Input, out render.Output) []models.RowRecord {
	lines := make(map[int]render.Line, len(out.Lines))
	for _, l := range out.Lines {
		lines[l.RowIndex] = l
	}
	errs := make(map[int]render.RowError, len(out.Errors))
	for _, e := range out.Errors {
		errs[e.RowIndex] = e
	}
	recs := make([]models.RowRecord, 0, len(in.Rows))
	for _, r := range in.Rows {
		rec := models.RowRecord{
			RunID: runID, RowIndex: r.Index, Line: r.Line, VarsHash: r.VarsSHA256,
			InputBlob: inputRef.SHA256, InputOffset: r.Offset, InputLength: r.Length, InputSHA: r.SHA256,
		}
		if l, ok := lines[r.Index]; ok {
			id, blob, off, n, sha, ph := l.CustomID, reqRef.SHA256, l.Offset, l.Length, l.SHA256, l.PromptSHA256
			rec.CustomID, rec.RequestBlob, rec.RequestOffset, rec.RequestLength, rec.RequestSHA, rec.PromptHash = &id, &blob, &off, &n, &sha, &ph
		} else if e, ok := errs[r.Index]; ok {
			msg := e.Message
			rec.Outcome, rec.Message = e.Reason, &msg
		}
		recs = append(recs, rec)
	}
	return recs
}
