// Package labreport is the pure half of the lab drivers in test/ (issue #12): it reads the
// JSON records a bench or fault-matrix run appends to bench/results/*.jsonl, computes their
// statistics and renders the markdown tables. No lab, no namespaces, no *testing.T: the
// drivers in test/ and the labctl command (test/labctl) both use it.
package labreport

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"
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

// RunTime is when the run whose records are at raw began: from the file's name as the
// drivers give it (<date>-<HHMM>.jsonl, faults-<date>-<HHMM>.jsonl, UTC), else the file's
// modification time.
func RunTime(raw string) (time.Time, error) {
	name := strings.TrimSuffix(filepath.Base(raw), ".jsonl")
	if len(name) >= len(runTimeLayout) {
		if at, err := time.Parse(runTimeLayout, name[len(name)-len(runTimeLayout):]); err == nil {
			return at, nil
		}
	}
	info, err := os.Stat(raw)
	if err != nil {
		return time.Time{}, err
	}
	return info.ModTime(), nil
}

// runTimeLayout is the start time in a run's file names.
const runTimeLayout = "2006-01-02-1504"
