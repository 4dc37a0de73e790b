package sandbox

import (
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"testing"
)

const module = "github.com/paybridge/paybridge/"

// deps lists the packages of this module that pkg depends on, directly or not (go list -deps).
func deps(t *testing.T, pkg string) []string {
	t.Helper()
	goBin, err := exec.LookPath("go")
	if err != nil {
		goBin = filepath.Join(runtime.GOROOT(), "bin", "go")
	}
	out, err := exec.Command(goBin, "list", "-deps", "-f", "{{.ImportPath}}", module+pkg).CombinedOutput()
	if err != nil {
		t.Fatalf("go list -deps %s: %v\n%s", pkg, err, out)
	}
	var own []string
	for _, p := range strings.Fields(string(out)) {
		if strings.HasPrefix(p, module) && p != module+pkg {
			own = append(own, strings.TrimPrefix(p, module))
		}
	}
	return own
}

// The sandbox is a provider: it reaches paybridge only over HTTP, so it imports nothing of
// paybridge but the card rules and the card-safe HTTP helpers every endpoint that receives a
// card shares; and no production code of the gateway depends on it.
func TestImportGraph(t *testing.T) {
	allowed := []string{"pan", "internal/cardsafe", "internal/cardsafe/regs"}
	for _, p := range deps(t, "sandbox") {
		if !slices.Contains(allowed, p) {
			t.Errorf("the sandbox depends on %s (allowed: %v)", p, allowed)
		}
	}
	for _, pkg := range []string{"gateway", "internal/cardsafe"} {
		if slices.Contains(deps(t, pkg), "sandbox") {
			t.Errorf("%s depends on the sandbox", pkg)
		}
	}
	// Control: the listing sees a dependency that is there.
	if !slices.Contains(deps(t, "gateway"), "internal/cardsafe") {
		t.Error("control: go list -deps does not show that the gateway uses internal/cardsafe")
	}
}
