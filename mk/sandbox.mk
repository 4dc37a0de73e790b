# sandbox: the embedded payment provider (sandbox/), which speaks to paybridge only over HTTP.
#
#   make sandbox-fuzz   every fuzz target of the sandbox for SANDBOX_FUZZTIME each (default
#                       20s): its card-field decoders, amounts, payment-key signatures and keys,
#                       and fault injection's JSON

SANDBOX_FUZZTIME ?= 20s

.PHONY: sandbox-fuzz

sandbox-fuzz:
	@set -e; for f in FuzzCardFields FuzzParseAmount FuzzVerifySignature FuzzParsePaymentKeys FuzzFaultsJSON; do \
	  $(GO) test -run '^$$' -fuzz "^$$f$$" -fuzztime=$(SANDBOX_FUZZTIME) ./sandbox; done
