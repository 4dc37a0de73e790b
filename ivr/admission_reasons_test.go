package ivr

import (
	"log/slog"
	"slices"
	"strings"
	"testing"
	"time"
)

// TestAdmissionReasonsAreClosedSets: every reason a tick gives for a degraded or a held limit
// is in DegradedReasons or HeldReasons — the label sets of the console's admission metrics —
// and every listed reason is given by some tick (a reason that could not occur would be a
// series that never moves).
func TestAdmissionReasonsAreClosedSets(t *testing.T) {
	seenDegraded, seenHeld := map[string]bool{}, map[string]bool{}
	note := func(st Admission) {
		if st.Degraded != "" {
			if !slices.Contains(DegradedReasons, st.Degraded) {
				t.Errorf("Degraded %q is not in DegradedReasons %v", st.Degraded, DegradedReasons)
			}
			seenDegraded[st.Degraded] = true
		}
		if st.Held != "" {
			if !slices.Contains(HeldReasons, st.Held) {
				t.Errorf("Held %q is not in HeldReasons %v", st.Held, HeldReasons)
			}
			seenHeld[st.Held] = true
		}
	}
	fresh := func() *tickFeed {
		f := &tickFeed{a: newAdmission(0, 5000), now: time.Unix(1_700_000_000, 0)}
		f.tick(50, 0, 0)
		return f
	}
	// Each signal alone, from a healthy start; lateness twice in a row (the first holds).
	f := fresh()
	note(f.tick(50, 1000, 0, func(in *tickInput) { in.newDrops = 3 }))
	f = fresh()
	note(f.tick(50, 1000, 0, func(in *tickInput) { in.behind = 5 }))
	f = fresh()
	note(f.tick(50, 1000, 0, func(in *tickInput) { in.sipBusy = true }))
	f = fresh()
	note(f.tick(50, 1000, 50))
	note(f.tick(50, 1000, 50))
	f = fresh()
	note(f.tick(50, 1000, 0, func(in *tickInput) { in.jitter.Skipped = 2 }))
	note(f.tick(50, 1000, 0, func(in *tickInput) { in.jitter.Skipped = 4 }))
	// The process's CPUs busy with its media healthy: held for CPU.
	f = fresh()
	note(f.tick(50, 1000, 0, func(in *tickInput) { in.cpu += time.Duration(float64(admissionTick) * float64(availableCPUs()) * 0.97) }))
	for _, r := range DegradedReasons {
		if !seenDegraded[r] {
			t.Errorf("no tick gave the degraded reason %q", r)
		}
	}
	for _, r := range HeldReasons {
		if !seenHeld[r] {
			t.Errorf("no tick gave the held reason %q", r)
		}
	}
}

type tickCounts struct{ ticks []string }

func (c *tickCounts) AdmissionTick(degraded, held string) {
	c.ticks = append(c.ticks, degraded+"/"+held)
}

// TestReportTickCountsEveryEpisode: every tick that lowered or held the limit is counted with
// its reason (a healthy tick is not), while the log says only when a degradation starts and
// ends.
func TestReportTickCountsEveryEpisode(t *testing.T) {
	logs := &strings.Builder{}
	s := &Server{log: slog.New(slog.NewTextHandler(logs, nil))}
	c := &tickCounts{}
	degraded := false
	for _, st := range []Admission{{}, {Held: "late", Late: "skipped-frames"}, {Degraded: "skipped-frames"}, {Degraded: "send-late"},
		{}, {Held: "cpu"}, {Degraded: "receive-backlog"}, {}} {
		degraded = s.reportTick(st, c, degraded)
	}
	want := "/late,skipped-frames/,send-late/,/cpu,receive-backlog/"
	if got := strings.Join(c.ticks, ","); got != want {
		t.Errorf("ticks counted %s, want %s", got, want)
	}
	if n := strings.Count(logs.String(), "media degraded"); n != 2 {
		t.Errorf("%d degradation warnings, want 2 (one per episode):\n%s", n, logs)
	}
	if n := strings.Count(logs.String(), "media healthy again"); n != 2 {
		t.Errorf("%d recoveries logged, want 2:\n%s", n, logs)
	}
	if degraded {
		t.Error("still degraded after a healthy tick")
	}
	s.reportTick(Admission{Degraded: "socket-drops"}, nil, false) // no metrics: nothing to count, no panic
}
