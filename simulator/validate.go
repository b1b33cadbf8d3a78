package simulator

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"
)

// maxReportedErrors bounds errors.data so a bad 100k-line file does not make
// every batch read carry megabytes of errors.
const maxReportedErrors = 100

// requestLine is a parsed, valid input line.
type requestLine struct {
	CustomID string
	Model    string
	Body     json.RawMessage
	Messages []chatMessage
	Raw      []byte
}

type chatMessage struct {
	Role    string          `json:"role"`
	Content json.RawMessage `json:"content"`
}

// lineError is a validation failure of one line.
type lineError struct {
	code, message, param string
}

// normalizeEndpoint treats "/v1/chat/completions" and "/chat/completions" as
// the same endpoint; Azure documents both spellings.
func normalizeEndpoint(s string) string {
	return strings.TrimPrefix(s, "/v1")
}

func supportedEndpoint(s string) bool {
	return s == "/chat/completions" || s == "/v1/chat/completions"
}

// parseLine checks one input line against the batch request line rules.
func parseLine(raw []byte, endpoint string) (requestLine, *lineError) {
	trimmed := bytes.TrimSpace(raw)
	var fields map[string]json.RawMessage
	if len(trimmed) == 0 || trimmed[0] != '{' || json.Unmarshal(trimmed, &fields) != nil {
		return requestLine{}, &lineError{"invalid_json_line", "This line is not a valid JSON object.", ""}
	}
	customID, ok := jsonString(fields["custom_id"])
	if !ok || customID == "" {
		return requestLine{}, &lineError{"invalid_request", "custom_id must be a non-empty string.", "custom_id"}
	}
	if method, ok := jsonString(fields["method"]); !ok || method != "POST" {
		return requestLine{}, &lineError{"invalid_request", `method must be "POST".`, "method"}
	}
	url, ok := jsonString(fields["url"])
	if !ok {
		return requestLine{}, &lineError{"invalid_request", "url must be a string.", "url"}
	}
	if normalizeEndpoint(url) != normalizeEndpoint(endpoint) {
		return requestLine{}, &lineError{"url_mismatch", fmt.Sprintf("url %s does not match the batch endpoint %s.", url, endpoint), "url"}
	}
	body := bytes.TrimSpace(fields["body"])
	var bodyFields map[string]json.RawMessage
	if len(body) == 0 || body[0] != '{' || json.Unmarshal(body, &bodyFields) != nil {
		return requestLine{}, &lineError{"invalid_request", "body must be a JSON object.", "body"}
	}
	model, ok := jsonString(bodyFields["model"])
	if !ok || model == "" {
		return requestLine{}, &lineError{"invalid_request", "body.model must be a non-empty string (the deployment name).", "body.model"}
	}
	var messages []chatMessage
	rawMessages := bytes.TrimSpace(bodyFields["messages"])
	if len(rawMessages) == 0 || rawMessages[0] != '[' || json.Unmarshal(rawMessages, &messages) != nil {
		return requestLine{}, &lineError{"invalid_request", "body.messages must be an array of message objects.", "body.messages"}
	}
	return requestLine{CustomID: customID, Model: model, Body: json.RawMessage(body), Messages: messages, Raw: raw}, nil
}

func jsonString(raw json.RawMessage) (string, bool) {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || raw[0] != '"' {
		return "", false
	}
	var s string
	if err := json.Unmarshal(raw, &s); err != nil {
		return "", false
	}
	return s, true
}

// validation is the outcome of validating a whole input file.
type validation struct {
	lines  int
	model  string // the deployment all lines name
	errors []BatchError
}

// validateInput checks every line of the input file at path and the rules that
// span lines (unique custom_id, one model, line limit).
func validateInput(path, endpoint string, maxLines int) (validation, error) {
	var v validation
	seen := map[string]int{}
	model, modelLine := "", 0
	add := func(line int, e lineError) {
		if len(v.errors) >= maxReportedErrors {
			return
		}
		be := BatchError{Code: e.code, Message: e.message, Line: &line}
		if e.param != "" {
			be.Param = strPtr(e.param)
		}
		v.errors = append(v.errors, be)
	}
	err := forEachLine(path, func(n int, raw []byte) error {
		v.lines = n
		if n > maxLines {
			v.errors = append(v.errors[:0], BatchError{
				Code:    "too_many_tasks",
				Message: fmt.Sprintf("The input file has more than %d requests.", maxLines),
			})
			return errStop
		}
		req, lerr := parseLine(raw, endpoint)
		if lerr != nil {
			add(n, *lerr)
			return nil
		}
		if first, dup := seen[req.CustomID]; dup {
			add(n, lineError{"duplicate_custom_id", fmt.Sprintf("custom_id %q is already used on line %d.", req.CustomID, first), "custom_id"})
			return nil
		}
		seen[req.CustomID] = n
		if model == "" {
			model, modelLine = req.Model, n
		} else if req.Model != model {
			add(n, lineError{"model_mismatch", fmt.Sprintf("body.model %q differs from %q on line %d; all requests must use the same deployment.", req.Model, model, modelLine), "body.model"})
		}
		return nil
	})
	if err != nil {
		return validation{}, fmt.Errorf("validate input: %w", err)
	}
	v.model = model
	if v.lines == 0 && len(v.errors) == 0 {
		v.errors = append(v.errors, BatchError{
			Code:    "empty_file",
			Message: "The input file is empty. Please ensure that the batch contains at least one request.",
		})
	}
	return v, nil
}
