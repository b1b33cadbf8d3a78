package render

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func hashOf(s string) string {
	sum := sha256.Sum256([]byte(s))
	return hex.EncodeToString(sum[:])
}

// wantRow is what a test expects of one Row; Raw is the exact text its byte
// range must slice out of the input.
type wantRow struct {
	Line int
	Raw  string
	Vars map[string]any // nil when Err is expected
	Err  string         // substring; "" = no error
}

// checkRows verifies every row against want, including that the byte range
// slices data to exactly Raw and that the hashes are of exactly those bytes.
func checkRows(t *testing.T, data []byte, rows []Row, want []wantRow) {
	t.Helper()
	require.Len(t, rows, len(want))
	for i, w := range want {
		r := rows[i]
		assert.Equal(t, i+1, r.Index, "row %d index", i)
		assert.Equal(t, w.Line, r.Line, "row %d line", i)
		got := string(data[r.Offset : r.Offset+r.Length])
		assert.Equal(t, w.Raw, got, "row %d raw bytes", i)
		assert.Equal(t, hashOf(w.Raw), r.SHA256, "row %d sha256", i)
		if w.Err != "" {
			require.Error(t, r.Err, "row %d", i)
			assert.Contains(t, r.Err.Error(), w.Err, "row %d", i)
			assert.Nil(t, r.Vars)
			assert.Empty(t, r.VarsSHA256)
			continue
		}
		require.NoError(t, r.Err, "row %d", i)
		assert.Equal(t, w.Vars, r.Vars, "row %d vars", i)
		canon, err := CanonicalVarsJSON(r.Vars)
		require.NoError(t, err)
		assert.Equal(t, hashOf(string(canon)), r.VarsSHA256, "row %d vars sha", i)
	}
}

func TestDetectFormat(t *testing.T) {
	tests := []struct {
		name    string
		want    Format
		wantErr string
	}{
		{"rows.csv", CSV, ""},
		{"dir/ROWS.CSV", CSV, ""},
		{"rows.jsonl", JSONL, ""},
		{"rows.ndjson", JSONL, ""},
		{"rows.json-lines", JSONL, ""},
		{"rows.json", "", `rows.json: unsupported extension ".json"`},
		{"rows", "", "rows: no file extension"},
		{"rows.txt", "", "unsupported extension"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := DetectFormat(tt.name)
			if tt.wantErr != "" {
				require.ErrorContains(t, err, tt.wantErr)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tt.want, got)
		})
	}
}

func TestParseInputCSV(t *testing.T) {
	tests := []struct {
		name    string
		data    string
		columns []string
		rows    []wantRow
	}{
		{
			name:    "simple",
			data:    "a,b\n1,2\n3,4\n",
			columns: []string{"a", "b"},
			rows: []wantRow{
				{Line: 2, Raw: "1,2", Vars: map[string]any{"a": "1", "b": "2"}},
				{Line: 3, Raw: "3,4", Vars: map[string]any{"a": "3", "b": "4"}},
			},
		},
		{
			name:    "CRLF",
			data:    "a,b\r\n1,2\r\n3,4\r\n",
			columns: []string{"a", "b"},
			rows: []wantRow{
				{Line: 2, Raw: "1,2", Vars: map[string]any{"a": "1", "b": "2"}},
				{Line: 3, Raw: "3,4", Vars: map[string]any{"a": "3", "b": "4"}},
			},
		},
		{
			name:    "BOM stripped, offsets into original",
			data:    "\xEF\xBB\xBFa,b\n1,2\n",
			columns: []string{"a", "b"},
			rows:    []wantRow{{Line: 2, Raw: "1,2", Vars: map[string]any{"a": "1", "b": "2"}}},
		},
		{
			name:    "quoted newline spans lines",
			data:    "id,text\n1,\"hello\nworld\"\n2,x\n",
			columns: []string{"id", "text"},
			rows: []wantRow{
				{Line: 2, Raw: "1,\"hello\nworld\"", Vars: map[string]any{"id": "1", "text": "hello\nworld"}},
				{Line: 4, Raw: "2,x", Vars: map[string]any{"id": "2", "text": "x"}},
			},
		},
		{
			name:    "quoted CRLF kept raw, value normalised",
			data:    "id,text\r\n1,\"a\r\nb\"\r\n2,x\r\n",
			columns: []string{"id", "text"},
			rows: []wantRow{
				{Line: 2, Raw: "1,\"a\r\nb\"", Vars: map[string]any{"id": "1", "text": "a\nb"}},
				{Line: 4, Raw: "2,x", Vars: map[string]any{"id": "2", "text": "x"}},
			},
		},
		{
			name:    "escaped quotes and commas",
			data:    "q,n\n\"say \"\"hi\"\", ok\",1\n",
			columns: []string{"q", "n"},
			rows:    []wantRow{{Line: 2, Raw: "\"say \"\"hi\"\", ok\",1", Vars: map[string]any{"q": "say \"hi\", ok", "n": "1"}}},
		},
		{
			name:    "blank and whitespace lines skipped, no final newline",
			data:    "a,b\n\n1,2\n   \n\r\n3,4",
			columns: []string{"a", "b"},
			rows: []wantRow{
				{Line: 3, Raw: "1,2", Vars: map[string]any{"a": "1", "b": "2"}},
				{Line: 6, Raw: "3,4", Vars: map[string]any{"a": "3", "b": "4"}},
			},
		},
		{
			name:    "blank lines before header",
			data:    "\n\na\nx\n",
			columns: []string{"a"},
			rows:    []wantRow{{Line: 4, Raw: "x", Vars: map[string]any{"a": "x"}}},
		},
		{
			name:    "lone CR before EOF is not row text",
			data:    "a\n1\r",
			columns: []string{"a"},
			rows:    []wantRow{{Line: 2, Raw: "1", Vars: map[string]any{"a": "1"}}},
		},
		{
			name:    "header names trimmed, values not",
			data:    " a , b \n 1 , 2 \n",
			columns: []string{"a", "b"},
			rows:    []wantRow{{Line: 2, Raw: " 1 , 2 ", Vars: map[string]any{"a": " 1 ", "b": " 2 "}}},
		},
		{
			name:    "wrong field count is a row error, rest go on",
			data:    "a,b,c\n1,2,3\n4,5\n6,7,8,9\n10,11,12\n",
			columns: []string{"a", "b", "c"},
			rows: []wantRow{
				{Line: 2, Raw: "1,2,3", Vars: map[string]any{"a": "1", "b": "2", "c": "3"}},
				{Line: 3, Raw: "4,5", Err: "rows.csv line 3: expected 3 fields, got 2"},
				{Line: 4, Raw: "6,7,8,9", Err: "rows.csv line 4: expected 3 fields, got 4"},
				{Line: 5, Raw: "10,11,12", Vars: map[string]any{"a": "10", "b": "11", "c": "12"}},
			},
		},
		{
			name:    "bare quote is a row error",
			data:    "a,b\n1,x\"y\n2,3\n",
			columns: []string{"a", "b"},
			rows: []wantRow{
				{Line: 2, Raw: "1,x\"y", Err: "rows.csv line 2: bare \" in non-quoted-field"},
				{Line: 3, Raw: "2,3", Vars: map[string]any{"a": "2", "b": "3"}},
			},
		},
		{
			name:    "unterminated quote runs to EOF",
			data:    "a,b\n1,2\n3,\"open\nmore\n",
			columns: []string{"a", "b"},
			rows: []wantRow{
				{Line: 2, Raw: "1,2", Vars: map[string]any{"a": "1", "b": "2"}},
				{Line: 3, Raw: "3,\"open\nmore", Err: "rows.csv line 3: extraneous or missing \" in quoted-field"},
			},
		},
		{
			name:    "invalid UTF-8 is a row error",
			data:    "a\n\xff\xfe\nok\n",
			columns: []string{"a"},
			rows: []wantRow{
				{Line: 2, Raw: "\xff\xfe", Err: "rows.csv line 2: not valid UTF-8"},
				{Line: 3, Raw: "ok", Vars: map[string]any{"a": "ok"}},
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			data := []byte(tt.data)
			in, err := ParseInput("rows.csv", data, CSV)
			require.NoError(t, err)
			assert.Equal(t, "rows.csv", in.Name)
			assert.Equal(t, CSV, in.Format)
			assert.Equal(t, tt.columns, in.Columns)
			checkRows(t, data, in.Rows, tt.rows)
		})
	}
}

func TestParseInputJSONL(t *testing.T) {
	num := func(s string) json.Number { return json.Number(s) }
	tests := []struct {
		name    string
		data    string
		columns []string
		rows    []wantRow
	}{
		{
			name:    "union of keys in first-seen order, numbers as json.Number",
			data:    "{\"b\":1,\"a\":\"x\"}\n{\"c\":true,\"a\":\"y\",\"d\":{\"k\":[1,null]}}\n",
			columns: []string{"b", "a", "c", "d"},
			rows: []wantRow{
				{Line: 1, Raw: `{"b":1,"a":"x"}`, Vars: map[string]any{"b": num("1"), "a": "x"}},
				{Line: 2, Raw: `{"c":true,"a":"y","d":{"k":[1,null]}}`, Vars: map[string]any{
					"c": true, "a": "y", "d": map[string]any{"k": []any{num("1"), nil}},
				}},
			},
		},
		{
			name:    "CRLF, blank lines, BOM, no final newline",
			data:    "\xEF\xBB\xBF{\"a\":1}\r\n\r\n  \n{\"a\":2.50}",
			columns: []string{"a"},
			rows: []wantRow{
				{Line: 1, Raw: `{"a":1}`, Vars: map[string]any{"a": num("1")}},
				{Line: 4, Raw: `{"a":2.50}`, Vars: map[string]any{"a": num("2.50")}},
			},
		},
		{
			name:    "bad lines are row errors",
			data:    "{\"a\":1}\n{\"a\":\n[1,2]\n\"s\"\n{\"a\":1}{}\n{\"a\":1,\"a\":2}\n{\"a\":\"\xff\"}\n{}\n",
			columns: []string{"a"},
			rows: []wantRow{
				{Line: 1, Raw: `{"a":1}`, Vars: map[string]any{"a": num("1")}},
				{Line: 2, Raw: `{"a":`, Err: "rows.jsonl line 2: invalid JSON"},
				{Line: 3, Raw: `[1,2]`, Err: "rows.jsonl line 3: not a JSON object (starts with an array)"},
				{Line: 4, Raw: `"s"`, Err: "rows.jsonl line 4: not a JSON object (starts with a string)"},
				{Line: 5, Raw: `{"a":1}{}`, Err: "rows.jsonl line 5: invalid JSON: data after the object"},
				{Line: 6, Raw: `{"a":1,"a":2}`, Err: `rows.jsonl line 6: duplicate key "a"`},
				{Line: 7, Raw: "{\"a\":\"\xff\"}", Err: "rows.jsonl line 7: not valid UTF-8"},
				{Line: 8, Raw: `{}`, Vars: map[string]any{}},
			},
		},
		{
			name: "every line bad still parses",
			data: "nope\n",
			rows: []wantRow{{Line: 1, Raw: "nope", Err: "rows.jsonl line 1: invalid JSON"}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			data := []byte(tt.data)
			in, err := ParseInput("rows.jsonl", data, JSONL)
			require.NoError(t, err)
			assert.Equal(t, JSONL, in.Format)
			assert.Equal(t, tt.columns, in.Columns)
			checkRows(t, data, in.Rows, tt.rows)
		})
	}
}

func TestParseInputErrors(t *testing.T) {
	tests := []struct {
		name    string
		file    string
		format  Format
		data    string
		wantErr string
	}{
		{"empty csv", "rows.csv", CSV, "", "rows.csv: input is empty"},
		{"empty jsonl", "rows.jsonl", JSONL, "", "rows.jsonl: input is empty"},
		{"csv only blank lines", "rows.csv", CSV, "\n\r\n  \n", "rows.csv: no header row"},
		{"csv header only", "rows.csv", CSV, "a,b\n", "rows.csv: no data rows"},
		{"csv header and blank lines", "rows.csv", CSV, "a,b\n\n\n", "rows.csv: no data rows"},
		{"jsonl only blank lines", "rows.jsonl", JSONL, "\n \n", "rows.jsonl: no data rows"},
		{"duplicate header", "rows.csv", CSV, "a, a\n1,2\n", `rows.csv line 1: header: duplicate column "a" (columns 1 and 2)`},
		{"empty header name", "rows.csv", CSV, "a,,b\n1,2,3\n", "rows.csv line 1: header: column 2 has an empty name"},
		{"header parse error", "rows.csv", CSV, "a,b\"c\n1,2\n", "rows.csv line 1: header: bare \""},
		{"header on line 3", "rows.csv", CSV, "\n\na,a\n1,2\n", "rows.csv line 3: header: duplicate column"},
		{"unknown format", "rows.csv", Format("xml"), "a\n1\n", `rows.csv: unsupported format "xml"`},
		{"format from bad name", "rows.txt", "", "a\n1\n", "rows.txt: unsupported extension"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ParseInput(tt.file, []byte(tt.data), tt.format)
			require.ErrorContains(t, err, tt.wantErr)
		})
	}
}

func TestParseInputDetectsFormat(t *testing.T) {
	in, err := ParseInput("rows.ndjson", []byte(`{"a":1}`), "")
	require.NoError(t, err)
	assert.Equal(t, JSONL, in.Format)
}

func TestCanonicalVarsJSON(t *testing.T) {
	tests := []struct {
		name string
		vars map[string]any
		want string
	}{
		{"sorted keys, no HTML escaping", map[string]any{"b": "<&>", "a": "x"}, `{"a":"x","b":"<&>"}`},
		{"nested sorted, numbers literal", map[string]any{"z": map[string]any{"y": json.Number("1.50"), "x": nil}}, `{"z":{"x":null,"y":1.50}}`},
		{"empty", map[string]any{}, `{}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := CanonicalVarsJSON(tt.vars)
			require.NoError(t, err)
			assert.Equal(t, tt.want, string(got))
		})
	}
}

// FuzzParseInput checks that arbitrary input never panics and that every
// returned range slices the data and hashes match.
func FuzzParseInput(f *testing.F) {
	for _, s := range []string{"a,b\n1,2\n", "a\n\"x\ny\"\r\n", "{\"a\":1}\n[1]\n", "\xEF\xBB\xBFa\n1", "a,b\n1,\"2"} {
		f.Add([]byte(s), true)
		f.Add([]byte(s), false)
	}
	f.Fuzz(func(t *testing.T, data []byte, csv bool) {
		format := JSONL
		if csv {
			format = CSV
		}
		in, err := ParseInput("f", data, format)
		if err != nil {
			return
		}
		for _, r := range in.Rows {
			if r.Offset < 0 || r.Length < 0 || r.Offset+r.Length > int64(len(data)) {
				t.Fatalf("row %d range %d+%d outside %d bytes", r.Index, r.Offset, r.Length, len(data))
			}
			if got := hashOf(string(data[r.Offset : r.Offset+r.Length])); got != r.SHA256 {
				t.Fatalf("row %d hash mismatch", r.Index)
			}
		}
	})
}
