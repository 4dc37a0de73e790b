# DTMF area (dtmf/, internal/audiofile, internal/spandspref, `paybridge dtmf`).
#
#   make dtmf-compare   paybridge's detector and spandsp's dtmf_rx side by side: every row of
#                       the conformance matrix of docs/dtmf.md (MUST/SHOULD counts),
#                       talk-off/talk-down; then the benchmarks, CPU time per 20 ms frame among
#                       them (BenchmarkCPUPerFrame)
#   make dtmf-fuzz      every fuzz target of the area for DTMF_FUZZTIME each (default 20s)
#   make dtmf-talkoff   only the long talk-off/talk-down tests (the speech corpus is generated
#                       once with espeak-ng/flite into $(XDG_CACHE_HOME)/paybridge/talkoff)

DTMF_FUZZTIME ?= 20s

.PHONY: dtmf-compare dtmf-fuzz dtmf-talkoff

dtmf-compare:
	$(GO) test -count=1 -v -run 'TestCompareWithSpandsp|TestCompareTalk' ./internal/spandspref
	$(GO) test -run '^$$' -bench 'Frame' -benchmem ./dtmf ./internal/spandspref

dtmf-fuzz:
	@set -e; for f in FuzzTelephoneEvent FuzzUnpackRED FuzzParseInfo FuzzDetector FuzzMasker FuzzStream; do \
	  $(GO) test -run '^$$' -fuzz "^$$f$$" -fuzztime=$(DTMF_FUZZTIME) ./dtmf; done; \
	for f in FuzzReadWAV FuzzReadPcap; do \
	  $(GO) test -run '^$$' -fuzz "^$$f$$" -fuzztime=$(DTMF_FUZZTIME) ./internal/audiofile; done

dtmf-talkoff:
	$(GO) test -count=1 -v -run 'TestTalkOff|TestTalkDown' ./dtmf

EXTRA_BENCH += dtmf-compare
