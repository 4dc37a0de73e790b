package examples

import (
	"embed"
	"io/fs"
)

//go:embed plans/*.xml
var plans embed.FS

// Plans returns the example plans: one XML file per plan ("pay.xml", "gather.xml", …) at the
// root of the file system.
func Plans() fs.FS {
	sub, err := fs.Sub(plans, "plans")
	if err != nil {
		panic(err) // "plans" is a valid path: fs.Sub cannot fail on it
	}
	return sub
}
