# Text-to-speech (tts/, docs/tts.md) and the bundled prompt packs (prompts/).
#
#   make prompts        renders every pack prompts/<lang>/ from prompts/<lang>.tsv through the tts
#                       package (espeak-ng, deterministic: the same text gives the same bytes);
#                       commit the WAVs it changes
#   prompts-check       (part of `make test`, ~1 s) each pack holds exactly the prompts its .tsv
#                       lists, and every pack every prompt of en-GB (names only: espeak-ng's
#                       output differs slightly between versions)
#   tts-bench           (part of `make bench`, ~40 s) render latency p50/p95: cold through
#                       libespeak-ng (target p95 < 100 ms) and the espeak-ng program, cold through
#                       the cache, cached hits from memory and from disk
#   say-bench           (part of `make bench`, ~10 s) a <Say> in a plan on a live-style channel:
#                       from entering the step to the speech reaching the channel, p50/p95, for
#                       text with a $(…) that changes every call (a cache miss through
#                       libespeak-ng; target p95 < 100 ms) and static text rendered at plan load
#   tts-fuzz            (not part of `make test`) the markup and WAV-conversion fuzz targets

TTS_FUZZTIME ?= 20s

.PHONY: prompts prompts-check tts-bench say-bench tts-fuzz

prompts:
	$(GO) run ./prompts/generate

prompts-check:
	@set -e; base=$$(grep -v '^#' prompts/en-GB.tsv | grep -v '^$$' | cut -f1 | sort); n=0; \
	for tsv in prompts/*.tsv; do \
	  lang=$$(basename $$tsv .tsv); n=$$((n+1)); \
	  want=$$(grep -v '^#' $$tsv | grep -v '^$$' | cut -f1 | sort); \
	  have=$$(ls prompts/$$lang 2>/dev/null | sed 's/\.wav$$//' | sort); \
	  if [ "$$want" != "$$have" ]; then echo "prompts-check: prompts/$$lang differs from $$tsv; run make prompts" >&2; exit 1; fi; \
	  if [ "$$want" != "$$base" ]; then echo "prompts-check: $$tsv does not list every prompt of en-GB.tsv" >&2; exit 1; fi; \
	done; \
	echo "prompts-check: ok ($$n packs of $$(echo "$$base" | wc -l) prompts)"

tts-bench:
	$(GO) test -run '^$$' -bench 'Render' -benchtime 300x -count 1 ./tts

say-bench:
	$(GO) test -run '^$$' -bench 'Say(Dynamic|Static)' -benchtime 300x -count 1 ./engine

tts-fuzz:
	$(GO) test -run '^$$' -fuzz '^FuzzParseMarkup$$' -fuzztime=$(TTS_FUZZTIME) ./tts
	$(GO) test -run '^$$' -fuzz '^FuzzConvertWAV$$' -fuzztime=$(TTS_FUZZTIME) ./internal/audiofile

EXTRA_TESTS += prompts-check
EXTRA_BENCH += tts-bench say-bench
