# ivr, media, siptest — the SIP endpoint, its RTP/SRTP layer and the test caller. The SIPp, baresip
# and torture proofs are Go tests (ivr/, internal/e2e/) that `make test` runs with everything
# else; these targets run them alone.

.PHONY: test-sip loadtest-ivr loadtest-bridge

## test-sip: the outside-caller proofs only (SIPp, baresip, RFC 4475 torture, e2e on the binary,
## TLS and SRTP with the capture proof)
test-sip: build
	$(GO) test $(TESTFLAGS) -run 'SIPp|Baresip|Torture|Caller|E2E|TLS|SRTP' ./ivr/ ./media/ ./cmd/paybridge/ ./internal/e2e/ ./internal/tlsconf/

## loadtest-ivr: SIPp on loopback against the ivr endpoint in-process; bounded, stops by itself,
## prints a report. Not part of `make loadtest` (which prints the capacity table of
## mk/loadtest.mk); run it alone.
## Run 1: 1000 calls keying a card in-band (SIPp rtp_stream) + 5000 short calls at 500/s.
## Run 2: 500 calls keying it over RFC 4733 (SIPp play_pcap_audio: a SIPp thread per call, so
## fewer calls keep the load generator from starving the endpoint on a 2-core machine).
IVRLOAD_ARGS ?= -card-dtmf inband -card-calls 1000 -card-rate 150 -short-calls 5000 -short-rate 500
IVRLOAD_4733_ARGS ?= -card-dtmf rfc4733 -card-calls 500 -card-rate 100 -short-calls 0
loadtest-ivr:
	ulimit -n "$$(ulimit -Hn)" 2>/dev/null || true; $(GO) run ./loadtest/ivrload $(IVRLOAD_ARGS) && \
	$(GO) run ./loadtest/ivrload $(IVRLOAD_4733_ARGS)

## loadtest-bridge: calls bridged to an agent (a SIPp PBX answering and echoing) with a secure
## capture on while the card is keyed, RFC 4733 then in-band: the secure side's digits and the
## agent side's audio figures (docs/agent.md, Load). Not part of `make loadtest`; run it alone.
BRIDGELOAD_ARGS ?= -card-calls 0 -short-calls 0 -bridge-calls 300 -bridge-rate 30
loadtest-bridge:
	ulimit -n "$$(ulimit -Hn)" 2>/dev/null || true; $(GO) run ./loadtest/ivrload $(BRIDGELOAD_ARGS) -bridge-dtmf rfc4733 && \
	$(GO) run ./loadtest/ivrload $(BRIDGELOAD_ARGS) -bridge-dtmf inband

## test-media-io: the media package on the epoll path (media/rtpio_linux.go): serve's fallback
## where io_uring cannot be set up, and its choice with PAYBRIDGE_RTP_IO=epoll. `go test ./...`
## ran it on io_uring, the default (its own tests included: ring buffers cleared, cancel on
## close, bursts beyond the buffers, the fallback under a seccomp filter).
EXTRA_TESTS += test-media-io
.PHONY: test-media-io
test-media-io:
	PAYBRIDGE_RTP_IO=epoll $(GO) test $(TESTFLAGS) ./media/
