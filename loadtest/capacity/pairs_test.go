package main

import (
	"bytes"
	"strings"
	"testing"
	"time"
)

func TestMedian(t *testing.T) {
	for _, tc := range []struct {
		in   []float64
		want float64
	}{
		{[]float64{3}, 3},
		{[]float64{5, 1, 3}, 3},
		{[]float64{4, 1, 3, 2}, 2.5},
	} {
		if got := median(tc.in); got != tc.want {
			t.Errorf("median(%v) = %v, want %v", tc.in, got, tc.want)
		}
	}
}

// The ratio is taken within each round, so a round where the box was slow for both endpoints
// still counts as the same ratio: here paybridge is exactly half the peer's CPU in every
// round although the rounds' absolute figures differ threefold.
func TestPairsTableRatioPerRound(t *testing.T) {
	pb := row{"paybridge", "own", "rfc4733"}
	peer := row{"diago", "own", "rfc4733"}
	mk := func(cpuMS int, genMS int) rung {
		return rung{n: 10, placed: 10, correct: 10, peak: 10, callSec: 1000,
			cpu: time.Duration(cpuMS) * time.Millisecond, genCPU: time.Duration(genMS) * time.Millisecond}
	}
	rounds := []pairRound{
		{pb: mk(400, 400), peer: mk(800, 400)},
		{pb: mk(1200, 1200), peer: mk(2400, 1200)},
		{pb: mk(500, 500), peer: mk(1000, 500)},
	}
	var b bytes.Buffer
	pairsTable(&b, []row{pb, peer}, rounds, 10)
	out := b.String()
	for _, want := range []string{
		"| paybridge serve | callgen | RFC 4733 | 10 | 3 / 3 | 0.50 (0.40–1.20) |",
		"| diago peer | callgen | RFC 4733 | 10 | 3 / 3 | 1.00 (0.80–2.40) |",
		"2.00, 2.00, 2.00 — median 2.00×",
		"relative to its own caller: median 2.00×",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("missing %q in:\n%s", want, out)
		}
	}
}

// With a -base build in the rounds, the table names it and gives base ÷ this build per round.
func TestPairsTableAgainstBase(t *testing.T) {
	pb := row{"paybridge", "own", "rfc4733"}
	base := row{"base", "own", "rfc4733"}
	mk := func(cpuMS int) rung {
		return rung{n: 10, placed: 10, correct: 10, peak: 10, callSec: 1000,
			cpu: time.Duration(cpuMS) * time.Millisecond, genCPU: 400 * time.Millisecond}
	}
	rounds := []pairRound{
		{pb: mk(400), base: mk(500)},
		{pb: mk(800), base: mk(1200)},
		{pb: mk(500), base: mk(500)},
	}
	var b bytes.Buffer
	pairsTable(&b, []row{pb, base}, rounds, 10)
	out := b.String()
	for _, want := range []string{
		"| paybridge serve (-base) | callgen | RFC 4733 | 10 | 3 / 3 | 0.50 (0.50–1.20) |",
		"1.25, 1.50, 1.00 — median 1.25× (above 1: this build is cheaper)",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("missing %q in:\n%s", want, out)
		}
	}
	if strings.Contains(out, "the peer's CPU") {
		t.Errorf("a peer ratio without a peer row:\n%s", out)
	}
}

func TestParseRowsBase(t *testing.T) {
	rows, err := parseRows("paybridge/own/rfc4733,base/own/rfc4733+srtp")
	if err != nil || len(rows) != 2 || rows[1] != (row{"base", "own", "rfc4733+srtp"}) {
		t.Fatalf("parseRows = %v, %v", rows, err)
	}
	if _, err := parseRows("diago/own/rfc4733+srtp"); err == nil {
		t.Fatal("diago with SRTP accepted")
	}
}
