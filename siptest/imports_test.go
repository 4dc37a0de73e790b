package siptest

import (
	"os/exec"
	"strings"
	"testing"
)

// TestImportsStandBesideTheEndpoint: the test caller reaches the endpoint only over the
// network. It may import media, dtmf, sipsafe (and pan, the redactor sipsafe uses), tlsconf and sipgo,
// never ivr (whose own tests import this package) or the engine above it.
func TestImportsStandBesideTheEndpoint(t *testing.T) {
	out, err := exec.Command("go", "list", "-deps", ".").Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	allowed := map[string]bool{
		"github.com/paybridge/paybridge/siptest":                true,
		"github.com/paybridge/paybridge/media":                  true,
		"github.com/paybridge/paybridge/dtmf":                   true,
		"github.com/paybridge/paybridge/internal/sipsafe":       true,
		"github.com/paybridge/paybridge/pan":                    true,
		"github.com/paybridge/paybridge/internal/tlsconf":       true,
		"github.com/paybridge/paybridge/internal/cardsafe/regs": true,
	}
	sipgo := false
	for _, d := range strings.Fields(string(out)) {
		if strings.HasPrefix(d, "github.com/paybridge/paybridge/") && !allowed[d] {
			t.Errorf("siptest depends on %s", d)
		}
		sipgo = sipgo || strings.HasPrefix(d, "github.com/emiago/sipgo")
	}
	if !sipgo { // control: the list is the real one
		t.Error("sipgo missing from the dependencies")
	}
}
