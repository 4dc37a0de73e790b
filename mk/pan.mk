# Card data (pan/): the secure buffer, the one mask, the card rules, the one redactor.
#
#   make pan-fuzz    every fuzz target of pan for PAN_FUZZTIME each (default 30s): the redactor
#                    on text and JSON, and the card rules against one another
#   make pan-bench   the redactor's cost per log line, clean and with a card

PAN_FUZZTIME ?= 30s

.PHONY: pan-fuzz pan-bench

pan-fuzz:
	@set -e; for f in FuzzRedact FuzzRedactJSON FuzzCardRules; do \
	  $(GO) test -run '^$$' -fuzz "^$$f$$" -fuzztime=$(PAN_FUZZTIME) ./pan; done

pan-bench:
	$(GO) test -run '^$$' -bench . -benchmem -count=1 ./pan

