package render

import (
	"errors"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestCheck(t *testing.T) {
	tests := []struct {
		name    string
		tmpl    string
		columns []string
		wantErr []string // substrings; nil = no error
		notIn   []string // substrings the error must not contain
	}{
		{name: "plain field", tmpl: "Hello {{.name}}", columns: []string{"name"}},
		{name: "no references", tmpl: "Just text", columns: nil},
		{name: "whole row", tmpl: "{{.}}", columns: []string{"a"}},
		{name: "nested field checks root only", tmpl: "{{.obj.inner}}", columns: []string{"obj"}},
		{
			name: "unknown field names file, position and columns", tmpl: "Hi\n  {{.nme}}", columns: []string{"name", "age"},
			wantErr: []string{`prompt.tmpl: unknown column "nme" at prompt.tmpl:2:4 (input columns: name, age)`},
		},
		{
			name: "several unknown, each once", tmpl: "{{.x}}{{.y}}{{.x}}", columns: []string{"a"},
			wantErr: []string{`prompt.tmpl: unknown columns "x" at prompt.tmpl:1:2, "y" at prompt.tmpl:1:8 (input`},
		},
		{
			name: "no columns at all", tmpl: "{{.x}}", columns: nil,
			wantErr: []string{`"x"`, "input columns: none"},
		},
		{
			name: "parse error names file and line", tmpl: "line1\n{{.name", columns: []string{"name"},
			wantErr: []string{"prompt.tmpl:2: unclosed action"},
			notIn:   []string{"template: "},
		},
		{name: "empty template", tmpl: " \n\t", wantErr: []string{"prompt.tmpl: template is empty"}},
		{name: "invalid UTF-8 template", tmpl: "{{.a}}\xff", columns: []string{"a"}, wantErr: []string{"not valid UTF-8"}},
		{
			name: "if condition and both branches", tmpl: "{{if .flag}}{{.yes}}{{else}}{{.no}}{{end}}", columns: []string{"flag"},
			wantErr: []string{`"yes"`, `"no"`}, notIn: []string{`"flag"`},
		},
		{
			name: "range pipeline checked, body not", tmpl: "{{range .items}}{{.sub}}{{end}}", columns: []string{"items"},
		},
		{
			name: "range over unknown column", tmpl: "{{range .itemz}}{{.sub}}{{end}}", columns: []string{"items"},
			wantErr: []string{`"itemz"`}, notIn: []string{`"sub"`},
		},
		{
			name: "range else keeps row dot", tmpl: "{{range .items}}{{.sub}}{{else}}{{.none}}{{end}}", columns: []string{"items"},
			wantErr: []string{`"none"`}, notIn: []string{`"sub"`},
		},
		{
			name: "with body not checked, else is", tmpl: "{{with .obj}}{{.inner}}{{else}}{{.missing}}{{end}}", columns: []string{"obj"},
			wantErr: []string{`"missing"`}, notIn: []string{`"inner"`},
		},
		{
			name: "else with chain", tmpl: "{{with .a}}{{.z}}{{else with .b}}{{.y}}{{else}}{{.c}}{{end}}", columns: []string{"a", "b", "c"},
		},
		{
			name: "dollar is the row inside range", tmpl: "{{range .items}}{{$.zz}}{{$.items}}{{end}}", columns: []string{"items"},
			wantErr: []string{`"zz"`}, notIn: []string{`"items"`},
		},
		{
			name: "index on row", tmpl: `{{index . "first name"}} {{index $ "age"}}`, columns: []string{"first name", "age"},
		},
		{
			name: "index unknown key", tmpl: `{{index . "nope"}}`, columns: []string{"a"},
			wantErr: []string{`"nope"`},
		},
		{
			name: "index under range is not the row", tmpl: `{{range .items}}{{index . "k"}}{{end}}`, columns: []string{"items"},
		},
		{
			name: "pipelines and parenthesised args", tmpl: `{{.a | printf "%s"}} {{printf "%s-%s" (.b) (len .c)}}`, columns: []string{"a"},
			wantErr: []string{`"b"`, `"c"`}, notIn: []string{`"a"`},
		},
		{
			name: "variables", tmpl: `{{$v := .a}}{{$v.k}}{{$w := .zz}}`, columns: []string{"a"},
			wantErr: []string{`"zz"`}, notIn: []string{`"k"`},
		},
		{
			name: "defined template given the row", tmpl: `{{define "x"}}{{.q}}{{template "x" .}}{{end}}{{template "x" .}}`, columns: []string{"a"},
			wantErr: []string{`"q"`},
		},
		{
			name: "defined template given a field", tmpl: `{{define "x"}}{{.q}}{{end}}{{template "x" .a}}`, columns: []string{"a"},
		},
		{
			name: "template without data, and given $", tmpl: `{{define "x"}}{{.q}}{{end}}{{define "y"}}{{.r}}{{end}}{{template "x"}}{{range .a}}{{template "y" $}}{{end}}`, columns: []string{"a"},
			wantErr: []string{`"r"`}, notIn: []string{`"q"`},
		},
		{
			name: "chain on dot", tmpl: `{{(.).zz}} {{($).yy}} {{(.a).b}}`, columns: []string{"a"},
			wantErr: []string{`"zz"`, `"yy"`}, notIn: []string{`"b"`},
		},
		{
			name: "block", tmpl: `{{block "b" .}}{{.q}}{{end}}`, columns: []string{"a"},
			wantErr: []string{`"q"`},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := Check(tt.tmpl, "prompt.tmpl", tt.columns)
			if tt.wantErr == nil {
				require.NoError(t, err)
				return
			}
			require.Error(t, err)
			for _, s := range tt.wantErr {
				assert.Contains(t, err.Error(), s)
			}
			for _, s := range tt.notIn {
				assert.NotContains(t, err.Error(), s)
			}
		})
	}
}

func TestCheckParseErrorUnwraps(t *testing.T) {
	err := Check("{{", "p.tmpl", nil)
	require.Error(t, err)
	require.Error(t, errors.Unwrap(err))
	assert.Contains(t, errors.Unwrap(err).Error(), "template: p.tmpl:1:")
}

func TestCheckDefaultName(t *testing.T) {
	err := Check("{{.x}}", "", nil)
	require.EqualError(t, err, `template: unknown column "x" at template:1:2 (input columns: none)`)
}
