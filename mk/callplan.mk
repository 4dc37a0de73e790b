# The call-plan language (docs/callplan.md; package callplan): parser, validator, `paybridge validate`.
#
# callplan-plans (~1 s): the built binary validates every example plan in examples/plans
#   (exit 0, no error, no warning) and refuses every plan in testdata/plans/bad with exit 1
#   and each `expect: LINE:COL: MESSAGE` line of the plan's trailing comment on stderr; each
#   directory in testdata/plans/bad is validated as one set (cross-plan checks) the same way.
# callplan-examples (~1 s): runs every example plan listed in testdata/plans/replay/cases.tsv
#   through `paybridge replay --digits` against the embedded sandbox and checks the result
#   against testdata/plans/replay/PLAN.expect.json; fails if a test card number appears in the
#   output.
# callplan-fuzz (not part of `make test`; ~3 min): runs the six language fuzz targets briefly.

CALLPLAN_PANS := 4242424242424242|5555555555554444|378282246310005|4000000000000002

.PHONY: callplan-plans callplan-examples callplan-fuzz

callplan-examples: build
	@set -e; out=$$(mktemp); trap 'rm -f $$out' EXIT; n=0; \
	grep -v '^#' testdata/plans/replay/cases.tsv | { while IFS='	' read -r plan keys; do \
	  [ -n "$$plan" ] || continue; n=$$((n+1)); \
	  if ! ./$(BIN) replay --start 2026-11-22T10:00:00Z --plan examples/plans/$$plan.xml --digits "$$keys" \
	       --expect testdata/plans/replay/$$plan.expect.json --json >>$$out 2>&1; then \
	    cat $$out >&2; echo "callplan-examples: $$plan did not run as expected" >&2; exit 1; fi; \
	done; \
	if grep -Eq '$(CALLPLAN_PANS)' $$out; then echo "callplan-examples: a card number appeared in replay output" >&2; exit 1; fi; \
	echo "callplan-examples: ok ($$n example plans replayed against the sandbox)"; }

callplan-plans: build
	@set -e; out=$$(mktemp); trap 'rm -f $$out' EXIT; \
	if ! ./$(BIN) validate examples/plans/*.xml 2>$$out; then cat $$out >&2; echo "callplan-plans: example plans do not validate" >&2; exit 1; fi; \
	if ! grep -q ' plans checked: 0 errors, 0 warnings$$' $$out; then cat $$out >&2; echo "callplan-plans: example plans have warnings" >&2; exit 1; fi; \
	n=0; for f in testdata/plans/bad/*.xml; do \
	  n=$$((n+1)); \
	  if ./$(BIN) validate $$f 2>$$out; then echo "callplan-plans: $$f was accepted" >&2; exit 1; fi; \
	  grep -q '^expect:' $$f || { echo "callplan-plans: $$f has no expect: lines" >&2; exit 1; }; \
	  grep '^expect:' $$f | sed 's/^expect: *//' | while IFS= read -r want; do \
	    grep -qxF -- "$$f:$$want" $$out || { echo "callplan-plans: $$f: missing \"$$f:$$want\"; got:" >&2; cat $$out >&2; exit 1; }; \
	  done; \
	done; \
	for d in testdata/plans/bad/*/; do \
	  n=$$((n+1)); d=$${d%/}; \
	  if ./$(BIN) validate $$d 2>$$out; then echo "callplan-plans: $$d was accepted" >&2; exit 1; fi; \
	  for f in $$d/*.xml; do \
	    grep '^expect:' $$f | sed 's/^expect: *//' | while IFS= read -r want; do \
	      grep -qxF -- "$$f:$$want" $$out || { echo "callplan-plans: $$d: missing \"$$f:$$want\"; got:" >&2; cat $$out >&2; exit 1; }; \
	    done; \
	  done; \
	done; \
	echo "callplan-plans: ok ($$(ls examples/plans/*.xml | wc -l) example plans valid, $$n bad plans or plan sets refused as expected)"

callplan-fuzz:
	@for t in FuzzParse FuzzExpr FuzzTemplate FuzzLocator FuzzURLOrigin FuzzAmountPrompts; do \
	  $(GO) test ./callplan -run '^$$' -fuzz "^$$t\$$" -fuzztime=30s || exit 1; \
	done

EXTRA_TESTS += callplan-plans callplan-examples
