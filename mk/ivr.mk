# ivr — the SIP/RTP endpoint. Its SIPp, baresip and torture proofs are Go tests (ivr/,
# internal/e2e/) that `make test` runs with everything else; these targets run them alone.

.PHONY: test-sip loadtest-ivr

## test-sip: the outside-caller proofs only (SIPp, baresip, RFC 4475 torture, e2e on the binary)
test-sip: build
	$(GO) test $(TESTFLAGS) -run 'SIPp|Baresip|Torture|Caller|E2E' ./ivr/ ./cmd/paybridge/ ./internal/e2e/

## loadtest-ivr: SIPp on loopback against the endpoint; bounded, stops by itself, prints a report.
## Override the load with IVRLOAD_ARGS="-card-calls 1000 -card-rate 150 -short-calls 5000 -short-rate 500".
IVRLOAD_ARGS ?= -card-calls 1000 -card-rate 150 -short-calls 5000 -short-rate 500
loadtest-ivr:
	ulimit -n "$$(ulimit -Hn)" 2>/dev/null || true; $(GO) run ./loadtest/ivrload $(IVRLOAD_ARGS)

LOADTESTS += loadtest-ivr
