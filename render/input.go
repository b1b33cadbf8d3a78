package render

import (
	"bytes"
	"crypto/sha256"
	"encoding/csv"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"path/filepath"
	"strings"
	"unicode/utf8"
)

// Format is the syntax of an input file.
type Format string

// Input formats.
const (
	CSV   Format = "csv"
	JSONL Format = "jsonl"
)

// bom is the UTF-8 byte order mark some tools (Excel) put before CSV text.
var bom = []byte{0xEF, 0xBB, 0xBF}

// DetectFormat picks the format from the file name's extension
// (case-insensitive): .csv, or .jsonl / .ndjson / .json-lines.
func DetectFormat(name string) (Format, error) {
	switch ext := strings.ToLower(filepath.Ext(name)); ext {
	case ".csv":
		return CSV, nil
	case ".jsonl", ".ndjson", ".json-lines":
		return JSONL, nil
	case "":
		return "", fmt.Errorf("%s: no file extension; want .csv, .jsonl, .ndjson or .json-lines", name)
	default:
		return "", fmt.Errorf("%s: unsupported extension %q; want .csv, .jsonl, .ndjson or .json-lines", name, ext)
	}
}

// Row is one data row of the input file.
type Row struct {
	Index      int            // 1-based data row number (row 1 = first data row)
	Line       int            // 1-based line in the input file where the row starts
	Offset     int64          // byte range of the raw row text in the input file, without its
	Length     int64          // line terminator (spans every line of a multi-line CSV record)
	SHA256     string         // of data[Offset:Offset+Length]
	Vars       map[string]any // column -> value (CSV: string; JSONL: decoded JSON, numbers as json.Number); nil when Err != nil
	VarsSHA256 string         // of CanonicalVarsJSON(Vars); "" when Err != nil
	Err        error          // the row could not be read; it is reported, never sent
}

// Input is a parsed input file.
type Input struct {
	Name    string
	Format  Format
	Columns []string // CSV: header names; JSONL: union of keys in first-seen order
	Rows    []Row
}

// ParseInput reads rows from data. An empty format means DetectFormat(name).
// Problems with the file as a whole (empty, no header, no data rows, bad
// header) are returned as errors; problems with one row go into Row.Err so
// the rest can still be sent.
func ParseInput(name string, data []byte, format Format) (Input, error) {
	if format == "" {
		f, err := DetectFormat(name)
		if err != nil {
			return Input{}, err
		}
		format = f
	}
	if len(data) == 0 {
		return Input{}, fmt.Errorf("%s: input is empty", name)
	}
	var (
		in  Input
		err error
	)
	switch format {
	case CSV:
		in, err = parseCSV(name, data)
	case JSONL:
		in, err = parseJSONL(name, data)
	default:
		return Input{}, fmt.Errorf("%s: unsupported format %q", name, format)
	}
	if err != nil {
		return Input{}, err
	}
	if len(in.Rows) == 0 {
		return Input{}, fmt.Errorf("%s: no data rows", name)
	}
	return in, nil
}

// bomLen is 3 when data starts with a UTF-8 BOM; offsets keep counting it so
// they still index the original bytes.
func bomLen(data []byte) int {
	if bytes.HasPrefix(data, bom) {
		return len(bom)
	}
	return 0
}

func sha256Hex(b []byte) string {
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}

// trimTerminator drops a trailing "\n" and then a trailing "\r", so "\r\n",
// "\n" and a lone "\r" before EOF (which encoding/csv also drops) never
// count as row text.
func trimTerminator(b []byte) []byte {
	b = bytes.TrimSuffix(b, []byte("\n"))
	return bytes.TrimSuffix(b, []byte("\r"))
}

func parseCSV(name string, data []byte) (Input, error) {
	skip := bomLen(data)
	body := data[skip:]
	// lineStarts[i] is the offset in body of line i+1, to turn the reader's
	// line numbers into byte offsets.
	lineStarts := []int{0}
	for i, c := range body {
		if c == '\n' && i+1 < len(body) {
			lineStarts = append(lineStarts, i+1)
		}
	}

	r := csv.NewReader(bytes.NewReader(body))
	r.FieldsPerRecord = -1 // we check the count ourselves so one bad row does not stop the file

	in := Input{Name: name, Format: CSV}
	headerSeen := false
	index := 0
	for {
		prevEnd := r.InputOffset()
		rec, err := r.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		end := r.InputOffset()
		var startLine int
		var pe *csv.ParseError
		switch {
		case err == nil:
			startLine, _ = r.FieldPos(0)
		case errors.As(err, &pe):
			startLine = pe.StartLine
		default:
			return Input{}, fmt.Errorf("%s: reading CSV: %w", name, err)
		}
		start := int64(lineStarts[startLine-1])
		if start < prevEnd { // cannot happen with encoding/csv; keeps ranges honest if it ever did
			start = prevEnd
		}
		raw := trimTerminator(body[start:end])
		// Whitespace-only lines count as blank, like empty lines (which
		// encoding/csv already skips).
		if err == nil && len(rec) == 1 && strings.TrimSpace(string(raw)) == "" {
			continue
		}

		if !headerSeen {
			if err != nil {
				return Input{}, fmt.Errorf("%s line %d: header: %s", name, startLine, csvErrText(pe))
			}
			cols, herr := headerColumns(rec)
			if herr != nil {
				return Input{}, fmt.Errorf("%s line %d: header: %w", name, startLine, herr)
			}
			in.Columns = cols
			headerSeen = true
			continue
		}

		index++
		row := Row{
			Index:  index,
			Line:   startLine,
			Offset: int64(skip) + start,
			Length: int64(len(raw)),
			SHA256: sha256Hex(raw),
		}
		switch {
		case err != nil:
			row.Err = fmt.Errorf("%s line %d: %s", name, startLine, csvErrText(pe))
		case !utf8.Valid(raw):
			row.Err = fmt.Errorf("%s line %d: not valid UTF-8", name, startLine)
		case len(rec) != len(in.Columns):
			row.Err = fmt.Errorf("%s line %d: expected %d fields, got %d", name, startLine, len(in.Columns), len(rec))
		default:
			vars := make(map[string]any, len(rec))
			for i, v := range rec {
				vars[in.Columns[i]] = v
			}
			if err := setVars(&row, vars); err != nil {
				return Input{}, fmt.Errorf("%s line %d: %w", name, startLine, err)
			}
		}
		in.Rows = append(in.Rows, row)
	}
	if !headerSeen {
		return Input{}, fmt.Errorf("%s: no header row", name)
	}
	return in, nil
}

// csvErrText renders a csv.ParseError without its own "record on line N"
// prefix, since our messages already name the starting line.
func csvErrText(pe *csv.ParseError) string {
	if pe.Line != pe.StartLine {
		return fmt.Sprintf("%v (at line %d, column %d)", pe.Err, pe.Line, pe.Column)
	}
	return fmt.Sprintf("%v (column %d)", pe.Err, pe.Column)
}

func headerColumns(rec []string) ([]string, error) {
	cols := make([]string, len(rec))
	seen := make(map[string]int, len(rec))
	for i, h := range rec {
		h = strings.TrimSpace(h)
		if h == "" {
			return nil, fmt.Errorf("column %d has an empty name", i+1)
		}
		if !utf8.ValidString(h) {
			return nil, fmt.Errorf("column %d name is not valid UTF-8", i+1)
		}
		if j, dup := seen[h]; dup {
			return nil, fmt.Errorf("duplicate column %q (columns %d and %d)", h, j+1, i+1)
		}
		seen[h] = i
		cols[i] = h
	}
	return cols, nil
}

func setVars(row *Row, vars map[string]any) error {
	canon, err := CanonicalVarsJSON(vars)
	if err != nil {
		return err
	}
	row.Vars = vars
	row.VarsSHA256 = sha256Hex(canon)
	return nil
}

func parseJSONL(name string, data []byte) (Input, error) {
	in := Input{Name: name, Format: JSONL}
	seenCol := map[string]bool{}
	index := 0
	lineNo := 0
	for start := bomLen(data); start < len(data); {
		lineNo++
		next := len(data)
		if i := bytes.IndexByte(data[start:], '\n'); i >= 0 {
			next = start + i + 1
		}
		raw := trimTerminator(data[start:next])
		offset := start
		start = next
		if len(bytes.TrimSpace(raw)) == 0 {
			continue
		}
		index++
		row := Row{
			Index:  index,
			Line:   lineNo,
			Offset: int64(offset),
			Length: int64(len(raw)),
			SHA256: sha256Hex(raw),
		}
		keys, vars, err := decodeObject(raw)
		if err != nil {
			row.Err = fmt.Errorf("%s line %d: %w", name, lineNo, err)
			in.Rows = append(in.Rows, row)
			continue
		}
		if err := setVars(&row, vars); err != nil {
			return Input{}, fmt.Errorf("%s line %d: %w", name, lineNo, err)
		}
		for _, k := range keys {
			if !seenCol[k] {
				seenCol[k] = true
				in.Columns = append(in.Columns, k)
			}
		}
		in.Rows = append(in.Rows, row)
	}
	return in, nil
}

// decodeObject decodes one JSON object, keeping its keys in order (for
// Columns) and refusing what would make a row ambiguous: duplicate keys
// (encoding/json would silently keep the last), trailing data, and invalid
// UTF-8 (encoding/json would silently replace it, so the prompt would not be
// what the file says).
func decodeObject(raw []byte) ([]string, map[string]any, error) {
	if !utf8.Valid(raw) {
		return nil, nil, errors.New("not valid UTF-8")
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	tok, err := dec.Token()
	if err != nil {
		return nil, nil, fmt.Errorf("invalid JSON: %w", err)
	}
	if d, ok := tok.(json.Delim); !ok || d != '{' {
		return nil, nil, fmt.Errorf("not a JSON object (starts with %s)", describeToken(tok))
	}
	var keys []string
	vars := map[string]any{}
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return nil, nil, fmt.Errorf("invalid JSON: %w", err)
		}
		key, ok := tok.(string)
		if !ok { // the decoder reports a syntax error first; kept as a guard
			return nil, nil, fmt.Errorf("invalid JSON: object key is %s", describeToken(tok))
		}
		if _, dup := vars[key]; dup {
			return nil, nil, fmt.Errorf("duplicate key %q", key)
		}
		var v any
		if err := dec.Decode(&v); err != nil {
			return nil, nil, fmt.Errorf("invalid JSON: %w", err)
		}
		vars[key] = v
		keys = append(keys, key)
	}
	if _, err := dec.Token(); err != nil { // the closing '}'
		return nil, nil, fmt.Errorf("invalid JSON: %w", err)
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return nil, nil, errors.New("invalid JSON: data after the object")
	}
	return keys, vars, nil
}

func describeToken(tok json.Token) string {
	switch t := tok.(type) {
	case json.Delim:
		if t == '[' {
			return "an array"
		}
		return fmt.Sprintf("%q", string(t))
	case string:
		return "a string"
	case json.Number, float64:
		return "a number"
	case bool:
		return "a boolean"
	case nil:
		return "null"
	default:
		return fmt.Sprintf("%T", tok)
	}
}

// CanonicalVarsJSON is the encoding Row.VarsSHA256 hashes: encoding/json
// with map keys sorted at every level (encoding/json sorts them), HTML
// escaping off, no whitespace, no trailing newline. json.Number values keep
// their literal text.
func CanonicalVarsJSON(vars map[string]any) ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(vars); err != nil {
		return nil, fmt.Errorf("encoding row values: %w", err)
	}
	return bytes.TrimSuffix(buf.Bytes(), []byte("\n")), nil
}
