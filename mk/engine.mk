# The call-plan engine (package engine), prompts and offline replay (docs/pay.md, docs/replay.md).
#
# replay-fixtures: replays every recorded call of testdata/replay, and every typed case of
# testdata/replay/branches.tsv (the VCC plan's failure branches among them), through the built binary
# against its expectation, and fails if a card number appears in any output (~2 s).
# bench-replay: the 60-second-call replay figure (x_realtime, target ≥ 1000).
# engine-fuzz (not part of `make test`; ~1 min): runs the engine's two fuzz targets briefly.

REPLAY      := ./$(BIN) replay --start 2026-11-22T10:00:00Z
REPLAY_PANS := 4242424242424242|5555555555554444|378282246310005|4000000000000002

.PHONY: replay-fixtures bench-replay engine-fuzz

replay-fixtures: build
	@json=$$(mktemp); log=$$(mktemp); trap 'rm -f $$json $$log' EXIT; \
	fail() { cat $$log >&2; echo "replay-fixtures: FAILED" >&2; exit 1; }; \
	$(REPLAY) --json --plan examples/plans/vcc-secure-payments.xml --input testdata/replay \
	  --expect testdata/replay >>$$json 2>>$$log || fail; \
	n=0; while IFS='	' read -r name plan keys faults envs; do \
	  case "$$name" in ''|'#'*) continue;; esac; n=$$((n+1)); \
	  set -- --json --plan examples/plans/$$plan.xml --digits "$$keys" --expect testdata/replay/$$name.expect.json; \
	  [ "$$faults" = "-" ] || set -- "$$@" --faults "$$faults"; \
	  [ "$$envs" = "-" ] && envs=; \
	  env $$envs $(REPLAY) "$$@" >>$$json 2>>$$log || fail; \
	done < testdata/replay/branches.tsv; \
	echo "replay-fixtures: $$n typed cases of testdata/replay/branches.tsv" >>$$log; \
	if cat $$json $$log | grep -Eq '$(REPLAY_PANS)'; then echo "replay-fixtures: a card number appeared in replay output" >&2; exit 1; fi; \
	cat $$log; echo "replay-fixtures: ok"

bench-replay:
	$(GO) test -run '^$$' -bench 'Replay' -benchtime 3s ./internal/replay

engine-fuzz:
	@for t in FuzzRunPlan FuzzPay; do \
	  $(GO) test ./engine -run '^$$' -fuzz "^$$t\$$" -fuzztime=30s || exit 1; \
	done

EXTRA_TESTS += replay-fixtures
EXTRA_BENCH += bench-replay
