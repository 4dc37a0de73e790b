package examples

import (
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"testing"
)

// TestPlansShipEveryExample: the embedded plans are exactly the files of examples/plans, at the
// root of Plans(), byte for byte.
func TestPlansShipEveryExample(t *testing.T) {
	onDisk, err := filepath.Glob(filepath.Join("plans", "*.xml"))
	if err != nil || len(onDisk) < 10 {
		t.Fatalf("examples/plans holds %d plans (%v)", len(onDisk), err)
	}
	embedded, err := fs.Glob(Plans(), "*.xml")
	if err != nil {
		t.Fatal(err)
	}
	var want []string
	for _, p := range onDisk {
		want = append(want, filepath.Base(p))
	}
	if !slices.Equal(embedded, want) {
		t.Fatalf("embedded %v, on disk %v", embedded, want)
	}
	for _, name := range want {
		got, err := fs.ReadFile(Plans(), name)
		if err != nil {
			t.Fatal(err)
		}
		disk, err := os.ReadFile(filepath.Join("plans", name))
		if err != nil || string(got) != string(disk) {
			t.Fatalf("%s: embedded copy differs from the file (%v)", name, err)
		}
	}
}
