# Zentrix webhook processor. `make run` starts everything, `make test` tests everything.

TEMPORAL_CLI_VERSION := v1.5.1
TEMPORAL_SERVER_VERSION := v1.29.1
BIN := $(CURDIR)/bin
GO ?= go
FUZZTIME ?= 5s

.DEFAULT_GOAL := help

.PHONY: help
help: ## list the targets
	@awk 'BEGIN {FS = ":.*## "} /^[a-zA-Z_\/-]+:.*## / {printf "  %-14s %s\n", $$1, $$2}' $(MAKEFILE_LIST)

.PHONY: temporal
temporal: $(BIN)/temporal ## the Temporal CLI and dev server (built from the Go module proxy, ~3.5 min the first time)

$(BIN)/temporal:
	GOBIN=$(BIN) $(GO) install github.com/temporalio/cli/cmd/temporal@$(TEMPORAL_CLI_VERSION)

.PHONY: cluster-bin
cluster-bin: $(BIN)/temporal-server $(BIN)/temporal-sql-tool ## the real Temporal server and its SQL tool (~2.5 min the first time)

# go install names them server and sql; they are built in a directory of
# their own and renamed.
$(BIN)/temporal-server:
	tmp=$$(mktemp -d) && GOBIN=$$tmp $(GO) install go.temporal.io/server/cmd/server@$(TEMPORAL_SERVER_VERSION) && \
		mkdir -p $(BIN) && mv $$tmp/server $@ && rmdir $$tmp

$(BIN)/temporal-sql-tool:
	tmp=$$(mktemp -d) && GOBIN=$$tmp $(GO) install go.temporal.io/server/cmd/tools/sql@$(TEMPORAL_SERVER_VERSION) && \
		mkdir -p $(BIN) && mv $$tmp/sql $@ && rmdir $$tmp

.PHONY: cluster
cluster: cluster-bin build ## Temporal cluster on the local PostgreSQL (4 services), 2 receivers, 2 workers, in the background
	$(BIN)/cluster up

.PHONY: cluster-down
cluster-down: ## stop what make cluster started (keeps its databases; bin/cluster down -drop drops them)
	$(GO) run ./cmd/cluster down

.PHONY: demo-cluster
demo-cluster: ## play a call and a subscription's life through the first receiver of `make cluster`, check their states
	$(GO) run ./cmd/send demo -url http://127.0.0.1:8081

.PHONY: e2e-cluster
e2e-cluster: ## the end-to-end tests on the cluster of make cluster (each test in a namespace of its own)
	E2E_TEMPORAL_ADDRESS=$${E2E_TEMPORAL_ADDRESS:-127.0.0.1:7233} $(GO) test -count=1 -v -run . ./e2e

.PHONY: build
build: ## build bin/receiver, bin/worker, bin/dev and bin/cluster
	$(GO) build -o $(BIN)/ ./cmd/...

.PHONY: run
run: $(BIN)/temporal build ## run dev server, worker and receiver with development secrets; Ctrl-C stops all
	$(BIN)/dev

.PHONY: demo
demo: ## play a call and a subscription's life against a running `make run`, check their states
	$(GO) run ./cmd/send demo

.PHONY: test
test: $(BIN)/temporal cluster-bin ## every test: unit, workflow, receiver, store (SQLite and PostgreSQL), end-to-end, fuzz seeds
	$(GO) vet ./...
	$(GO) test -count=1 ./...
	$(GO) test -race -count=1 ./...
	$(GO) test -run='^$$' -fuzz='^FuzzVerify$$' -fuzztime=$(FUZZTIME) ./receiver
	$(GO) test -run='^$$' -fuzz='^FuzzParseCall$$' -fuzztime=$(FUZZTIME) ./event
	$(GO) test -run='^$$' -fuzz='^FuzzParseRazorpay$$' -fuzztime=$(FUZZTIME) ./event
	$(GO) run ./cmd/bench -quick -temporal $(BIN)/temporal
	$(GO) test -tags chaos -run '^TestChaosSmoke$$' -count=1 ./chaos

.PHONY: chaos
chaos: $(BIN)/temporal ## fault suite: kills, outages, duplicates, disorder against real processes; prints the figures (~3 min)
	$(GO) test -tags chaos -run '^TestChaos$$' -count=1 -timeout 20m -v ./chaos

.PHONY: lint
lint: ## gofmt and go vet
	@test -z "$$(gofmt -l .)" || (gofmt -l . && echo "run gofmt -w ." && exit 1)
	$(GO) vet ./...

.PHONY: bench
bench: $(BIN)/temporal ## every benchmark arm against its baseline; writes docs/benchmarks.md (a few minutes)
	$(GO) run ./cmd/bench -temporal $(BIN)/temporal

.PHONY: bench-pragmas
bench-pragmas: $(BIN)/temporal ## the dev server's SQLite journal against WAL (what make run uses)
	$(GO) test -run='^$$' -bench=DevServerPragmas -benchtime=400x ./e2e

.PHONY: clean
clean: ## remove built binaries (keeps the Temporal ones) and local data
	rm -f $(BIN)/receiver $(BIN)/worker $(BIN)/dev $(BIN)/cluster $(BIN)/send $(BIN)/bench
	rm -rf .data
