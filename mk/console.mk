# store, console and deploy (docs/operations.md).
#
# The Go tests of store, console and internal/e2e (the Chromium console tests) run in
# `make test-go`. This fragment adds:
#   console-deploy-verify (~1 s, part of `make test`): systemd-analyze verifies
#     deploy/paybridge.service (every directive known, no warning) against the built binary.
#   console-e2e (not part of `make test`; same tests as in test-go, ~40 s): the headless
#     Chromium tests alone, printing the screenshot paths (out/console.png,
#     out/console-standalone.png).
#   console-fuzz (not part of `make test`; ~80 s): the store and console fuzz targets, 20 s each.
#   console-bench (part of `make bench`): hub fan-out and store write/read figures.

.PHONY: console-deploy-verify console-e2e console-fuzz console-bench

console-deploy-verify: build
	@command -v systemd-analyze >/dev/null || { echo "console-deploy-verify: systemd-analyze not installed: run make deps" >&2; exit 1; }
	@set -e; d=$$(mktemp -d); trap 'rm -rf $$d' EXIT; \
	sed "s|/usr/local/bin/paybridge|$(abspath $(BIN))|" deploy/paybridge.service > $$d/paybridge.service; \
	out=$$(systemd-analyze verify --man=no $$d/paybridge.service 2>&1) || { echo "$$out" >&2; exit 1; }; \
	if [ -n "$$out" ]; then echo "$$out" >&2; echo "console-deploy-verify: deploy/paybridge.service has warnings" >&2; exit 1; fi; \
	echo "console-deploy-verify: deploy/paybridge.service ok"

console-e2e: build
	PAYBRIDGE_BIN=$(abspath $(BIN)) $(GO) test -count=1 -v -run 'TestConsole' ./internal/e2e/

console-fuzz:
	@for t in FuzzDecodeCursor; do \
	  $(GO) test ./store -run '^$$' -fuzz "^$$t\$$" -fuzztime=20s || exit 1; \
	done
	$(GO) test ./console -run '^$$' -fuzz '^FuzzParseFilters$$' -fuzztime=20s

console-bench:
	$(GO) test -run '^$$' -bench . -benchmem -count=1 ./store ./console

EXTRA_TESTS += console-deploy-verify
