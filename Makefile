# Zentrix webhook processor. `make run` starts everything, `make test` tests everything.

TEMPORAL_CLI_VERSION := v1.5.1
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

.PHONY: build
build: ## build bin/receiver, bin/worker and bin/dev
	$(GO) build -o $(BIN)/ ./cmd/...

.PHONY: run
run: $(BIN)/temporal build ## run dev server, worker and receiver with development secrets; Ctrl-C stops all
	$(BIN)/dev

.PHONY: demo
demo: ## play a call and a subscription's life against a running `make run`, check their states
	$(GO) run ./cmd/send demo

.PHONY: test
test: $(BIN)/temporal ## every test: unit, workflow, receiver, store (SQLite and PostgreSQL), end-to-end, fuzz seeds
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
clean: ## remove built binaries (keeps bin/temporal) and local data
	rm -f $(BIN)/receiver $(BIN)/worker $(BIN)/dev
	rm -rf .data
