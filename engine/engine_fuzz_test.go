package engine

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/paybridge/paybridge/callplan"
)

// FuzzRunPlan runs every plan the parser accepts (seeded with the example plans) with a few
// keys on a virtual clock: the engine must end every call without a panic (which Run would
// report as "internal error") and within its loop guard.
func FuzzRunPlan(f *testing.F) {
	files, _ := filepath.Glob(filepath.Join("..", "examples", "plans", "*.xml"))
	for _, p := range files {
		if b, err := os.ReadFile(p); err == nil {
			f.Add(b)
		}
	}
	f.Add([]byte(flowPlan(`<Label name="a"/><Goto label="a"/>`)))
	f.Fuzz(func(t *testing.T, src []byte) {
		plan, ds := callplan.Parse("fuzz.xml", src, func(string) string { return "" })
		if plan == nil || ds.HasErrors() {
			return
		}
		h := newHarness(t)
		h.ch.press(200*time.Millisecond, "12345678# 1 4242424242424242# 1230 123 *")
		h.ch.hangupAt(10 * time.Minute)
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		out, err := Run(ctx, plan, h.ch, RunOptions{Clock: h.clock, Connectors: &fakeConnectors{conn: h.conn},
			Links: &fakeLinks{}, SandboxURL: "http://127.0.0.1:1", MaxSteps: 300})
		if err != nil {
			t.Fatal(err)
		}
		if out.Reason == "internal error" {
			t.Fatalf("the engine panicked on an accepted plan")
		}
	})
}
