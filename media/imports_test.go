package media

import (
	"os/exec"
	"strings"
	"testing"
)

// TestImportsKnowNothingOfSIP holds the package to its place in docs/architecture.md: media
// may import dtmf, pion and the standard library — never sipgo, the endpoint, the test caller
// or anything above them.
func TestImportsKnowNothingOfSIP(t *testing.T) {
	out, err := exec.Command("go", "list", "-deps", ".").Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	deps := strings.Fields(string(out))
	var paybridge []string
	for _, d := range deps {
		if strings.Contains(d, "sipgo") || strings.HasPrefix(d, "github.com/paybridge/paybridge/") &&
			d != "github.com/paybridge/paybridge/dtmf" && d != "github.com/paybridge/paybridge/media" {
			t.Errorf("media depends on %s", d)
		}
		if strings.HasPrefix(d, "github.com/paybridge/paybridge/") {
			paybridge = append(paybridge, d)
		}
	}
	if len(paybridge) != 2 { // control: the list does hold the project's packages
		t.Errorf("paybridge packages in the list: %v, want dtmf and media", paybridge)
	}
}
