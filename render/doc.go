// Package render turns input rows and a prompt template into an Azure OpenAI
// batch input file (JSONL, one /chat/completions request per row).
//
// It is pure: bytes in, bytes out. Every byte range it returns slices the
// given []byte to exactly one line or record (without its "\n" or "\r\n"
// terminator), and every SHA256 is the lowercase hex SHA-256 of exactly those
// bytes, so the audit trail can point into the recorded files instead of
// storing one blob per row.
//
// Rows that cannot be read (ParseInput: Row.Err) or rendered (template
// execution errors) are not fatal: Render reports them as RowErrors so that
// every row ends with exactly one outcome. Problems that would affect every
// row (bad template, unknown column, missing deployment, no rows) are
// returned as errors before anything is sent.
//
// Row.VarsSHA256 is the SHA-256 of CanonicalVarsJSON(Row.Vars): the
// encoding/json encoding of the map with object keys sorted at every level,
// HTML escaping off, no insignificant whitespace and no trailing newline;
// CSV values are JSON strings, JSONL numbers keep their literal text
// (json.Number).
package render
