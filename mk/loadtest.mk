# loadtest — capacity side by side (issue 17): paybridge serve vs a peer IVR on diago vs the
# kernel's floor, with our own load generator (loadtest/callgen) and SIPp as the outside check.
# `make loadtest` prints one table (loadtest/capacity); it is bounded (-budget, ~20 min on a
# 2-core box) and not part of `make test`, which only runs the generator's smoke test
# (loadtest/capacity TestOwnGeneratorPaysThroughServe, with the Go tests) and vets the peer.

.PHONY: diagopeer diagopeer-vet udpfloor loadtest-capacity loadtest-pairs loadtest-profile

## diagopeer: build the diago peer (its own Go module, outside paybridge's dependency graph)
diagopeer:
	cd loadtest/diagopeer && $(GO) build -o ../../bin/diagopeer .

## diagopeer-vet: the peer still builds and vets against diago (run by make test)
diagopeer-vet:
	cd loadtest/diagopeer && $(GO) vet .

## udpfloor: this box's loopback UDP send+receive cost per packet and per call-second, alone
udpfloor:
	$(GO) run ./loadtest/udpfloor/cmd/udpfloor

## loadtest-capacity: the table. CAPACITY_ARGS changes the ladder, rows, lead, budget, e.g.
## CAPACITY_ARGS='-ladder 200,500 -rows paybridge/own/rfc4733,diago/own/rfc4733'
CAPACITY_ARGS ?=
loadtest-capacity: build diagopeer
	$(GO) build -o bin/capacity ./loadtest/capacity
	./bin/capacity $(CAPACITY_ARGS)

## loadtest-pairs: paybridge beside the peer, PAIRS rounds at one concurrency, rows alternating
## within a round: medians and the per-round peer ÷ paybridge ratio (the figure to quote on a
## shared machine, where one run moves ±20–30 %).
PAIRS ?= 5
PAIRS_ARGS ?= -ladder 1000 -rows paybridge/own/rfc4733,diago/own/rfc4733 -serve-args "--max-calls 1000 --admission fixed"
loadtest-pairs: build diagopeer
	$(GO) build -o bin/capacity ./loadtest/capacity
	./bin/capacity -pairs $(PAIRS) $(PAIRS_ARGS)

EXTRA_TESTS += diagopeer-vet
LOADTESTS += loadtest-capacity

## loadtest-profile: where serve's time goes under load — CPU and allocation profiles of each
## paybridge rung into bin/profiles (serve with the profiler: loadtest/serveprof), top lists printed.
PROFILE_ARGS ?= -ladder 1000 -rows paybridge/own/rfc4733,paybridge/own/inband
loadtest-profile: build diagopeer
	$(GO) build -o bin/capacity ./loadtest/capacity
	$(GO) build -o bin/serveprof ./loadtest/serveprof
	./bin/capacity -pprof bin/profiles $(PROFILE_ARGS)
	for f in bin/profiles/*.cpu.pprof; do echo "== $$f"; $(GO) tool pprof -top -nodecount=30 bin/serveprof $$f 2>/dev/null | tail -n +5; done
	for f in bin/profiles/*.allocs.pprof; do echo "== $$f"; $(GO) tool pprof -sample_index=alloc_space -top -nodecount=20 bin/serveprof $$f 2>/dev/null | tail -n +5; done
