package cardsafe

import (
	"slices"
	"testing"
)

func TestAsyncPreemption(t *testing.T) {
	for _, c := range []struct {
		godebug  string
		off, set bool
	}{
		{"", false, false},
		{"http2debug=1", false, false},
		{"asyncpreemptoff=1", true, true},
		{"asyncpreemptoff=0", false, true},
		{"asyncpreemptoff=1,http2debug=1", true, true},
		{"asyncpreemptoff=1,asyncpreemptoff=0", false, true}, // the last one wins
		{" asyncpreemptoff=1 ", true, true},
		{"xasyncpreemptoff=1", false, false},
	} {
		off, set := AsyncPreemption(c.godebug)
		if off != c.off || set != c.set {
			t.Errorf("AsyncPreemption(%q) = %v, %v; want %v, %v", c.godebug, off, set, c.off, c.set)
		}
	}
}

func TestWithoutAsyncPreemption(t *testing.T) {
	for _, c := range []struct {
		in, want []string
		changed  bool
	}{
		{[]string{"PATH=/bin"}, []string{"PATH=/bin", "GODEBUG=asyncpreemptoff=1"}, true},
		{[]string{"GODEBUG=", "A=b"}, []string{"GODEBUG=asyncpreemptoff=1", "A=b"}, true},
		{[]string{"GODEBUG=http2debug=1,"}, []string{"GODEBUG=http2debug=1,asyncpreemptoff=1"}, true},
		// The runtime reads the first GODEBUG: the setting goes there, and a second is dropped.
		{[]string{"GODEBUG=x=1", "GODEBUG=asyncpreemptoff=0"}, []string{"GODEBUG=x=1,asyncpreemptoff=1"}, true},
		// An operator's choice either way is kept as it is.
		{[]string{"GODEBUG=asyncpreemptoff=0"}, []string{"GODEBUG=asyncpreemptoff=0"}, false},
		{[]string{"GODEBUG=asyncpreemptoff=1", "A=b"}, []string{"GODEBUG=asyncpreemptoff=1", "A=b"}, false},
	} {
		got, changed := WithoutAsyncPreemption(slices.Clone(c.in))
		if !slices.Equal(got, c.want) || changed != c.changed {
			t.Errorf("WithoutAsyncPreemption(%q) = %q, %v; want %q, %v", c.in, got, changed, c.want, c.changed)
		}
		if off, _ := AsyncPreemption(firstGODEBUG(got)); changed && !off {
			t.Errorf("WithoutAsyncPreemption(%q): the first GODEBUG of %q leaves preemption on", c.in, got)
		}
	}
}

func firstGODEBUG(env []string) string {
	for _, e := range env {
		if len(e) > 8 && e[:8] == "GODEBUG=" {
			return e[8:]
		}
	}
	return ""
}
