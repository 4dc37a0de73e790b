# gateway: payment connectors, payment links, SMS, webhooks (the sandbox provider: mk/sandbox.mk).
.PHONY: gateway-fuzz gateway-load

# Brief fuzzing of every gateway parser (not part of `make test`; run before a release).
gateway-fuzz:
	@for f in FuzzParseSignature FuzzParseCardForm FuzzParseLinkToken FuzzParseAmount; do \
		$(GO) test -run '^$$' -fuzz "^$$f$$" -fuzztime=20s ./gateway || exit 1; done

# Concurrent payments through the sandbox with injected faults: prints payments/s and latency
# percentiles, and fails on any double charge.
gateway-load:
	$(GO) test -run '^$$' -bench 'BenchmarkPaymentLoad' -benchtime=2000x -count=1 ./gateway

LOADTESTS += gateway-load
