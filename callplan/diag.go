package callplan

import (
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strings"

	"github.com/paybridge/paybridge/pan"
)

// Severity tells an error (the plan is refused) from a warning (the plan loads, but probably
// does not do what its author meant).
type Severity int

const (
	SeverityError Severity = iota
	SeverityWarning
)

func (s Severity) String() string {
	if s == SeverityWarning {
		return "warning"
	}
	return "error"
}

// MarshalText writes "error" or "warning".
func (s Severity) MarshalText() ([]byte, error) { return []byte(s.String()), nil }

// UnmarshalText reads "error" or "warning".
func (s *Severity) UnmarshalText(b []byte) error {
	switch string(b) {
	case "error":
		*s = SeverityError
	case "warning":
		*s = SeverityWarning
	default:
		return fmt.Errorf("callplan: unknown severity %q", b)
	}
	return nil
}

// Diagnostic is one problem found in a plan.
//
// String renders it in the one greppable format of paybridge:
//
//	file:line:col: message            (an error)
//	file:line:col: warning: message   (a warning)
type Diagnostic struct {
	Pos      Pos
	Severity Severity
	Code     string // stable machine name of the check, e.g. "unknown-element"
	Message  string
	Err      error // the sentinel it wraps (ErrInvalidPlan, errExpr, …), may be nil
}

func (d Diagnostic) String() string {
	var b strings.Builder
	if d.Pos.IsValid() || d.Pos.File != "" {
		if d.Pos.IsValid() {
			b.WriteString(d.Pos.String())
		} else {
			b.WriteString(d.Pos.File)
		}
		b.WriteString(": ")
	}
	if d.Severity == SeverityWarning {
		b.WriteString("warning: ")
	}
	b.WriteString(d.Message)
	return b.String()
}

// Error makes a Diagnostic usable as an error.
func (d Diagnostic) Error() string { return d.String() }

// Unwrap returns the wrapped sentinel.
func (d Diagnostic) Unwrap() error { return d.Err }

// diagJSON is the --json shape of a Diagnostic.
type diagJSON struct {
	File     string   `json:"file"`
	Line     int      `json:"line"`
	Col      int      `json:"col"`
	Severity Severity `json:"severity"`
	Code     string   `json:"code"`
	Message  string   `json:"message"`
}

// MarshalJSON writes {"file","line","col","severity","code","message"}.
func (d Diagnostic) MarshalJSON() ([]byte, error) {
	return json.Marshal(diagJSON{File: d.Pos.File, Line: d.Pos.Line, Col: d.Pos.Col,
		Severity: d.Severity, Code: d.Code, Message: d.Message})
}

// UnmarshalJSON reads the MarshalJSON shape.
func (d *Diagnostic) UnmarshalJSON(b []byte) error {
	var j diagJSON
	if err := json.Unmarshal(b, &j); err != nil {
		return err
	}
	*d = Diagnostic{Pos: Pos{File: j.File, Line: j.Line, Col: j.Col}, Severity: j.Severity, Code: j.Code, Message: j.Message}
	return nil
}

// Diagnostics is a list of problems, usually of one or more plans.
type Diagnostics []Diagnostic

// HasErrors reports whether any diagnostic is an error.
func (ds Diagnostics) HasErrors() bool {
	for _, d := range ds {
		if d.Severity == SeverityError {
			return true
		}
	}
	return false
}

// Errors returns only the errors.
func (ds Diagnostics) Errors() Diagnostics { return ds.filter(SeverityError) }

// Warnings returns only the warnings.
func (ds Diagnostics) Warnings() Diagnostics { return ds.filter(SeverityWarning) }

func (ds Diagnostics) filter(s Severity) Diagnostics {
	var out Diagnostics
	for _, d := range ds {
		if d.Severity == s {
			out = append(out, d)
		}
	}
	return out
}

// Sort orders diagnostics by file, line, column, then errors before warnings.
func (ds Diagnostics) Sort() {
	sort.SliceStable(ds, func(i, j int) bool {
		a, b := ds[i], ds[j]
		if a.Pos.File != b.Pos.File {
			return a.Pos.File < b.Pos.File
		}
		if a.Pos.Line != b.Pos.Line {
			return a.Pos.Line < b.Pos.Line
		}
		if a.Pos.Col != b.Pos.Col {
			return a.Pos.Col < b.Pos.Col
		}
		return a.Severity < b.Severity
	})
}

// String renders one diagnostic per line.
func (ds Diagnostics) String() string {
	var b strings.Builder
	for _, d := range ds {
		b.WriteString(d.String())
		b.WriteByte('\n')
	}
	return b.String()
}

// Err returns nil when there is no error, and otherwise an error that wraps ErrInvalidPlan
// and lists every error (warnings are left out).
func (ds Diagnostics) Err() error {
	errs := ds.Errors()
	if len(errs) == 0 {
		return nil
	}
	list := make([]error, 0, len(errs)+1)
	list = append(list, ErrInvalidPlan)
	for _, d := range errs {
		list = append(list, d)
	}
	return errors.Join(list...)
}

// maxDiagnostics bounds the diagnostics of one plan: past it, one last error says so.
const maxDiagnostics = 500

// diagSink collects diagnostics for one plan.
type diagSink struct {
	ds      Diagnostics
	dropped int
}

func (s *diagSink) full(pos Pos) bool {
	if len(s.ds) < maxDiagnostics {
		return false
	}
	if s.dropped == 0 {
		s.ds = append(s.ds, Diagnostic{Pos: pos, Severity: SeverityError, Code: "too-many", Message: fmt.Sprintf("more than %d problems; the rest are not reported", maxDiagnostics), Err: ErrInvalidPlan})
	}
	s.dropped++
	return true
}

// add appends a diagnostic built elsewhere (its message is redacted like the others).
func (s *diagSink) add(d Diagnostic) {
	if s.full(d.Pos) {
		return
	}
	d.Message = pan.Redact(d.Message)
	s.ds = append(s.ds, d)
}

func (s *diagSink) errorf(pos Pos, code string, format string, args ...any) {
	if s.full(pos) {
		return
	}
	s.ds = append(s.ds, Diagnostic{Pos: pos, Severity: SeverityError, Code: code, Message: pan.Redact(fmt.Sprintf(format, args...)), Err: ErrInvalidPlan})
}

func (s *diagSink) warnf(pos Pos, code string, format string, args ...any) {
	if s.full(pos) {
		return
	}
	s.ds = append(s.ds, Diagnostic{Pos: pos, Severity: SeverityWarning, Code: code, Message: pan.Redact(fmt.Sprintf(format, args...))})
}
