// Package labreport is the pure half of the lab drivers in test/ (issue #12): it reads the
// JSON records a bench or fault-matrix run appends to bench/results/*.jsonl, computes their
// statistics and renders the markdown tables. No lab, no namespaces, no *testing.T: the
// drivers in test/ use it.
package labreport

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"strings"
)

// ReadJSONLines appends to out every JSON value of the file at path, one after another.
func ReadJSONLines[T any](path string, out *[]T) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	dec := json.NewDecoder(f)
	for {
		var v T
		if err := dec.Decode(&v); err == io.EOF {
			return nil
		} else if err != nil {
			return fmt.Errorf("%s: %w", path, err)
		}
		*out = append(*out, v)
	}
}

// ReadRecords reads a run's records: one JSON object per line.
func ReadRecords(path string) ([]map[string]any, error) {
	var records []map[string]any
	err := ReadJSONLines(path, &records)
	return records, err
}

// MarkdownPath is where a run's table goes: the records' path with .md for .jsonl.
func MarkdownPath(raw string) string {
	return strings.TrimSuffix(raw, ".jsonl") + ".md"
}

func or(s, fallback string) string {
	if s == "" {
		return fallback
	}
	return s
}
