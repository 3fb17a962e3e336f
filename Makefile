# Basalt build and test entry points. `make test` is what CI runs (through .ci/run).

GO  ?= go
BIN := bin/basalt

.PHONY: build test gotest e2e cluster

## build: compile the server binary into bin/basalt
build:
	$(GO) build -o $(BIN) ./cmd/basalt

## test: Go unit tests with the race detector, then the end-to-end suite against bin/basalt
test: build gotest e2e cluster

gotest:
	$(GO) test -race ./...

## e2e: the end-to-end suite (the pocketbase JS SDK against a real server), after a build
e2e: build
	cd e2e && npm ci --no-audit --no-fund && BASALT_BIN=$(CURDIR)/$(BIN) npm test

## cluster: the SDK suite through nginx in front of three replicas on PostgreSQL (BASALT_TEST_POSTGRES),
## one replica killed mid-run (e2e/cluster/run.js; needs nginx)
cluster: build
	cd e2e && npm ci --no-audit --no-fund && BASALT_BIN=$(CURDIR)/$(BIN) node cluster/run.js
