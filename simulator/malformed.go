package simulator

import (
	"bytes"
	"encoding/json"
	"fmt"
)

// marshalLine encodes v as Azure writes it: no HTML escaping, no newline.
func marshalLine(v any) ([]byte, error) {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, fmt.Errorf("encode line: %w", err)
	}
	return bytes.TrimSuffix(b.Bytes(), []byte("\n")), nil
}

// looseLine is an output line taken apart for rewriting; a nil CustomID is
// left out, nil Response and Error are written as null.
type looseLine struct {
	CustomID *string         `json:"custom_id,omitempty"`
	Response json.RawMessage `json:"response"`
	Error    json.RawMessage `json:"error"`
}

// looseResponse keeps the field order of a success response.
type looseResponse struct {
	Body       map[string]json.RawMessage `json:"body"`
	RequestID  string                     `json:"request_id"`
	StatusCode int                        `json:"status_code"`
}

// malformation is the rewrite of malformed_output for line index i, or nil
// (the line stays well formed). Each rewrite breaks the contract one way.
func malformation(i int) func([]byte) []byte {
	switch i {
	case 0: // not JSON: cut inside the "response" key
		return func(line []byte) []byte {
			if k := bytes.Index(line, []byte(`"response"`)); k >= 0 {
				return bytes.Clone(line[:k+len(`"respo`)])
			}
			return bytes.Clone(line[:len(line)/2])
		}
	case 1: // no custom_id
		return rewriteLoose(func(l *looseLine) { l.CustomID = nil })
	case 2: // a custom_id the input does not have
		return rewriteLoose(func(l *looseLine) {
			id := *l.CustomID + "-unknown"
			l.CustomID = &id
		})
	case 3: // both a response and an error
		return rewriteLoose(func(l *looseLine) {
			l.Error = json.RawMessage(`{"code":"server_error","message":"Simulated error next to a response."}`)
		})
	case 4: // neither a response nor an error
		return rewriteLoose(func(l *looseLine) { l.Response = nil })
	case 5: // a response body without choices
		return rewriteBody(func(body map[string]json.RawMessage) { delete(body, "choices") })
	case 6: // a response body with no choice
		return rewriteBody(func(body map[string]json.RawMessage) { body["choices"] = json.RawMessage(`[]`) })
	}
	return nil
}

// rewriteLoose applies edit to a well-formed output line. The input is our
// own success line, so a decoding failure is a bug; it is turned into a
// visibly broken line rather than a panic.
func rewriteLoose(edit func(*looseLine)) func([]byte) []byte {
	return func(line []byte) []byte {
		var l looseLine
		if err := json.Unmarshal(line, &l); err != nil || l.CustomID == nil {
			return []byte(fmt.Sprintf(`{"simulator_bug":%q}`, fmt.Sprint("rewrite line: ", err)))
		}
		edit(&l)
		out, err := marshalLine(l)
		if err != nil {
			return []byte(fmt.Sprintf(`{"simulator_bug":%q}`, err.Error()))
		}
		return out
	}
}

// rewriteBody applies edit to the response body of a success line. Body keys
// are re-encoded in sorted order, which is the order Azure writes them in.
func rewriteBody(edit func(map[string]json.RawMessage)) func([]byte) []byte {
	return rewriteLoose(func(l *looseLine) {
		var res looseResponse
		if err := json.Unmarshal(l.Response, &res); err != nil || res.Body == nil {
			l.Response = json.RawMessage(fmt.Sprintf(`{"simulator_bug":%q}`, fmt.Sprint("rewrite body: ", err)))
			return
		}
		edit(res.Body)
		raw, err := marshalLine(res)
		if err != nil {
			raw = []byte(fmt.Sprintf(`{"simulator_bug":%q}`, err.Error()))
		}
		l.Response = raw
	})
}
