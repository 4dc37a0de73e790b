# The architecture (docs/architecture.md) held to the code.
#
# arch-check (~1 s): every package imports exactly what its row of docs/architecture.md lists,
#   every package has a row, and no package depends, directly or not, on what a wall forbids
#   (`go list`). `make test` runs it with the other Go tests; this target runs it alone.

.PHONY: arch-check

arch-check:
	$(GO) test -count=1 -run 'TestImportsMatchArchitecture|TestCheckFindsBrokenLayers' ./internal/archcheck
