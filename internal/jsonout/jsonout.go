// Package jsonout is tapstack's one JSON output format: two-space indent, no HTML escaping (">= 1.11" and
// "a && b" stay readable), a final newline. Reports, the outputs file and the Terraform document all use it, so
// their bytes change together or not at all.
package jsonout

import (
	"bytes"
	"encoding/json"
	"io"
)

// Write writes v to w. Nothing is written when v cannot be encoded.
func Write(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

// Marshal returns what Write would write.
func Marshal(v any) ([]byte, error) {
	var buf bytes.Buffer
	if err := Write(&buf, v); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}
