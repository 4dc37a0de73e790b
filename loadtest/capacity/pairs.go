package main

import (
	"fmt"
	"io"
	"slices"
	"strings"

	"github.com/paybridge/paybridge/loadtest/callgen"
)

// Paired runs: on a shared machine one run's CPU figure moves by ±20–30 % with whatever else
// the box does, so one run of paybridge beside one run of the peer says little about their
// ratio. With -pairs K the tool runs every row K times at one concurrency, the rows
// alternating within each round (paybridge, peer, paybridge, peer, …), and reports each row's
// median and the median of the per-round ratios — a ratio taken between runs seconds apart,
// under nearly the same load — beside the endpoint's CPU divided by its own caller's CPU (the
// caller is the same program for both endpoints, so it moves with the box too).

// pairRound is one round: a rung of every row.
type pairRound map[row]rung

// runPairs runs k rounds of rows at n concurrent calls and prints every run and the summary.
func runPairs(w io.Writer, cfg config, rows []row, n, k int) {
	var rounds []pairRound
	for i := range k {
		round := pairRound{}
		for _, r := range rows {
			if r.endpoint == "diago" && r.dtmf == callgen.Inband {
				continue
			}
			g := runRung(cfg, r, n, false)
			fmt.Fprintf(w, "round %d: load average %s\n", i+1, loadavg())
			report(w, r, g)
			round[r] = g
		}
		rounds = append(rounds, round)
	}
	fmt.Fprintln(w)
	pairsTable(w, rows, rounds, n)
}

// pairsTable prints the medians of the rounds and, for each paybridge row with a peer row of
// the same caller and DTMF, the median of the per-round ratios peer ÷ paybridge (above 1:
// paybridge uses less CPU per call-second than the peer).
func pairsTable(w io.Writer, rows []row, rounds []pairRound, n int) {
	fmt.Fprintf(w, "| endpoint | caller | DTMF | N | runs all paid | CPU-ms per call-s: median (min–max) | CPU-ms per call: median | endpoint ÷ its caller's CPU: median | RSS KB per call: median |\n")
	fmt.Fprintf(w, "|---|---|---|---|---|---|---|---|---|\n")
	for _, r := range rows {
		var cs, cc, rel, rss []float64
		paid := 0
		for _, round := range rounds {
			g, ok := round[r]
			if !ok || g.err != nil {
				continue
			}
			if g.clean() && g.correct == g.placed {
				paid++
			}
			cs = append(cs, g.cpuPerCallSec())
			cc = append(cc, g.cpuPerCall())
			rel = append(rel, g.cpuPerCallSec()/max(g.genPerCallSec(), 1e-9))
			rss = append(rss, g.rssPerCall()/1e3)
		}
		if len(cs) == 0 {
			continue
		}
		name, caller, dtmf := r.names()
		fmt.Fprintf(w, "| %s | %s | %s | %d | %d / %d | %.2f (%.2f–%.2f) | %.1f | %.2f | %.0f |\n",
			name, caller, dtmf, n, paid, len(rounds), median(cs), slices.Min(cs), slices.Max(cs),
			median(cc), median(rel), median(rss))
	}
	for _, r := range rows {
		if r.endpoint != "paybridge" {
			continue
		}
		peer := row{endpoint: "diago", caller: r.caller, dtmf: r.dtmf}
		var ratio, relRatio []float64
		for _, round := range rounds {
			p, ok1 := round[r]
			d, ok2 := round[peer]
			if !ok1 || !ok2 || p.err != nil || d.err != nil {
				continue
			}
			ratio = append(ratio, d.cpuPerCallSec()/max(p.cpuPerCallSec(), 1e-9))
			pr := p.cpuPerCallSec() / max(p.genPerCallSec(), 1e-9)
			dr := d.cpuPerCallSec() / max(d.genPerCallSec(), 1e-9)
			relRatio = append(relRatio, dr/max(pr, 1e-9))
		}
		if len(ratio) == 0 {
			continue
		}
		fmt.Fprintf(w, "\n%s: the peer's CPU per call-second ÷ paybridge's, per round: %s — median %.2f× (goal ≥ 2×); each taken relative to its own caller: median %.2f×\n",
			r, fmtList(ratio), median(ratio), median(relRatio))
	}
	for _, r := range rows {
		if r.endpoint != "paybridge" {
			continue
		}
		base := row{endpoint: "base", caller: r.caller, dtmf: r.dtmf}
		var ratio []float64
		for _, round := range rounds {
			p, ok1 := round[r]
			b, ok2 := round[base]
			if !ok1 || !ok2 || p.err != nil || b.err != nil {
				continue
			}
			ratio = append(ratio, b.cpuPerCallSec()/max(p.cpuPerCallSec(), 1e-9))
		}
		if len(ratio) == 0 {
			continue
		}
		fmt.Fprintf(w, "\n%s: the -base build's CPU per call-second ÷ this build's, per round: %s — median %.2f× (above 1: this build is cheaper)\n",
			r, fmtList(ratio), median(ratio))
	}
}

func median(xs []float64) float64 {
	s := slices.Clone(xs)
	slices.Sort(s)
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

func fmtList(xs []float64) string {
	parts := make([]string, len(xs))
	for i, x := range xs {
		parts[i] = fmt.Sprintf("%.2f", x)
	}
	return strings.Join(parts, ", ")
}
