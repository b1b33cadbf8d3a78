package render

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"
)

// URL is the endpoint every request line targets.
const URL = "/chat/completions"

// Reasons a row is left out of the batch; the same strings as
// outcome.TemplateError and outcome.InputError.
const (
	ReasonTemplateError = "template_error"
	ReasonInputError    = "input_error"
)

// noValue is what text/template prints for a nil or missing value; a prompt
// containing it would send text the input never held.
const noValue = "<no value>"

// Params are the batch-wide request settings.
type Params struct {
	Template     string   // Go text/template, executed with missingkey=error on the row's Vars
	TemplateName string   // file name for messages
	SystemPrompt string   // optional; when non-empty, sent as the first message (role "system")
	Deployment   string   // body.model: the Azure deployment name (required)
	Temperature  *float64 // omitted from the body when nil
	MaxTokens    *int64   // body.max_tokens, omitted when nil
}

// Line is one request line of Output.JSONL.
type Line struct {
	RowIndex     int    `json:"row_index"`
	CustomID     string `json:"custom_id"`
	Offset       int64  `json:"offset"` // JSONL[Offset:Offset+Length] is the line without its "\n"
	Length       int64  `json:"length"`
	SHA256       string `json:"sha256"`        // of the line bytes
	PromptSHA256 string `json:"prompt_sha256"` // of the rendered user prompt text (UTF-8)
}

// RowError is a row left out of the batch.
type RowError struct {
	RowIndex int    `json:"row_index"`
	Line     int    `json:"line"`   // line in the input file where the row starts
	Reason   string `json:"reason"` // ReasonTemplateError or ReasonInputError
	Message  string `json:"message"`
}

// Output is the batch input file and its index.
type Output struct {
	JSONL          []byte     // one "\n"-terminated line per renderable row, in row order
	Lines          []Line     // one per line of JSONL, same order
	Errors         []RowError // rows left out, in row order
	TemplateSHA256 string     // of the template text
}

// CustomID is the custom_id of a row: "row-<index>".
func CustomID(rowIndex int) string {
	return "row-" + strconv.Itoa(rowIndex)
}

// ParseCustomID is the inverse of CustomID. It accepts only the exact form
// CustomID produces (no sign, no leading zeros, index >= 1), so two
// spellings never name the same row.
func ParseCustomID(s string) (int, bool) {
	digits, ok := strings.CutPrefix(s, "row-")
	if !ok || digits == "" || digits[0] < '1' || digits[0] > '9' {
		return 0, false
	}
	n, err := strconv.Atoi(digits)
	if err != nil || n < 1 || CustomID(n) != s {
		return 0, false
	}
	return n, true
}

// The request line's field order is the struct order; encoding/json keeps
// it, so the bytes are deterministic.
type requestLine struct {
	CustomID string      `json:"custom_id"`
	Method   string      `json:"method"`
	URL      string      `json:"url"`
	Body     requestBody `json:"body"`
}

type requestBody struct {
	Model       string    `json:"model"`
	Messages    []message `json:"messages"`
	Temperature *float64  `json:"temperature,omitempty"`
	MaxTokens   *int64    `json:"max_tokens,omitempty"`
}

type message struct {
	Role    string `json:"role"`
	Content string `json:"content"`
}

func validateParams(p Params) error {
	if strings.TrimSpace(p.Deployment) == "" {
		return errors.New("deployment (body.model) is empty")
	}
	if !utf8.ValidString(p.Deployment) {
		return errors.New("deployment name is not valid UTF-8")
	}
	if !utf8.ValidString(p.SystemPrompt) {
		// encoding/json would replace the bad bytes, sending text we did not record.
		return errors.New("system prompt is not valid UTF-8")
	}
	if t := p.Temperature; t != nil && (math.IsNaN(*t) || *t < 0 || *t > 2) {
		return fmt.Errorf("temperature %v is outside [0, 2]", *t)
	}
	if m := p.MaxTokens; m != nil && *m < 1 {
		return fmt.Errorf("max_tokens %d is less than 1", *m)
	}
	return nil
}

// Render builds the batch input file. Whole-batch problems (template parse
// error, unknown column, bad Params, no rows) are errors; a row that cannot
// be read or rendered becomes a RowError and the others go on. If every row
// fails, Output.JSONL is empty and there is nothing to send.
func Render(in Input, p Params) (Output, error) {
	name := templateName(p.TemplateName)
	if err := validateParams(p); err != nil {
		return Output{}, fmt.Errorf("render %s: %w", in.Name, err)
	}
	if len(in.Rows) == 0 {
		return Output{}, fmt.Errorf("render %s: no rows", in.Name)
	}
	// When no row could be read, Columns says nothing about the file: report
	// each row's input error rather than a misleading "unknown column".
	readable := slices.ContainsFunc(in.Rows, func(r Row) bool { return r.Err == nil })
	tmpl, err := parseTemplate(p.Template, name, in.Columns, readable)
	if err != nil {
		return Output{}, fmt.Errorf("render %s: %w", in.Name, err)
	}

	out := Output{TemplateSHA256: sha256Hex([]byte(p.Template))}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false) // keep prompts readable: no \u003c for '<'
	var prompt bytes.Buffer
	tmplHasNoValue := strings.Contains(p.Template, noValue)

	for _, row := range in.Rows {
		rowErr := func(reason, msg string) {
			out.Errors = append(out.Errors, RowError{RowIndex: row.Index, Line: row.Line, Reason: reason, Message: msg})
		}
		if row.Err != nil {
			rowErr(ReasonInputError, row.Err.Error())
			continue
		}
		prompt.Reset()
		if err := tmpl.Execute(&prompt, row.Vars); err != nil {
			rowErr(ReasonTemplateError, trimTemplateErr(err).Error())
			continue
		}
		if !utf8.Valid(prompt.Bytes()) {
			// e.g. slice cut a multi-byte character; encoding/json would
			// replace the bytes and the prompt hash would not match what was sent.
			rowErr(ReasonTemplateError, fmt.Sprintf("%s: rendered prompt is not valid UTF-8", name))
			continue
		}
		if !tmplHasNoValue && bytes.Contains(prompt.Bytes(), []byte(noValue)) && !containsString(row.Vars, noValue) {
			rowErr(ReasonTemplateError, fmt.Sprintf("%s: rendered prompt contains %q: a value it uses is null or missing", name, noValue))
			continue
		}

		req := requestLine{
			CustomID: CustomID(row.Index),
			Method:   "POST",
			URL:      URL,
			Body: requestBody{
				Model:       p.Deployment,
				Temperature: p.Temperature,
				MaxTokens:   p.MaxTokens,
			},
		}
		if p.SystemPrompt != "" {
			req.Body.Messages = append(req.Body.Messages, message{Role: "system", Content: p.SystemPrompt})
		}
		req.Body.Messages = append(req.Body.Messages, message{Role: "user", Content: prompt.String()})

		start := buf.Len()
		if err := enc.Encode(req); err != nil {
			return Output{}, fmt.Errorf("render %s: encoding request for row %d: %w", in.Name, row.Index, err)
		}
		line := buf.Bytes()[start : buf.Len()-1] // Encode ends each value with exactly one "\n"
		out.Lines = append(out.Lines, Line{
			RowIndex:     row.Index,
			CustomID:     req.CustomID,
			Offset:       int64(start),
			Length:       int64(len(line)),
			SHA256:       sha256Hex(line),
			PromptSHA256: sha256Hex(prompt.Bytes()),
		})
	}
	out.JSONL = buf.Bytes()
	return out, nil
}

// containsString reports whether any string inside v contains s.
func containsString(v any, s string) bool {
	switch v := v.(type) {
	case string:
		return strings.Contains(v, s)
	case json.Number:
		return false
	case map[string]any:
		for k, e := range v {
			if strings.Contains(k, s) || containsString(e, s) {
				return true
			}
		}
	case []any:
		for _, e := range v {
			if containsString(e, s) {
				return true
			}
		}
	}
	return false
}
