# paybridge — the two commands a user needs are `make run` and `make test`.
#
# Each area of the product keeps its own make fragment in mk/*.mk (extra test, bench and load
# targets) and its own Debian package list in deps/apt/*.txt, so that `make test` on a fresh
# Debian machine installs everything the tests need before running them. No test is skipped
# because a tool is missing: the tool is installed, or the run fails with a clear message.

GO        ?= go
BIN       := bin/paybridge
GOFLAGS   ?=
TESTFLAGS ?= -count=1 -timeout 60m
export PATH := $(shell $(GO) env GOPATH)/bin:$(PATH)

APT_PACKAGES := $(sort $(shell cat deps/apt/*.txt 2>/dev/null | sed -e 's/\#.*//'))

# Fragments append to these: EXTRA_TESTS (run by `make test` after the Go tests),
# EXTRA_BENCH (run by `make bench`), LOADTESTS (run by `make loadtest`).
EXTRA_TESTS :=
EXTRA_BENCH :=
LOADTESTS   :=
-include mk/*.mk

.PHONY: all build run test test-go deps go-deps vet fmt-check bench loadtest clean help

all: build

help:
	@echo "make run       start paybridge on embedded defaults (SIP :5060, console http://127.0.0.1:8080)"
	@echo "make test      install what the tests need, then run every test"
	@echo "make bench     run the benchmarks and print the numbers"
	@echo "make loadtest  drive a running build with SIPp on loopback and print a report"

build:
	$(GO) build $(GOFLAGS) -o $(BIN) ./cmd/paybridge

run: build
	./$(BIN) serve

deps: go-deps
	@scripts/install-deps.sh $(APT_PACKAGES)

go-deps:
	$(GO) mod download

vet:
	$(GO) vet ./...

fmt-check:
	@out=$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go')); \
	if [ -n "$$out" ]; then echo "gofmt would change:"; echo "$$out"; exit 1; fi

# Files tests write for people to look at (the console's screenshots) go to out/artifacts.
test-go: build
	@mkdir -p out/artifacts
	$(GO) test $(TESTFLAGS) -artifacts -outputdir $(CURDIR)/out/artifacts ./...

test: deps vet fmt-check test-go $(EXTRA_TESTS)
	@echo "make test: all tests passed"

bench: deps build $(EXTRA_BENCH)
	$(GO) test -run '^$$' -bench . -benchmem -count=1 ./...

loadtest: deps build $(LOADTESTS)

clean:
	rm -rf bin
