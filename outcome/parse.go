package outcome

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"strconv"
	"unicode/utf8"
)

// Source names which of a batch's files a line came from.
type Source string

// Sources.
const (
	SourceOutput Source = "output"
	SourceError  Source = "error"
)

// Outcomes. A row ends with exactly one of these.
const (
	Response                = "response"
	TemplateError           = "template_error"
	InputError              = "input_error"
	APIError                = "api_error"
	ContentFiltered         = "content_filtered"
	InvalidResponse         = "invalid_response"
	ResultNotFound          = "result_not_found"
	ErrorDetailsUnavailable = "error_details_unavailable"
	BatchFailed             = "batch_failed"
	BatchExpired            = "batch_expired"
	BatchCancelled          = "batch_cancelled"
	BatchTimeout            = "batch_timeout"
)

// Usage is the body's token usage; each count is nil when absent.
type Usage struct {
	PromptTokens     *int64 `json:"prompt_tokens,omitempty"`
	CompletionTokens *int64 `json:"completion_tokens,omitempty"`
	TotalTokens      *int64 `json:"total_tokens,omitempty"`
}

// ResponseInfo is what a line's "response" object said. Fields absent or
// null in the data stay nil; nothing is defaulted. (Named ResponseInfo, not
// Response, because Response is the outcome constant.)
type ResponseInfo struct {
	StatusCode   int     `json:"status_code"`
	RequestID    *string `json:"request_id,omitempty"`
	Model        *string `json:"model,omitempty"`         // body.model
	Content      *string `json:"content,omitempty"`       // body.choices[0].message.content
	FinishReason *string `json:"finish_reason,omitempty"` // body.choices[0].finish_reason
	Refusal      *string `json:"refusal,omitempty"`       // body.choices[0].message.refusal
	Usage        *Usage  `json:"usage,omitempty"`         // body.usage
	// ContentFilterResults is body.choices[0].content_filter_results as sent.
	ContentFilterResults json.RawMessage `json:"content_filter_results,omitempty"`
}

// Error is an error a line reported: a non-2xx response's body.error (with
// StatusCode) or a top-level "error" object (StatusCode nil).
type Error struct {
	StatusCode *int    `json:"status_code,omitempty"`
	Code       *string `json:"code,omitempty"`
	Message    *string `json:"message,omitempty"`
	Param      *string `json:"param,omitempty"`
}

// Line is one non-blank line of an output or error file.
type Line struct {
	Source Source `json:"source"`
	LineNo int    `json:"line_no"` // 1-based line number in the file
	Offset int64  `json:"offset"`  // data[Offset:Offset+Length] is the line without "\n" / "\r\n"
	Length int64  `json:"length"`
	SHA256 string `json:"sha256"` // of those bytes

	CustomID string `json:"custom_id,omitempty"` // "" when absent or unreadable
	// Outcome classifies this line alone; InvalidResponse (with Problem set)
	// when the line is malformed.
	Outcome  string        `json:"outcome"`
	Response *ResponseInfo `json:"response,omitempty"`
	Error    *Error        `json:"error,omitempty"`
	Problem  string        `json:"problem,omitempty"` // why the line is malformed
}

// bom is tolerated at the start of a file; offsets still index the original bytes.
var bom = []byte{0xEF, 0xBB, 0xBF}

// ParseFile splits a batch output or error file into lines and classifies
// each. Blank lines are skipped, "\r\n" and a last line without "\n" are
// handled. It never fails: what cannot be understood is a Line with Problem.
func ParseFile(src Source, data []byte) []Line {
	var lines []Line
	start := 0
	if bytes.HasPrefix(data, bom) {
		start = len(bom)
	}
	for lineNo := 1; start < len(data); lineNo++ {
		next := len(data)
		if i := bytes.IndexByte(data[start:], '\n'); i >= 0 {
			next = start + i + 1
		}
		raw := bytes.TrimSuffix(bytes.TrimSuffix(data[start:next], []byte("\n")), []byte("\r"))
		offset := start
		start = next
		if len(bytes.TrimSpace(raw)) == 0 {
			continue
		}
		sum := sha256.Sum256(raw)
		l := Line{
			Source: src,
			LineNo: lineNo,
			Offset: int64(offset),
			Length: int64(len(raw)),
			SHA256: hex.EncodeToString(sum[:]),
		}
		if p := l.classify(raw); p != "" {
			l.Outcome = InvalidResponse
			l.Problem = p
		}
		lines = append(lines, l)
	}
	return lines
}

// classify fills l from raw and sets l.Outcome; it returns a non-empty
// problem when the line is malformed (the caller then overrides Outcome).
// What was read before the problem is kept.
func (l *Line) classify(raw []byte) string {
	if !utf8.Valid(raw) {
		// encoding/json would silently replace the bytes; refuse instead.
		return "not valid UTF-8"
	}
	var (
		top     object
		problem string
	)
	if json.Valid(raw) {
		top, problem = members(raw)
	} else {
		// Only broken lines take the slow path: it names the syntax error
		// and keeps the members read before it (to salvage custom_id).
		top, problem = decodeObject(raw)
		if problem == "" { // json.Valid is the authority; keep the line invalid
			problem = "not JSON"
		}
	}
	cid, cidProblem := top.str("custom_id", "custom_id")
	if cidProblem == "" && cid != nil {
		l.CustomID = *cid // kept even if the line is otherwise broken
	}
	switch {
	case problem != "":
		return problem
	case cidProblem != "":
		return cidProblem
	case cid == nil:
		return "missing custom_id"
	case *cid == "":
		return "empty custom_id"
	}

	respRaw, hasResp := top.get("response")
	errRaw, hasErr := top.get("error")
	switch {
	case hasResp && hasErr:
		return "both response and error"
	case !hasResp && !hasErr:
		return "neither response nor error"
	case hasErr:
		return l.topError(errRaw)
	default:
		return l.response(respRaw)
	}
}

// topError handles a line whose top-level "error" is set: a request Azure
// did not run (batch expired or cancelled first) or could not run.
func (l *Line) topError(raw json.RawMessage) string {
	o, p := members(raw)
	if p != "" {
		return "error: " + p
	}
	e := &Error{}
	l.Error = e
	if p := o.strInto(&e.Code, "code", "error.code"); p != "" {
		return p
	}
	if p := o.strInto(&e.Message, "message", "error.message"); p != "" {
		return p
	}
	if p := o.strInto(&e.Param, "param", "error.param"); p != "" {
		return p
	}
	switch deref(e.Code) {
	case "batch_expired":
		l.Outcome = BatchExpired
	case "batch_cancelled":
		l.Outcome = BatchCancelled
	case "content_filter":
		l.Outcome = ContentFiltered
	default:
		l.Outcome = APIError
	}
	return ""
}

func (l *Line) response(raw json.RawMessage) string {
	o, p := members(raw)
	if p != "" {
		return "response: " + p
	}
	sc, p := o.integer("status_code", "response.status_code")
	switch {
	case p != "":
		return p
	case sc == nil:
		return "response.status_code missing"
	case *sc < 100 || *sc > 599:
		return fmt.Sprintf("response.status_code %d is not an HTTP status", *sc)
	}
	r := &ResponseInfo{StatusCode: int(*sc)}
	l.Response = r
	if p := o.strInto(&r.RequestID, "request_id", "response.request_id"); p != "" {
		return p
	}
	body, hasBody := o.get("body")
	if r.StatusCode >= 200 && r.StatusCode < 300 {
		if !hasBody {
			return "response.body missing"
		}
		return l.completion(r, body)
	}
	return l.httpError(r, body, hasBody)
}

// completion reads a 2xx chat.completion body.
func (l *Line) completion(r *ResponseInfo, raw json.RawMessage) string {
	body, p := members(raw)
	if p != "" {
		return "response.body: " + p
	}
	if p := body.strInto(&r.Model, "model", "body.model"); p != "" {
		return p
	}
	if u, ok := body.get("usage"); ok {
		uo, p := members(u)
		if p != "" {
			return "body.usage: " + p
		}
		usage := &Usage{}
		for _, f := range []struct {
			dst *(*int64)
			key string
		}{
			{&usage.PromptTokens, "prompt_tokens"},
			{&usage.CompletionTokens, "completion_tokens"},
			{&usage.TotalTokens, "total_tokens"},
		} {
			n, p := uo.integer(f.key, "body.usage."+f.key)
			if p == "" && n != nil && *n < 0 {
				p = fmt.Sprintf("body.usage.%s is negative", f.key)
			}
			if p != "" {
				return p
			}
			*f.dst = n
		}
		r.Usage = usage
	}

	choicesRaw, ok := body.get("choices")
	if !ok {
		return "choices missing"
	}
	first, isArray := firstElement(choicesRaw)
	if !isArray {
		return "choices is not an array"
	}
	if first == nil {
		return "choices empty"
	}
	c0, p := members(first)
	if p != "" {
		return "choices[0]: " + p
	}
	if p := c0.strInto(&r.FinishReason, "finish_reason", "choices[0].finish_reason"); p != "" {
		return p
	}
	if cfr, ok := c0.get("content_filter_results"); ok {
		r.ContentFilterResults = bytes.Clone(cfr) // as sent; not aliasing the caller's file
	}
	msgRaw, ok := c0.get("message")
	if !ok {
		return "choices[0].message missing"
	}
	msg, p := members(msgRaw)
	if p != "" {
		return "choices[0].message: " + p
	}
	if p := msg.strInto(&r.Content, "content", "choices[0].message.content"); p != "" {
		return p
	}
	if p := msg.strInto(&r.Refusal, "refusal", "choices[0].message.refusal"); p != "" {
		return p
	}

	switch {
	case deref(r.FinishReason) == "content_filter":
		l.Outcome = ContentFiltered
	case r.Content != nil:
		l.Outcome = Response
	case anyFiltered(raw):
		l.Outcome = ContentFiltered
	case r.Refusal != nil:
		return "choices[0].message.content is null (refusal present)"
	default:
		return "choices[0].message.content is null or missing"
	}
	return ""
}

// httpError reads a non-2xx response; body and body.error are optional.
func (l *Line) httpError(r *ResponseInfo, raw json.RawMessage, hasBody bool) string {
	sc := r.StatusCode
	e := &Error{StatusCode: &sc}
	l.Error = e
	if hasBody {
		body, p := members(raw)
		if p != "" {
			return "response.body: " + p
		}
		if er, ok := body.get("error"); ok {
			eo, p := members(er)
			if p != "" {
				return "body.error: " + p
			}
			if p := eo.strInto(&e.Code, "code", "body.error.code"); p != "" {
				return p
			}
			if p := eo.strInto(&e.Message, "message", "body.error.message"); p != "" {
				return p
			}
			if p := eo.strInto(&e.Param, "param", "body.error.param"); p != "" {
				return p
			}
		}
	}
	if deref(e.Code) == "content_filter" {
		l.Outcome = ContentFiltered
	} else {
		l.Outcome = APIError
	}
	return ""
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}

// object is one JSON object's members, decoded one level deep.
type object map[string]json.RawMessage

// decodeObject is the slow path for a line that is not valid JSON: it
// returns the problem (the syntax error) and the members read before it, so
// custom_id can be salvaged; a duplicated key is dropped from them because
// its value is ambiguous.
func decodeObject(raw []byte) (object, string) {
	dec := json.NewDecoder(bytes.NewReader(raw))
	tok, err := dec.Token()
	if err != nil {
		return nil, "not JSON: " + err.Error()
	}
	if d, ok := tok.(json.Delim); !ok || d != '{' {
		return nil, "not a JSON object"
	}
	o := object{}
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return o, "not JSON: " + err.Error()
		}
		key, ok := tok.(string)
		if !ok {
			return o, "not JSON: object key is not a string"
		}
		var v json.RawMessage
		if err := dec.Decode(&v); err != nil {
			return o, "not JSON: " + err.Error()
		}
		if _, dup := o[key]; dup {
			delete(o, key)
			return o, fmt.Sprintf("duplicate key %q", key)
		}
		o[key] = v
	}
	if _, err := dec.Token(); err != nil {
		return o, "not JSON: " + err.Error()
	}
	if _, err := dec.Token(); err != io.EOF {
		return o, "not JSON: data after the object"
	}
	return o, ""
}

// get returns a member that is present and not null.
func (o object) get(key string) (json.RawMessage, bool) {
	v, ok := o[key]
	if !ok || len(v) == 0 || string(v) == "null" {
		return nil, false
	}
	return v, true
}

// str reads an optional string member: nil when absent or null.
func (o object) str(key, path string) (*string, string) {
	v, ok := o.get(key)
	if !ok {
		return nil, ""
	}
	if v[0] != '"' {
		return nil, path + " is not a string"
	}
	s, err := unquote(v)
	if err != nil {
		return nil, path + " is not a string"
	}
	return &s, ""
}

func (o object) strInto(dst **string, key, path string) string {
	s, p := o.str(key, path)
	*dst = s
	return p
}

// integer reads an optional integer member: nil when absent or null; 200.0
// and 2e2 are not integers.
func (o object) integer(key, path string) (*int64, string) {
	v, ok := o.get(key)
	if !ok {
		return nil, ""
	}
	n, err := strconv.ParseInt(string(v), 10, 64)
	if err != nil {
		return nil, path + " is not an integer"
	}
	return &n, ""
}

// anyFiltered reports whether some object in raw has "filtered": true.
func anyFiltered(raw []byte) bool {
	var v any
	if err := json.Unmarshal(raw, &v); err != nil {
		return false
	}
	return hasFilteredTrue(v)
}

func hasFilteredTrue(v any) bool {
	switch v := v.(type) {
	case map[string]any:
		if f, ok := v["filtered"].(bool); ok && f {
			return true
		}
		for _, e := range v {
			if hasFilteredTrue(e) {
				return true
			}
		}
	case []any:
		for _, e := range v {
			if hasFilteredTrue(e) {
				return true
			}
		}
	}
	return false
}
