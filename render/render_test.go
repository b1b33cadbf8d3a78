package render

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/batchledger/batchledger/outcome"
)

func ptr[T any](v T) *T { return &v }

func mustParse(t *testing.T, name, data string) Input {
	t.Helper()
	in, err := ParseInput(name, []byte(data), "")
	require.NoError(t, err)
	return in
}

// checkLines verifies that Lines index JSONL exactly: each range slices one
// line without its "\n", hashes match, and nothing else is in the file.
func checkLines(t *testing.T, out Output) {
	t.Helper()
	var pos int64
	for i, l := range out.Lines {
		require.Equal(t, pos, l.Offset, "line %d offset", i)
		line := out.JSONL[l.Offset : l.Offset+l.Length]
		assert.NotContains(t, string(line), "\n")
		require.Equal(t, byte('\n'), out.JSONL[l.Offset+l.Length], "line %d terminator", i)
		assert.Equal(t, hashOf(string(line)), l.SHA256, "line %d sha", i)
		assert.True(t, json.Valid(line), "line %d is JSON", i)
		assert.Equal(t, CustomID(l.RowIndex), l.CustomID)
		pos = l.Offset + l.Length + 1
	}
	assert.Equal(t, int64(len(out.JSONL)), pos, "no bytes outside the lines")
}

func TestRenderExactLine(t *testing.T) {
	tests := []struct {
		name   string
		params Params
		want   string
	}{
		{
			name: "all fields, no HTML escaping, newline escaped",
			params: Params{
				Template: "Tell me about {{.name}}\nin {{.n}} words", TemplateName: "p.tmpl",
				SystemPrompt: "Be <brief> & kind", Deployment: "gpt-4o-batch",
				Temperature: ptr(0.2), MaxTokens: ptr(int64(100)),
			},
			want: `{"custom_id":"row-1","method":"POST","url":"/chat/completions","body":{"model":"gpt-4o-batch",` +
				`"messages":[{"role":"system","content":"Be <brief> & kind"},{"role":"user","content":"Tell me about Ann \"A\" <b>\nin 5 words"}],` +
				`"temperature":0.2,"max_tokens":100}}`,
		},
		{
			name:   "optional fields omitted",
			params: Params{Template: "{{.name}}", Deployment: "d"},
			want:   `{"custom_id":"row-1","method":"POST","url":"/chat/completions","body":{"model":"d","messages":[{"role":"user","content":"Ann \"A\" <b>"}]}}`,
		},
		{
			name:   "zero temperature is sent, not omitted",
			params: Params{Template: "x", Deployment: "d", Temperature: ptr(0.0), MaxTokens: ptr(int64(1))},
			want:   `{"custom_id":"row-1","method":"POST","url":"/chat/completions","body":{"model":"d","messages":[{"role":"user","content":"x"}],"temperature":0,"max_tokens":1}}`,
		},
	}
	in := mustParse(t, "rows.csv", "name,n\n\"Ann \"\"A\"\" <b>\",5\n")
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out, err := Render(in, tt.params)
			require.NoError(t, err)
			assert.Equal(t, tt.want+"\n", string(out.JSONL))
			require.Len(t, out.Lines, 1)
			checkLines(t, out)
			assert.Empty(t, out.Errors)
			assert.Equal(t, hashOf(tt.params.Template), out.TemplateSHA256)
		})
	}
}

func TestRenderPromptHash(t *testing.T) {
	in := mustParse(t, "rows.jsonl", "{\"q\":\"line1\\nline2 \\u2028 é\"}\n{\"q\":7}\n")
	out, err := Render(in, Params{Template: "Q: {{.q}}", Deployment: "d"})
	require.NoError(t, err)
	require.Len(t, out.Lines, 2)
	checkLines(t, out)
	assert.Equal(t, hashOf("Q: line1\nline2 \u2028 é"), out.Lines[0].PromptSHA256)
	assert.Equal(t, hashOf("Q: 7"), out.Lines[1].PromptSHA256)

	// The prompt inside the request line is exactly the hashed text.
	var req struct {
		Body struct {
			Messages []struct{ Content string } `json:"messages"`
		} `json:"body"`
	}
	for i, l := range out.Lines {
		require.NoError(t, json.Unmarshal(out.JSONL[l.Offset:l.Offset+l.Length], &req))
		assert.Equal(t, l.PromptSHA256, hashOf(req.Body.Messages[len(req.Body.Messages)-1].Content), "line %d", i)
	}
}

func TestRenderRowErrors(t *testing.T) {
	tests := []struct {
		name      string
		file      string
		data      string
		tmpl      string
		wantLines []int // row indexes sent
		wantErrs  []RowError
	}{
		{
			name: "input errors are reported, rest sent",
			file: "rows.csv", data: "a,b\n1,2\n3\n4,5\n", tmpl: "{{.a}}{{.b}}",
			wantLines: []int{1, 3},
			wantErrs:  []RowError{{RowIndex: 2, Line: 3, Reason: ReasonInputError, Message: "rows.csv line 3: expected 2 fields, got 1"}},
		},
		{
			name: "missing key in a JSONL row is a template error",
			file: "rows.jsonl", data: "{\"a\":1,\"b\":2}\n\n{\"a\":3}\n", tmpl: "{{.a}}-{{.b}}",
			wantLines: []int{1},
			wantErrs: []RowError{{RowIndex: 2, Line: 3, Reason: ReasonTemplateError,
				Message: `p.tmpl:1:9: executing "p.tmpl" at <.b>: map has no entry for key "b"`}},
		},
		{
			name: "null value would print <no value>",
			file: "rows.jsonl", data: "{\"a\":null}\n{\"a\":\"ok\"}\n", tmpl: "A={{.a}}",
			wantLines: []int{2},
			wantErrs: []RowError{{RowIndex: 1, Line: 1, Reason: ReasonTemplateError,
				Message: `p.tmpl: rendered prompt contains "<no value>": a value it uses is null or missing`}},
		},
		{
			name: "index of a missing nested key would print <no value>",
			file: "rows.jsonl", data: "{\"o\":{}}\n", tmpl: `{{index .o "k"}}`,
			wantErrs: []RowError{{RowIndex: 1, Line: 1, Reason: ReasonTemplateError,
				Message: `p.tmpl: rendered prompt contains "<no value>": a value it uses is null or missing`}},
		},
		{
			name: "<no value> that the input really holds is fine",
			file: "rows.csv", data: "a\n<no value>\n", tmpl: "{{.a}}",
			wantLines: []int{1},
		},
		{
			name: "<no value> held deep inside the input is fine",
			file: "rows.jsonl", data: "{\"a\":null,\"b\":{\"c\":[1,\"<no value>\"]}}\n", tmpl: "{{.a}}",
			wantLines: []int{1},
		},
		{
			name: "prompt that is not valid UTF-8",
			file: "rows.csv", data: "a\né\n", tmpl: "{{slice .a 0 1}}",
			wantErrs: []RowError{{RowIndex: 1, Line: 2, Reason: ReasonTemplateError, Message: "p.tmpl: rendered prompt is not valid UTF-8"}},
		},
		{
			name: "no readable row: input errors, not unknown column",
			file: "rows.jsonl", data: "[1]\nnope\n", tmpl: "{{.a}}",
			wantErrs: []RowError{
				{RowIndex: 1, Line: 1, Reason: ReasonInputError, Message: "rows.jsonl line 1: not a JSON object (starts with an array)"},
				{RowIndex: 2, Line: 2, Reason: ReasonInputError, Message: "rows.jsonl line 2: invalid JSON: invalid character 'o' in literal null (expecting 'u')"},
			},
		},
		{
			name: "bad JSON line",
			file: "rows.jsonl", data: "{\"a\":1}\n{oops\n", tmpl: "{{.a}}",
			wantLines: []int{1},
			wantErrs: []RowError{{RowIndex: 2, Line: 2, Reason: ReasonInputError,
				Message: "rows.jsonl line 2: invalid JSON: invalid character 'o'"}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in := mustParse(t, tt.file, tt.data)
			out, err := Render(in, Params{Template: tt.tmpl, TemplateName: "p.tmpl", Deployment: "d"})
			require.NoError(t, err)
			checkLines(t, out)
			var sent []int
			for _, l := range out.Lines {
				sent = append(sent, l.RowIndex)
			}
			assert.Equal(t, tt.wantLines, sent)
			assert.Equal(t, tt.wantErrs, out.Errors)
			assert.Equal(t, len(in.Rows), len(out.Lines)+len(out.Errors), "every row accounted for")
		})
	}
}

func TestRenderErrors(t *testing.T) {
	in := mustParse(t, "rows.csv", "name\nAnn\n")
	ok := Params{Template: "{{.name}}", TemplateName: "p.tmpl", Deployment: "d"}
	tests := []struct {
		name    string
		in      Input
		mod     func(p *Params)
		wantErr string
	}{
		{"empty deployment", in, func(p *Params) { p.Deployment = " " }, "render rows.csv: deployment (body.model) is empty"},
		{"parse error", in, func(p *Params) { p.Template = "a\n{{if .name}}" }, "render rows.csv: p.tmpl:2: unexpected EOF"},
		{"unknown column", in, func(p *Params) { p.Template = "{{.nam}}" }, `render rows.csv: p.tmpl: unknown column "nam"`},
		{"empty template", in, func(p *Params) { p.Template = "" }, "p.tmpl: template is empty"},
		{"no rows", Input{Name: "x.csv", Columns: []string{"name"}}, func(*Params) {}, "render x.csv: no rows"},
		{"temperature too high", in, func(p *Params) { p.Temperature = ptr(2.5) }, "temperature 2.5 is outside [0, 2]"},
		{"temperature negative", in, func(p *Params) { p.Temperature = ptr(-0.1) }, "temperature -0.1 is outside [0, 2]"},
		{"max tokens zero", in, func(p *Params) { p.MaxTokens = ptr(int64(0)) }, "max_tokens 0 is less than 1"},
		{"system prompt not UTF-8", in, func(p *Params) { p.SystemPrompt = "\xff" }, "system prompt is not valid UTF-8"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := ok
			tt.mod(&p)
			_, err := Render(tt.in, p)
			require.ErrorContains(t, err, tt.wantErr)
		})
	}
}

func TestRenderDeterministic(t *testing.T) {
	data := "id,text,n\n1,\"multi\nline\",3\n2,plain,4\n3,bad\n4,\"<&>\",5\n"
	p := Params{Template: "{{.id}}: {{.text}} ({{.n}})", TemplateName: "p.tmpl", SystemPrompt: "sys", Deployment: "d", Temperature: ptr(0.7)}
	var first Output
	for i := range 3 {
		in, err := ParseInput("rows.csv", []byte(data), CSV)
		require.NoError(t, err)
		out, err := Render(in, p)
		require.NoError(t, err)
		if i == 0 {
			first = out
			continue
		}
		assert.True(t, bytes.Equal(first.JSONL, out.JSONL), "run %d JSONL differs", i)
		assert.Equal(t, first.Lines, out.Lines)
		assert.Equal(t, first.Errors, out.Errors)
	}
	assert.Equal(t, 3, len(first.Lines))
	assert.Equal(t, 3, strings.Count(string(first.JSONL), "\n"))
}

func TestCustomID(t *testing.T) {
	assert.Equal(t, "row-1", CustomID(1))
	assert.Equal(t, "row-42", CustomID(42))
	tests := []struct {
		in   string
		want int
		ok   bool
	}{
		{"row-1", 1, true},
		{"row-42", 42, true},
		{"row-100000", 100000, true},
		{"row-0", 0, false},
		{"row-01", 0, false},
		{"row--1", 0, false},
		{"row-+1", 0, false},
		{"row-", 0, false},
		{"row-1a", 0, false},
		{"row-99999999999999999999999", 0, false},
		{"Row-1", 0, false},
		{"task-0", 0, false},
		{"", 0, false},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, ok := ParseCustomID(tt.in)
			assert.Equal(t, tt.ok, ok)
			assert.Equal(t, tt.want, got)
			if ok {
				assert.Equal(t, tt.in, CustomID(got))
			}
		})
	}
}

func TestReasonsMatchOutcome(t *testing.T) {
	assert.Equal(t, outcome.TemplateError, ReasonTemplateError)
	assert.Equal(t, outcome.InputError, ReasonInputError)
}
