// Package archcheck holds docs/architecture.md to the code: the page's package tables say,
// row by row, what each package imports, and its walls what a package must never depend on,
// directly or not. Check compares them with the import graph `go list` reports; the package's
// test runs it on the repository (`make test`, `make arch-check`).
package archcheck
