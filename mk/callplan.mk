# The call-plan language (docs/callplan.md): parser, validator, `paybridge validate`.
#
# callplan-plans (~1 s): the built binary validates every example plan in testdata/plans
#   (exit 0, no error, no warning) and refuses every plan in testdata/plans/bad with exit 1
#   and each `expect: LINE:COL: MESSAGE` line of the plan's trailing comment on stderr.
# callplan-fuzz (not part of `make test`; ~2 min): runs the four language fuzz targets briefly.

.PHONY: callplan-plans callplan-fuzz

callplan-plans: build
	@set -e; out=$$(mktemp); trap 'rm -f $$out' EXIT; \
	if ! ./$(BIN) validate testdata/plans/*.xml 2>$$out; then cat $$out >&2; echo "callplan-plans: example plans do not validate" >&2; exit 1; fi; \
	if ! grep -q ' plans checked: 0 errors, 0 warnings$$' $$out; then cat $$out >&2; echo "callplan-plans: example plans have warnings" >&2; exit 1; fi; \
	n=0; for f in testdata/plans/bad/*.xml; do \
	  n=$$((n+1)); \
	  if ./$(BIN) validate $$f 2>$$out; then echo "callplan-plans: $$f was accepted" >&2; exit 1; fi; \
	  grep -q '^expect:' $$f || { echo "callplan-plans: $$f has no expect: lines" >&2; exit 1; }; \
	  grep '^expect:' $$f | sed 's/^expect: *//' | while IFS= read -r want; do \
	    grep -qxF -- "$$f:$$want" $$out || { echo "callplan-plans: $$f: missing \"$$f:$$want\"; got:" >&2; cat $$out >&2; exit 1; }; \
	  done; \
	done; \
	echo "callplan-plans: ok ($$(ls testdata/plans/*.xml | wc -l) example plans valid, $$n bad plans refused as expected)"

callplan-fuzz:
	@for t in FuzzParse FuzzExpr FuzzTemplate FuzzLocator; do \
	  $(GO) test ./callplan -run '^$$' -fuzz "^$$t\$$" -fuzztime=30s || exit 1; \
	done

EXTRA_TESTS += callplan-plans
