package outcome

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"os"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func hashOf(b []byte) string {
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}

func ptr[T any](v T) *T { return &v }

// docsLine is Microsoft's documented output line (reference 2a), compacted
// to one JSONL line.
func docsLine(t *testing.T) []byte {
	t.Helper()
	raw, err := os.ReadFile("testdata/azure-docs-2a-output-line.json")
	require.NoError(t, err)
	var buf bytes.Buffer
	require.NoError(t, json.Compact(&buf, raw))
	return buf.Bytes()
}

// checkRanges verifies that every line's range slices data to exactly that
// line and that its hash is of exactly those bytes.
func checkRanges(t *testing.T, data []byte, lines []Line) {
	t.Helper()
	for _, l := range lines {
		require.True(t, l.Offset >= 0 && l.Offset+l.Length <= int64(len(data)), "line %d range", l.LineNo)
		b := data[l.Offset : l.Offset+l.Length]
		assert.False(t, bytes.ContainsAny(b, "\n"), "line %d contains a newline", l.LineNo)
		assert.False(t, bytes.HasSuffix(b, []byte("\r")), "line %d ends with CR", l.LineNo)
		assert.Equal(t, hashOf(b), l.SHA256, "line %d sha", l.LineNo)
	}
}

func TestParseFileDocsExample(t *testing.T) {
	line := docsLine(t)
	lines := ParseFile(SourceOutput, append(line, '\n'))
	require.Len(t, lines, 1)
	l := lines[0]
	checkRanges(t, append(line, '\n'), lines)
	assert.Equal(t, Line{
		Source: SourceOutput, LineNo: 1, Offset: 0, Length: int64(len(line)), SHA256: hashOf(line),
		CustomID: "task-0",
		Outcome:  Response,
		Response: &ResponseInfo{
			StatusCode:   200,
			RequestID:    ptr("660b7424-b648-4b67-addc-862ba067d442"),
			Model:        ptr("gpt-4o-2024-05-13"),
			Content:      ptr("Microsoft was founded on April 4, 1975, by Bill Gates and Paul Allen in Albuquerque, New Mexico."),
			FinishReason: ptr("stop"),
			Usage:        &Usage{PromptTokens: ptr(int64(27)), CompletionTokens: ptr(int64(24)), TotalTokens: ptr(int64(51))},
			ContentFilterResults: json.RawMessage(`{"hate":{"filtered":false,"severity":"safe"},"self_harm":{"filtered":false,"severity":"safe"},` +
				`"sexual":{"filtered":false,"severity":"safe"},"violence":{"filtered":false,"severity":"safe"}}`),
		},
	}, l)
}

func TestParseFileLineClassification(t *testing.T) {
	const okBody = `"body":{"model":"m","choices":[{"index":0,"message":{"role":"assistant","content":"hi"},"finish_reason":"stop"}]}`
	tests := []struct {
		name     string
		line     string
		outcome  string
		problem  string // substring; "" = none
		customID string
		check    func(t *testing.T, l Line)
	}{
		{
			name:     "OpenAI schema example with per-line id",
			line:     `{"id": "batch_req_wnaDys", "custom_id": "request-2", "response": {"status_code": 200, "request_id": "req_c187b3", "body": {"id": "chatcmpl-9758Iw", "object": "chat.completion", "created": 1711475054, "model": "gpt-4o-mini", "choices": [{"index": 0, "message": {"role": "assistant", "content": "2 + 2 equals 4."}, "finish_reason": "stop"}], "usage": {"prompt_tokens": 24, "completion_tokens": 15, "total_tokens": 39}, "system_fingerprint": null}}, "error": null}`,
			outcome:  Response,
			customID: "request-2",
			check: func(t *testing.T, l Line) {
				assert.Equal(t, "2 + 2 equals 4.", *l.Response.Content)
				assert.Nil(t, l.Response.ContentFilterResults)
				assert.Nil(t, l.Response.Refusal)
				assert.Nil(t, l.Error)
			},
		},
		{
			name:     "absent fields stay nil",
			line:     `{"custom_id":"row-1","response":{"status_code":201,"body":{"choices":[{"message":{"content":""}}]}}}`,
			outcome:  Response,
			customID: "row-1",
			check: func(t *testing.T, l Line) {
				assert.Equal(t, &ResponseInfo{StatusCode: 201, Content: ptr("")}, l.Response)
			},
		},
		{
			name:     "null optional fields are absent",
			line:     `{"custom_id":"row-1","response":{"status_code":200,"request_id":null,"body":{"model":null,"usage":{"prompt_tokens":null,"total_tokens":3},"choices":[{"finish_reason":null,"content_filter_results":null,"message":{"content":"x","refusal":null}}]}},"error":null}`,
			outcome:  Response,
			customID: "row-1",
			check: func(t *testing.T, l Line) {
				assert.Equal(t, &ResponseInfo{StatusCode: 200, Content: ptr("x"), Usage: &Usage{TotalTokens: ptr(int64(3))}}, l.Response)
			},
		},
		{
			name:     "finish_reason content_filter",
			line:     `{"custom_id":"row-2","response":{"status_code":200,"body":{"choices":[{"finish_reason":"content_filter","message":{"content":"partial"},"content_filter_results":{"hate":{"filtered":true,"severity":"high"}}}]}}}`,
			outcome:  ContentFiltered,
			customID: "row-2",
			check: func(t *testing.T, l Line) {
				assert.Equal(t, "partial", *l.Response.Content)
				assert.JSONEq(t, `{"hate":{"filtered":true,"severity":"high"}}`, string(l.Response.ContentFilterResults))
			},
		},
		{
			name:     "null content with choice filtered",
			line:     `{"custom_id":"row-3","response":{"status_code":200,"body":{"choices":[{"finish_reason":"stop","message":{"content":null},"content_filter_results":{"violence":{"filtered":true}}}]}}}`,
			outcome:  ContentFiltered,
			customID: "row-3",
			check:    func(t *testing.T, l Line) { assert.Nil(t, l.Response.Content) },
		},
		{
			name:     "null content with prompt filtered",
			line:     `{"custom_id":"row-3","response":{"status_code":200,"body":{"prompt_filter_results":[{"prompt_index":0,"content_filter_results":{"jailbreak":{"filtered":true,"detected":true}}}],"choices":[{"message":{}}]}}}`,
			outcome:  ContentFiltered,
			customID: "row-3",
		},
		{
			name:     "null content, nothing filtered",
			line:     `{"custom_id":"row-4","response":{"status_code":200,"body":{"choices":[{"message":{"content":null},"content_filter_results":{"hate":{"filtered":false}}}]}}}`,
			outcome:  InvalidResponse,
			problem:  "choices[0].message.content is null or missing",
			customID: "row-4",
			check:    func(t *testing.T, l Line) { assert.Equal(t, 200, l.Response.StatusCode) },
		},
		{
			name:     "null content with refusal",
			line:     `{"custom_id":"row-4","response":{"status_code":200,"body":{"choices":[{"message":{"content":null,"refusal":"I can't"}}]}}}`,
			outcome:  InvalidResponse,
			problem:  "choices[0].message.content is null (refusal present)",
			customID: "row-4",
			check:    func(t *testing.T, l Line) { assert.Equal(t, "I can't", *l.Response.Refusal) },
		},
		{
			name:     "400 content_filter error",
			line:     `{"custom_id":"row-5","response":{"status_code":400,"request_id":"r5","body":{"error":{"code":"content_filter","message":"filtered","param":"prompt","status":400,"innererror":{"code":"ResponsibleAIPolicyViolation"}}}},"error":null}`,
			outcome:  ContentFiltered,
			customID: "row-5",
			check: func(t *testing.T, l Line) {
				assert.Equal(t, &Error{StatusCode: ptr(400), Code: ptr("content_filter"), Message: ptr("filtered"), Param: ptr("prompt")}, l.Error)
				assert.Equal(t, &ResponseInfo{StatusCode: 400, RequestID: ptr("r5")}, l.Response)
			},
		},
		{
			name:     "429 api error",
			line:     `{"custom_id":"row-6","response":{"status_code":429,"body":{"error":{"code":"rate_limit_exceeded","message":"slow down"}}}}`,
			outcome:  APIError,
			customID: "row-6",
			check: func(t *testing.T, l Line) {
				assert.Equal(t, &Error{StatusCode: ptr(429), Code: ptr("rate_limit_exceeded"), Message: ptr("slow down")}, l.Error)
			},
		},
		{
			name:     "500 without body",
			line:     `{"custom_id":"row-7","response":{"status_code":500}}`,
			outcome:  APIError,
			customID: "row-7",
			check:    func(t *testing.T, l Line) { assert.Equal(t, &Error{StatusCode: ptr(500)}, l.Error) },
		},
		{
			name:     "500 with body without error",
			line:     `{"custom_id":"row-7","response":{"status_code":500,"body":{"statusCode":500,"message":"boom"}}}`,
			outcome:  APIError,
			customID: "row-7",
			check:    func(t *testing.T, l Line) { assert.Equal(t, &Error{StatusCode: ptr(500)}, l.Error) },
		},
		{
			name:     "batch_expired",
			line:     `{"custom_id":"row-8","response":null,"error":{"code":"batch_expired","message":"This request could not be executed before the completion window expired."}}`,
			outcome:  BatchExpired,
			customID: "row-8",
			check: func(t *testing.T, l Line) {
				assert.Nil(t, l.Response)
				assert.Nil(t, l.Error.StatusCode)
				assert.Equal(t, "batch_expired", *l.Error.Code)
			},
		},
		{
			name:     "batch_cancelled",
			line:     `{"custom_id":"row-9","error":{"code":"batch_cancelled","message":"cancelled"}}`,
			outcome:  BatchCancelled,
			customID: "row-9",
		},
		{
			name:     "other top-level error",
			line:     `{"custom_id":"row-10","response":null,"error":{"code":"server_error","message":"oops"}}`,
			outcome:  APIError,
			customID: "row-10",
		},
		{
			name:     "top-level error without code",
			line:     `{"custom_id":"row-10","error":{}}`,
			outcome:  APIError,
			customID: "row-10",
			check:    func(t *testing.T, l Line) { assert.Equal(t, &Error{}, l.Error) },
		},
		{
			name:     "top-level content_filter error",
			line:     `{"custom_id":"row-10","error":{"code":"content_filter","message":"m","param":null}}`,
			outcome:  ContentFiltered,
			customID: "row-10",
			check: func(t *testing.T, l Line) {
				assert.Equal(t, &Error{Code: ptr("content_filter"), Message: ptr("m")}, l.Error)
			},
		},
		{name: "error.message not string", line: `{"custom_id":"row-1","error":{"code":"x","message":{}}}`, outcome: InvalidResponse, problem: "error.message is not a string", customID: "row-1"},
		{name: "error.param not string", line: `{"custom_id":"row-1","error":{"param":1}}`, outcome: InvalidResponse, problem: "error.param is not a string", customID: "row-1"},
		{name: "body.error.code not string", line: `{"custom_id":"row-1","response":{"status_code":400,"body":{"error":{"code":400}}}}`, outcome: InvalidResponse, problem: "body.error.code is not a string", customID: "row-1"},
		{name: "body.error.param not string", line: `{"custom_id":"row-1","response":{"status_code":400,"body":{"error":{"code":"x","message":"m","param":[]}}}}`, outcome: InvalidResponse, problem: "body.error.param is not a string", customID: "row-1"},
		{name: "escaped strings", line: `{"custom_id":"row-\u0031","response":{"status_code":200,"body":{"choices":[{"message":{"content":"a\"b\n\u00e9"}}]}}}`, outcome: Response, customID: "row-1",
			check: func(t *testing.T, l Line) { assert.Equal(t, "a\"b\né", *l.Response.Content) }},
		{name: "not JSON", line: `hello`, outcome: InvalidResponse, problem: "not JSON"},
		{name: "truncated keeps custom_id", line: `{"custom_id":"row-11","response":{"status_co`, outcome: InvalidResponse, problem: "not JSON", customID: "row-11"},
		{name: "array", line: `[{"custom_id":"row-1"}]`, outcome: InvalidResponse, problem: "not a JSON object"},
		{name: "trailing data", line: `{"custom_id":"row-1","error":{}} {}`, outcome: InvalidResponse, problem: "not JSON: data after the object", customID: "row-1"},
		{name: "invalid UTF-8", line: "{\"custom_id\":\"row-1\",\"error\":{\"message\":\"\xff\"}}", outcome: InvalidResponse, problem: "not valid UTF-8"},
		{name: "missing custom_id", line: `{"response":{"status_code":500}}`, outcome: InvalidResponse, problem: "missing custom_id"},
		{name: "null custom_id", line: `{"custom_id":null,"response":{"status_code":500}}`, outcome: InvalidResponse, problem: "missing custom_id"},
		{name: "empty custom_id", line: `{"custom_id":"","response":{"status_code":500}}`, outcome: InvalidResponse, problem: "empty custom_id"},
		{name: "numeric custom_id", line: `{"custom_id":1,"response":{"status_code":500}}`, outcome: InvalidResponse, problem: "custom_id is not a string"},
		{name: "duplicate custom_id key", line: `{"custom_id":"row-1","custom_id":"row-2","error":{}}`, outcome: InvalidResponse, problem: `duplicate key "custom_id"`},
		{name: "duplicate other key", line: `{"custom_id":"row-1","error":{},"error":{}}`, outcome: InvalidResponse, problem: `duplicate key "error"`, customID: "row-1"},
		{name: "both", line: `{"custom_id":"row-1","response":{"status_code":500},"error":{"code":"x"}}`, outcome: InvalidResponse, problem: "both response and error", customID: "row-1"},
		{name: "neither", line: `{"custom_id":"row-1","response":null,"error":null}`, outcome: InvalidResponse, problem: "neither response nor error", customID: "row-1"},
		{name: "neither, absent", line: `{"custom_id":"row-1"}`, outcome: InvalidResponse, problem: "neither response nor error", customID: "row-1"},
		{name: "response not object", line: `{"custom_id":"row-1","response":"ok"}`, outcome: InvalidResponse, problem: "response: not a JSON object", customID: "row-1"},
		{name: "error not object", line: `{"custom_id":"row-1","error":"bad"}`, outcome: InvalidResponse, problem: "error: not a JSON object", customID: "row-1"},
		{name: "error code not string", line: `{"custom_id":"row-1","error":{"code":5}}`, outcome: InvalidResponse, problem: "error.code is not a string", customID: "row-1"},
		{name: "status missing", line: `{"custom_id":"row-1","response":{` + okBody + `}}`, outcome: InvalidResponse, problem: "response.status_code missing", customID: "row-1"},
		{name: "status string", line: `{"custom_id":"row-1","response":{"status_code":"200",` + okBody + `}}`, outcome: InvalidResponse, problem: "response.status_code is not an integer", customID: "row-1"},
		{name: "status float", line: `{"custom_id":"row-1","response":{"status_code":200.0,` + okBody + `}}`, outcome: InvalidResponse, problem: "response.status_code is not an integer", customID: "row-1"},
		{name: "status out of range", line: `{"custom_id":"row-1","response":{"status_code":42,` + okBody + `}}`, outcome: InvalidResponse, problem: "response.status_code 42 is not an HTTP status", customID: "row-1"},
		{name: "status huge", line: `{"custom_id":"row-1","response":{"status_code":99999999999999999999}}`, outcome: InvalidResponse, problem: "response.status_code is not an integer", customID: "row-1"},
		{name: "request_id not string", line: `{"custom_id":"row-1","response":{"status_code":200,"request_id":7,` + okBody + `}}`, outcome: InvalidResponse, problem: "response.request_id is not a string", customID: "row-1"},
		{name: "2xx body missing", line: `{"custom_id":"row-1","response":{"status_code":200}}`, outcome: InvalidResponse, problem: "response.body missing", customID: "row-1"},
		{name: "2xx body not object", line: `{"custom_id":"row-1","response":{"status_code":200,"body":"hi"}}`, outcome: InvalidResponse, problem: "response.body: not a JSON object", customID: "row-1"},
		{
			name: "choices missing keeps what was read", line: `{"custom_id":"row-1","response":{"status_code":200,"request_id":"r","body":{"model":"m","usage":{"prompt_tokens":5}}}}`,
			outcome: InvalidResponse, problem: "choices missing", customID: "row-1",
			check: func(t *testing.T, l Line) {
				assert.Equal(t, &ResponseInfo{StatusCode: 200, RequestID: ptr("r"), Model: ptr("m"), Usage: &Usage{PromptTokens: ptr(int64(5))}}, l.Response)
			},
		},
		{name: "choices empty", line: `{"custom_id":"row-1","response":{"status_code":200,"body":{"choices":[]}}}`, outcome: InvalidResponse, problem: "choices empty", customID: "row-1"},
		{name: "choices not array", line: `{"custom_id":"row-1","response":{"status_code":200,"body":{"choices":{}}}}`, outcome: InvalidResponse, problem: "choices is not an array", customID: "row-1"},
		{name: "choice not object", line: `{"custom_id":"row-1","response":{"status_code":200,"body":{"choices":[1]}}}`, outcome: InvalidResponse, problem: "choices[0]: not a JSON object", customID: "row-1"},
		{name: "message missing", line: `{"custom_id":"row-1","response":{"status_code":200,"body":{"choices":[{"finish_reason":"stop"}]}}}`, outcome: InvalidResponse, problem: "choices[0].message missing", customID: "row-1"},
		{name: "content not string", line: `{"custom_id":"row-1","response":{"status_code":200,"body":{"choices":[{"message":{"content":[1]}}]}}}`, outcome: InvalidResponse, problem: "choices[0].message.content is not a string", customID: "row-1"},
		{name: "usage negative", line: `{"custom_id":"row-1","response":{"status_code":200,"body":{"usage":{"total_tokens":-1},"choices":[{"message":{"content":"x"}}]}}}`, outcome: InvalidResponse, problem: "body.usage.total_tokens is negative", customID: "row-1"},
		{name: "usage not object", line: `{"custom_id":"row-1","response":{"status_code":200,"body":{"usage":3,"choices":[{"message":{"content":"x"}}]}}}`, outcome: InvalidResponse, problem: "body.usage: not a JSON object", customID: "row-1"},
		{name: "error body not object", line: `{"custom_id":"row-1","response":{"status_code":500,"body":[]}}`, outcome: InvalidResponse, problem: "response.body: not a JSON object", customID: "row-1"},
		{name: "error body.error not object", line: `{"custom_id":"row-1","response":{"status_code":500,"body":{"error":"x"}}}`, outcome: InvalidResponse, problem: "body.error: not a JSON object", customID: "row-1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			data := []byte(tt.line + "\n")
			lines := ParseFile(SourceError, data)
			require.Len(t, lines, 1)
			l := lines[0]
			checkRanges(t, data, lines)
			assert.Equal(t, SourceError, l.Source)
			assert.Equal(t, 1, l.LineNo)
			assert.Equal(t, int64(len(tt.line)), l.Length)
			assert.Equal(t, tt.outcome, l.Outcome)
			assert.Equal(t, tt.customID, l.CustomID)
			if tt.problem == "" {
				assert.Empty(t, l.Problem)
			} else {
				assert.Contains(t, l.Problem, tt.problem)
			}
			if tt.check != nil {
				tt.check(t, l)
			}
		})
	}
}

func TestParseFileLayout(t *testing.T) {
	doc := docsLine(t)
	tests := []struct {
		name    string
		data    []byte
		lineNos []int
		raws    []string
	}{
		{"empty", nil, nil, nil},
		{"only blank lines", []byte("\n\r\n  \n"), nil, nil},
		{
			"CRLF, blank lines, no final newline",
			[]byte("\r\n" + `{"custom_id":"a","error":{}}` + "\r\n\n" + `{"custom_id":"b","error":{}}`),
			[]int{2, 4},
			[]string{`{"custom_id":"a","error":{}}`, `{"custom_id":"b","error":{}}`},
		},
		{
			"BOM tolerated",
			append([]byte("\xEF\xBB\xBF"), append(append([]byte{}, doc...), "\n"...)...),
			[]int{1},
			[]string{string(doc)},
		},
		{
			"lone CR before EOF",
			[]byte(`{"custom_id":"a","error":{}}` + "\r"),
			[]int{1},
			[]string{`{"custom_id":"a","error":{}}`},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			lines := ParseFile(SourceOutput, tt.data)
			require.Len(t, lines, len(tt.lineNos))
			checkRanges(t, tt.data, lines)
			for i, l := range lines {
				assert.Equal(t, tt.lineNos[i], l.LineNo)
				assert.Equal(t, tt.raws[i], string(tt.data[l.Offset:l.Offset+l.Length]))
				assert.Empty(t, l.Problem)
			}
		})
	}
}

func TestLineJSON(t *testing.T) {
	lines := ParseFile(SourceOutput, []byte(`{"custom_id":"row-1","response":{"status_code":500}}`))
	require.Len(t, lines, 1)
	b, err := json.Marshal(lines[0])
	require.NoError(t, err)
	assert.JSONEq(t, `{"source":"output","line_no":1,"offset":0,"length":52,"sha256":"`+lines[0].SHA256+
		`","custom_id":"row-1","outcome":"api_error","response":{"status_code":500},"error":{"status_code":500}}`, string(b))
}

// FuzzParseFile checks that Azure's data can never make ParseFile panic or
// return a range that does not slice the input.
func FuzzParseFile(f *testing.F) {
	f.Add([]byte(`{"custom_id":"row-1","response":{"status_code":200,"body":{"choices":[{"message":{"content":"x"}}]}}}`))
	f.Add([]byte("{\"custom_id\":\"a\",\"error\":{\"code\":\"batch_expired\"}}\r\n\n[]\n{"))
	f.Add([]byte(`{"custom_id":"a","response":{"status_code":400,"body":{"error":{"code":"content_filter"}}}}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		for _, l := range ParseFile(SourceOutput, data) {
			if l.Offset < 0 || l.Length < 0 || l.Offset+l.Length > int64(len(data)) {
				t.Fatalf("line %d range %d+%d outside %d bytes", l.LineNo, l.Offset, l.Length, len(data))
			}
			if hashOf(data[l.Offset:l.Offset+l.Length]) != l.SHA256 {
				t.Fatalf("line %d hash mismatch", l.LineNo)
			}
			if l.Outcome == "" || (l.Outcome == InvalidResponse) != (l.Problem != "") {
				t.Fatalf("line %d: outcome %q problem %q", l.LineNo, l.Outcome, l.Problem)
			}
		}
	})
}

// FuzzMembers checks the scanner against encoding/json on valid objects.
func FuzzMembers(f *testing.F) {
	f.Add([]byte(`{"a":1,"b":[1,{"c":"]}"}],"d":"x\"y","e\u0041":null, "f" : true }`))
	f.Add([]byte(`{}`))
	f.Add([]byte(` [1] `))
	f.Fuzz(func(t *testing.T, raw []byte) {
		if !json.Valid(raw) {
			return
		}
		got, problem := members(raw)
		var want map[string]json.RawMessage
		if err := json.Unmarshal(raw, &want); err != nil {
			if problem != "not a JSON object" {
				t.Fatalf("members(%q) problem %q, encoding/json: %v", raw, problem, err)
			}
			return
		}
		if problem != "" {
			if !strings.HasPrefix(problem, "duplicate key") {
				t.Fatalf("members(%q) problem %q", raw, problem)
			}
			return
		}
		if len(got) != len(want) {
			t.Fatalf("members(%q) = %d members, want %d", raw, len(got), len(want))
		}
		for k, v := range want {
			if !bytes.Equal(bytes.TrimSpace(got[k]), bytes.TrimSpace(v)) {
				t.Fatalf("members(%q)[%q] = %q, want %q", raw, k, got[k], v)
			}
		}
	})
}
