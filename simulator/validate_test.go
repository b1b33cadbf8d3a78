package simulator

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func writeTemp(t *testing.T, content string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "in.jsonl")
	require.NoError(t, os.WriteFile(p, []byte(content), 0o600))
	return p
}

const okLine = `{"custom_id":"%s","method":"POST","url":"/chat/completions","body":{"model":"m","messages":[{"role":"user","content":"x"}]}}`

func line(id string) string { return strings.Replace(okLine, "%s", id, 1) }

func TestParseLineRules(t *testing.T) {
	cases := []struct {
		name, line, code, param string
	}{
		{"valid", line("a"), "", ""},
		{"v1 url on plain endpoint", strings.Replace(line("a"), `"/chat/completions"`, `"/v1/chat/completions"`, 1), "", ""},
		{"not json", `nope`, "invalid_json_line", ""},
		{"array", `[1]`, "invalid_json_line", ""},
		{"blank", ``, "invalid_json_line", ""},
		{"numeric custom_id", strings.Replace(line("a"), `"a"`, `7`, 1), "invalid_request", "custom_id"},
		{"empty custom_id", line(""), "invalid_request", "custom_id"},
		{"GET", strings.Replace(line("a"), `"POST"`, `"GET"`, 1), "invalid_request", "method"},
		{"other url", strings.Replace(line("a"), `/chat/completions`, `/embeddings`, 1), "url_mismatch", "url"},
		{"body not object", `{"custom_id":"a","method":"POST","url":"/chat/completions","body":"x"}`, "invalid_request", "body"},
		{"no model", `{"custom_id":"a","method":"POST","url":"/chat/completions","body":{"messages":[]}}`, "invalid_request", "body.model"},
		{"messages not array", `{"custom_id":"a","method":"POST","url":"/chat/completions","body":{"model":"m","messages":{}}}`, "invalid_request", "body.messages"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, lerr := parseLine([]byte(tc.line), "/chat/completions")
			if tc.code == "" {
				assert.Nil(t, lerr)
				return
			}
			require.NotNil(t, lerr)
			assert.Equal(t, tc.code, lerr.code)
			assert.Equal(t, tc.param, lerr.param)
		})
	}
}

func TestValidateInputFileRules(t *testing.T) {
	t.Run("empty file", func(t *testing.T) {
		v, err := validateInput(writeTemp(t, ""), "/chat/completions", 10)
		require.NoError(t, err)
		require.Len(t, v.errors, 1)
		assert.Equal(t, "empty_file", v.errors[0].Code)
		assert.Nil(t, v.errors[0].Line)
	})
	t.Run("crlf and no final newline", func(t *testing.T) {
		v, err := validateInput(writeTemp(t, line("a")+"\r\n"+line("b")), "/chat/completions", 10)
		require.NoError(t, err)
		assert.Empty(t, v.errors)
		assert.Equal(t, 2, v.lines)
	})
	t.Run("too many lines", func(t *testing.T) {
		v, err := validateInput(writeTemp(t, strings.Repeat(line("a")+"\n", 4)), "/chat/completions", 3)
		require.NoError(t, err)
		require.Len(t, v.errors, 1)
		assert.Equal(t, "too_many_tasks", v.errors[0].Code)
	})
	t.Run("blank line inside", func(t *testing.T) {
		v, err := validateInput(writeTemp(t, line("a")+"\n\n"+line("b")+"\n"), "/chat/completions", 10)
		require.NoError(t, err)
		require.Len(t, v.errors, 1)
		assert.Equal(t, 2, *v.errors[0].Line)
	})
	t.Run("error list is capped", func(t *testing.T) {
		v, err := validateInput(writeTemp(t, strings.Repeat("x\n", maxReportedErrors+50)), "/chat/completions", 1000)
		require.NoError(t, err)
		assert.Len(t, v.errors, maxReportedErrors)
	})
}
