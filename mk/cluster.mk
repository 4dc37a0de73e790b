# Several nodes behind Kamailio, one PostgreSQL database (issue 14; docs/cluster.md,
# deploy/cluster/README.md).
#
# The Go tests — the store suite on SQLite and a throwaway PostgreSQL, the nodes-on-one-database
# tests of internal/app, `paybridge migrate`, and the Kamailio + 2 nodes + PostgreSQL proof of
# internal/e2e (TestClusterKamailio, ~1.5 min, prints its FIGURES lines with -v) — run in
# `make test-go`. This fragment adds:
#   cluster-config-check (part of `make test`, <1 s): kamailio -c on deploy/kamailio/kamailio.cfg.
#   cluster: the local demo (Kamailio on 127.0.0.1:5060, nodes on 127.0.0.2, 127.0.0.3, …,
#     PostgreSQL in a temporary directory, a standalone sandbox); Ctrl-C stops it all.
#     CLUSTER_ARGS="-nodes 3 -proxy 127.0.0.1:5070" changes it.
#   test-cluster: the cluster proofs alone, verbose (the figures).

.PHONY: cluster cluster-config-check test-cluster

EXTRA_TESTS += cluster-config-check

CLUSTER_ARGS ?=

cluster: deps build
	$(GO) run ./internal/clusterdemo -bin $(BIN) $(CLUSTER_ARGS)

cluster-config-check:
	@command -v kamailio >/dev/null || { echo "cluster-config-check: kamailio not installed: run make deps" >&2; exit 1; }
	@set -e; d=$$(mktemp -d); trap 'rm -rf $$d' EXIT; \
	echo "1 sip:127.0.0.2:5060 0 0 duid=pb-1;" > $$d/nodes.list; \
	out=$$(kamailio -c -f deploy/kamailio/kamailio.cfg -A "DS_LIST=\"$$d/nodes.list\"" 2>&1) || { echo "$$out" >&2; exit 1; }; \
	out=$$(kamailio -c -f deploy/kamailio/kamailio.cfg -A "DS_LIST=\"$$d/nodes.list\"" -A 'TRUSTED_NET="10.0.0.0/8"' -A WITH_CTL 2>&1) || { echo "$$out" >&2; exit 1; }; \
	echo "cluster-config-check: deploy/kamailio/kamailio.cfg ok (plain, and with TRUSTED_NET and WITH_CTL)"

test-cluster: build
	$(GO) test $(TESTFLAGS) -v -run 'Cluster|TwoNodes|NodeLeases|Orphaned|LiveFeed|SMSCap|WebhookClaims|Migrate|ConnectionLoss|Copy' ./store/ ./internal/app/ ./cmd/paybridge/ ./internal/e2e/
