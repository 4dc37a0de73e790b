// Package paybridge holds the assets the binary ships with: the example call plans that
// `paybridge serve` installs into its data directory on first start when no --plans directory
// is given. The product itself lives in the sub-packages (see README.md).
package paybridge

import "embed"

// ExamplePlans are the runnable example plans of testdata/plans (one per feature), the same
// files `make test` validates.
//
//go:embed testdata/plans/*.xml
var ExamplePlans embed.FS
