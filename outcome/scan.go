package outcome

import (
	"bytes"
	"encoding/json"
	"fmt"
)

// A small scanner over JSON already known to be valid (json.Valid on the
// whole line). Walking members this way reads each byte a bounded number of
// times, where decoding every nesting level with encoding/json would rescan
// the whole subtree at each level; it also sees duplicate keys, which
// encoding/json silently collapses.

func skipWS(b []byte, i int) int {
	for i < len(b) && (b[i] == ' ' || b[i] == '\t' || b[i] == '\n' || b[i] == '\r') {
		i++
	}
	return i
}

// skipString returns the index after the string starting at b[i] == '"'.
func skipString(b []byte, i int) int {
	for i++; i < len(b); i++ {
		switch b[i] {
		case '\\':
			i++
		case '"':
			return i + 1
		}
	}
	return len(b)
}

// skipValue returns the index after the value starting at b[i].
func skipValue(b []byte, i int) int {
	if i >= len(b) {
		return i
	}
	switch b[i] {
	case '"':
		return skipString(b, i)
	case '{', '[':
		depth := 0
		for i < len(b) {
			switch b[i] {
			case '"':
				i = skipString(b, i)
				continue
			case '{', '[':
				depth++
			case '}', ']':
				depth--
				if depth == 0 {
					return i + 1
				}
			}
			i++
		}
		return i
	default: // number, true, false, null
		for ; i < len(b); i++ {
			switch b[i] {
			case ',', '}', ']', ' ', '\t', '\r', '\n':
				return i
			}
		}
		return i
	}
}

// members splits valid JSON raw into an object's members. The values alias
// raw. Problems: not an object, duplicate key (dropped from the result,
// because its value is ambiguous).
func members(raw []byte) (object, string) {
	i := skipWS(raw, 0)
	if i >= len(raw) || raw[i] != '{' {
		return nil, "not a JSON object"
	}
	o := object{}
	i++
	for {
		i = skipWS(raw, i)
		if i >= len(raw) || raw[i] == '}' {
			return o, ""
		}
		if raw[i] == ',' {
			i = skipWS(raw, i+1)
		}
		ks := i
		i = skipString(raw, i)
		key, err := unquote(raw[ks:i])
		if err != nil { // cannot happen for valid JSON; kept as a guard
			return o, "not JSON: bad object key"
		}
		i = skipWS(raw, i)
		i = skipWS(raw, i+1) // past ':'
		vs := i
		i = skipValue(raw, i)
		if _, dup := o[key]; dup {
			delete(o, key)
			return o, fmt.Sprintf("duplicate key %q", key)
		}
		o[key] = raw[vs:i]
	}
}

// firstElement returns the first element of a valid JSON array; ok is false
// when raw is not an array, first is nil when the array is empty.
func firstElement(raw []byte) (first []byte, ok bool) {
	if len(raw) == 0 || raw[0] != '[' {
		return nil, false
	}
	i := skipWS(raw, 1)
	if i >= len(raw) || raw[i] == ']' {
		return nil, true
	}
	return raw[i:skipValue(raw, i)], true
}

// unquote decodes a JSON string token, without allocating a decoder for the
// common case of no escapes.
func unquote(tok []byte) (string, error) {
	if len(tok) >= 2 && tok[0] == '"' && tok[len(tok)-1] == '"' && bytes.IndexByte(tok, '\\') < 0 {
		return string(tok[1 : len(tok)-1]), nil
	}
	var s string
	err := json.Unmarshal(tok, &s)
	return s, err
}
