# The suite on a busy machine (CI runs `make test` on a 2-core box doing other work).
#
# test-busy: runs the Go tests while `stress-ng --cpu 2` keeps two cores busy beside them, as
#   many times as BUSY_RUNS (default 1), and fails if any run fails. Not part of `make test`
#   (it takes twice as long); run it after changing anything timing-sensitive.

BUSY_RUNS ?= 1

.PHONY: test-busy

test-busy: deps build
	@command -v stress-ng >/dev/null || { echo "test-busy: stress-ng not installed: run make deps" >&2; exit 1; }; \
	stress-ng --cpu 2 --timeout 3h --quiet & hog=$$!; trap 'kill $$hog 2>/dev/null; wait $$hog 2>/dev/null' EXIT; \
	for i in $$(seq 1 $(BUSY_RUNS)); do \
	  echo "test-busy: run $$i of $(BUSY_RUNS) beside stress-ng --cpu 2"; \
	  $(GO) test $(TESTFLAGS) ./... || { echo "test-busy: run $$i failed" >&2; exit 1; }; \
	done; \
	echo "test-busy: $(BUSY_RUNS) run(s) passed beside stress-ng --cpu 2"
