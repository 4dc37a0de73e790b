package replay

import (
	"bufio"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/paybridge/paybridge/callplan"
	"github.com/paybridge/paybridge/engine"
	"github.com/paybridge/paybridge/event"
)

// plansUnder returns every plan file under examples/plans (the shipped examples) and
// testdata/plans (subdirectories too, the broken plans of bad/ included: they are skipped
// because they do not validate) as name → source.
func plansUnder(t *testing.T) map[string][]byte {
	t.Helper()
	out := map[string][]byte{}
	for _, root := range []string{filepath.Join("..", "..", "examples", "plans"), filepath.Join("..", "..", "testdata", "plans")} {
		err := filepath.WalkDir(root, func(p string, d os.DirEntry, err error) error {
			if err != nil || d.IsDir() || !strings.HasSuffix(p, ".xml") {
				return err
			}
			b, err := os.ReadFile(p)
			out[p] = b
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	return out
}

// docExamples returns every ```xml block of README.md and docs/*.md that is a whole plan (its
// root is <CallPlan>), named file.md#N.
func docExamples(t *testing.T) map[string][]byte {
	t.Helper()
	files, _ := filepath.Glob(filepath.Join("..", "..", "docs", "*.md"))
	files = append(files, filepath.Join("..", "..", "README.md"))
	out := map[string][]byte{}
	for _, f := range files {
		fh, err := os.Open(f)
		if err != nil {
			t.Fatal(err)
		}
		sc := bufio.NewScanner(fh)
		var block []string
		in, n := false, 0
		for sc.Scan() {
			line := sc.Text()
			switch {
			case !in && strings.TrimSpace(line) == "```xml":
				in, block = true, nil
			case in && strings.TrimSpace(line) == "```":
				in, n = false, n+1
				src := strings.Join(block, "\n")
				if strings.Contains(src, "<CallPlan") {
					out[f+"#"+itoa(n)] = []byte(src)
				}
			case in:
				block = append(block, line)
			}
		}
		fh.Close()
	}
	return out
}

func itoa(n int) string { b, _ := json.Marshal(n); return string(b) }

// TestValidPlansOpenAndRun is the property behind `paybridge validate`: a plan it passes can
// run. Every plan under examples/plans/ and testdata/plans/ and every whole-plan example in the
// docs that validates without errors (in an empty environment, so #(env:…:-default)s apply) opens every
// connector it declares — through the gateway, which applies the same connector rules — and,
// replayed, reaches its first step without an engine error.
func TestValidPlansOpenAndRun(t *testing.T) {
	sb := startSandbox(t)
	sources := plansUnder(t)
	docs := docExamples(t)
	for name, src := range docs {
		sources[name] = src
	}
	checked, docChecked, skipped := 0, 0, 0
	for name, src := range sources {
		plan, ds := callplan.Parse(name, src, func(string) string { return "" })
		if ds.HasErrors() {
			skipped++
			continue
		}
		checked++
		if _, ok := docs[name]; ok {
			docChecked++
		}
		t.Run(strings.TrimPrefix(name, "../../"), func(t *testing.T) {
			for _, c := range plan.Connectors {
				spec := c.Spec
				if _, err := sb.Connectors.Open(&spec); err != nil {
					t.Errorf("validates, but connector %q does not open: %v", spec.Name, err)
				}
			}
			in, _ := ParseDigits("")
			opts := sb.Options()
			opts.Plan, opts.Linger = plan, 1
			res, err := Run(context.Background(), in, opts)
			if err != nil {
				t.Fatal(err)
			}
			if res.Outcome == engine.ResultError {
				t.Errorf("validates, but the run ended in an engine error: %s", res.Reason)
			}
			if len(plan.Flow) == 0 {
				return
			}
			first := plan.Flow[0].StepPos().String()
			reached := false
			for _, e := range res.Events {
				var d event.StepEntered
				if e.Type == "step" && json.Unmarshal(e.Fields, &d) == nil && d.Pos == first {
					reached = true
				}
			}
			if !reached {
				t.Errorf("the first step (%s) never ran", first)
			}
		})
	}
	t.Logf("validate/replay property: %d plans checked (%d of them doc examples), %d that do not validate skipped", checked, docChecked, skipped)
	if checked < 18 || docChecked < 1 {
		t.Fatalf("only %d plans (%d doc examples) were checked", checked, docChecked)
	}
}

// TestSandboxDefaultsPay: the three plans of testdata/plans/sandbox-defaults, each of which
// once validated and then failed every call, pay in full.
func TestSandboxDefaultsPay(t *testing.T) {
	sb := startSandbox(t)
	for _, tc := range []struct {
		plan, keys, result, link string
		amount                   int64
		currency                 string
	}{
		{"first-plan.xml", "4242424242424242# 1230 123", "Pay.Result=success", "", 1000, "GBP"},
		{"stripe-sandbox.xml", "4242424242424242# 1230 123", "Pay.Result=success", "", 750, "EUR"},
		// '*' abandons the voice capture; the link pays the session's amount without one of its own.
		{"link-session-amount.xml", "1 W 4242*", "Pay.Result=caller-interrupted-with-star", "success", 2500, "GBP"},
		{"link-session-amount.xml", "2 W 4242*", "Card.Result=caller-interrupted-with-star", "success", 1234, "USD"},
	} {
		t.Run(tc.plan+"/"+tc.keys, func(t *testing.T) {
			in, _ := ParseDigits(tc.keys)
			res := replayOnce(t, sb, planFile(t, filepath.Join("sandbox-defaults", tc.plan)), in)
			k, v, _ := strings.Cut(tc.result, "=")
			if res.Variables[k] != v || res.Variables["Link.Result"] != tc.link {
				t.Fatalf("%s = %q, Link.Result = %q (%s)", k, res.Variables[k], res.Variables["Link.Result"], res.Variables["Link.Error"])
			}
			var got *event.Payment
			for _, e := range res.Events {
				switch e.Type {
				case "pay.completed":
					var d event.PayCompleted
					_ = json.Unmarshal(e.Fields, &d)
					got = &d.Payment
				case "link.sent":
					var d event.LinkSent
					_ = json.Unmarshal(e.Fields, &d)
					if d.AmountMinor != tc.amount || d.Currency != tc.currency || d.SessionID != res.Variables["Link.SessionId"] {
						t.Errorf("link.sent = %+v", d)
					}
				}
			}
			if got == nil || got.AmountMinor != tc.amount || got.Currency != tc.currency || got.SessionID == "" {
				t.Fatalf("pay.completed = %+v", got)
			}
		})
	}
}
