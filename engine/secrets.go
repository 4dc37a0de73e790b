package engine

import (
	"context"
	"log/slog"
	"reflect"
	"strings"

	"github.com/paybridge/paybridge/event"
)

// secretMask is what outputs show instead of a secret value: fixed, so it does not tell the
// value's length.
const secretMask = "********"

// minSecretLen: values shorter than this are masked where they are a secret variable's whole
// value, but not searched for inside other text (masking every "1" would garble outputs).
const minSecretLen = 8

// secrets are the values of a run's secret variables. The engine keeps the values (a header
// needs the real token); every output passes through mask.
type secrets struct {
	vars   map[string]bool // variable names set from a secret Field
	values map[string]bool // their values, as set
}

func newSecrets() *secrets { return &secrets{vars: map[string]bool{}, values: map[string]bool{}} }

// note records that variable name holds a secret value.
func (s *secrets) note(name, value string) {
	s.vars[name] = true
	if value != "" {
		s.values[value] = true
	}
}

func (s *secrets) any() bool { return len(s.values) > 0 }

// mask replaces every secret value of minSecretLen or more inside text.
func (s *secrets) mask(text string) string {
	if len(s.values) == 0 || text == "" {
		return text
	}
	for v := range s.values {
		if len(v) >= minSecretLen && strings.Contains(text, v) {
			text = strings.ReplaceAll(text, v, secretMask)
		}
	}
	return text
}

// maskVar is the output form of variable name's value: masked whole when the variable is a
// secret (or holds one whole), secrets inside it masked otherwise.
func (s *secrets) maskVar(name, value string) string {
	if value != "" && (s.vars[name] || s.values[value]) {
		return secretMask
	}
	return s.mask(value)
}

// maskVars returns vars with every secret masked (a copy when anything is secret).
func (s *secrets) maskVars(vars map[string]string) map[string]string {
	if !s.any() && len(s.vars) == 0 {
		return vars
	}
	out := make(map[string]string, len(vars))
	for k, v := range vars {
		out[k] = s.maskVar(k, v)
	}
	return out
}

// maskData masks secret values in every string field of an event's data, in place.
func (s *secrets) maskData(d event.Data) {
	if !s.any() || d == nil {
		return
	}
	maskStrings(reflect.ValueOf(d), s.mask)
}

func maskStrings(v reflect.Value, f func(string) string) {
	switch v.Kind() {
	case reflect.Pointer, reflect.Interface:
		if !v.IsNil() {
			maskStrings(v.Elem(), f)
		}
	case reflect.Struct:
		for i := 0; i < v.NumField(); i++ {
			if v.Type().Field(i).IsExported() {
				maskStrings(v.Field(i), f)
			}
		}
	case reflect.Slice:
		for i := 0; i < v.Len(); i++ {
			maskStrings(v.Index(i), f)
		}
	case reflect.String:
		if v.CanSet() {
			v.SetString(f(v.String()))
		}
	}
}

// secretHandler masks a run's secrets in every log record's message and string attributes.
type secretHandler struct {
	next slog.Handler
	s    *secrets
}

func (h secretHandler) Enabled(ctx context.Context, l slog.Level) bool { return h.next.Enabled(ctx, l) }

func (h secretHandler) Handle(ctx context.Context, r slog.Record) error {
	if !h.s.any() {
		return h.next.Handle(ctx, r)
	}
	out := slog.NewRecord(r.Time, r.Level, h.s.mask(r.Message), r.PC)
	r.Attrs(func(a slog.Attr) bool {
		out.AddAttrs(h.maskAttr(a))
		return true
	})
	return h.next.Handle(ctx, out)
}

func (h secretHandler) maskAttr(a slog.Attr) slog.Attr {
	v := a.Value.Resolve()
	switch v.Kind() {
	case slog.KindString:
		return slog.String(a.Key, h.s.mask(v.String()))
	case slog.KindGroup:
		as := v.Group()
		out := make([]any, len(as))
		for i, g := range as {
			out[i] = h.maskAttr(g)
		}
		return slog.Group(a.Key, out...)
	case slog.KindAny:
		if err, ok := v.Any().(error); ok {
			return slog.String(a.Key, h.s.mask(err.Error()))
		}
		return slog.String(a.Key, h.s.mask(v.String()))
	}
	return a
}

func (h secretHandler) WithAttrs(as []slog.Attr) slog.Handler {
	return secretHandler{next: h.next.WithAttrs(as), s: h.s}
}

func (h secretHandler) WithGroup(name string) slog.Handler {
	return secretHandler{next: h.next.WithGroup(name), s: h.s}
}
