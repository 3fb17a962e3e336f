# Basalt build and test entry points. `make test` is what CI runs (through .ci/run).
#
# The PostgreSQL targets need BASALT_TEST_POSTGRES, a postgres:// URL of a server that may CREATE
# DATABASE (.ci/postgres starts a throwaway one). Without it they are skipped with a note, except
# under CI=true, where they fail: CI must never pass on skipped PostgreSQL tests.

GO  ?= go
BIN := bin/basalt

.PHONY: build proto proto-check test gotest gotest-postgres e2e e2e-postgres e2e-deps cluster crash soak require-postgres

## build: compile the server binary into bin/basalt
build:
	$(GO) build -o $(BIN) ./cmd/basalt

## test: every suite on both engines: Go tests with the race detector (SQLite, and the PostgreSQL
## conformance and replica tests), the REST scenarios on PostgreSQL, the end-to-end suite on SQLite
## and on PostgreSQL, then the cluster test, then the short crash-safety and soak runs
test: build proto-check gotest gotest-postgres e2e e2e-postgres cluster crash soak

## proto: regenerate the Go code of the RPC API (internal/api/rpc/gen) from proto/; needs protoc
## (Debian's protobuf-compiler), the plugins come from tools/go.mod (docs/rpc.md)
proto:
	proto/generate.sh

## proto-check: fail when regenerating changes the committed generated code (skipped with a note
## when protoc is missing, except under CI=true)
proto-check:
	@if ! command -v protoc >/dev/null 2>&1 && [ "$$CI" != true ]; then \
	  echo "proto-check skipped: protoc is missing (apt-get install protobuf-compiler)"; exit 0; fi; \
	proto/generate.sh && \
	if [ -n "$$(git status --porcelain -- internal/api/rpc/gen)" ]; then \
	  git status --porcelain -- internal/api/rpc/gen; git diff -- internal/api/rpc/gen | head -50; \
	  echo "internal/api/rpc/gen is not what proto/ generates: run make proto and commit the result" >&2; exit 1; fi

## gotest: Go tests with the race detector; the PostgreSQL ones run when BASALT_TEST_POSTGRES is set
## (a package may take longer than go test's default 10 minutes under -race on 2 busy cores)
gotest:
	$(GO) test -race -timeout 20m ./...

## gotest-postgres: the REST and GraphQL tests again, each on a fresh PostgreSQL database (without -race:
## gotest already races the same handlers on SQLite)
gotest-postgres: require-postgres
	@if [ -n "$$BASALT_TEST_POSTGRES" ]; then \
	  echo "BASALT_TEST_ENGINE=postgres $(GO) test ./internal/api/rest/ ./internal/api/graphql/"; \
	  BASALT_TEST_ENGINE=postgres $(GO) test ./internal/api/rest/ ./internal/api/graphql/; fi

e2e-deps:
	cd e2e && npm ci --no-audit --no-fund

## e2e: the end-to-end suite (the pocketbase JS SDK against a real server) on SQLite
e2e: build e2e-deps
	cd e2e && BASALT_BIN=$(CURDIR)/$(BIN) BASALT_E2E_ENGINE=sqlite npm test

## e2e-postgres: the end-to-end suite with every server on a fresh PostgreSQL database
e2e-postgres: build e2e-deps require-postgres
	@if [ -n "$$BASALT_TEST_POSTGRES" ]; then \
	  echo "e2e on PostgreSQL"; \
	  cd e2e && BASALT_BIN=$(CURDIR)/$(BIN) BASALT_E2E_ENGINE=postgres npm test; fi

## cluster: the SDK suite through nginx in front of three replicas on PostgreSQL (BASALT_TEST_POSTGRES),
## one replica killed mid-run (e2e/cluster/run.js; needs nginx)
cluster: build e2e-deps
	cd e2e && BASALT_BIN=$(CURDIR)/$(BIN) node cluster/run.js

## crash: the crash-safety test, short: 3 rounds of concurrent writers, SIGKILL and restart on SQLite,
## then 2 rounds on a fresh PostgreSQL database (bench/crash.sh; docs/crash-safety.md has the full run)
crash: build require-postgres
	bench/crash.sh -basalt $(BIN) -rounds 3
	@if [ -n "$$BASALT_TEST_POSTGRES" ]; then \
	  echo 'bench/crash.sh -basalt $(BIN) -rounds 2 -db "$$BASALT_TEST_POSTGRES"'; \
	  bench/crash.sh -basalt $(BIN) -rounds 2 -db "$$BASALT_TEST_POSTGRES"; fi

## soak: 60 s of mixed traffic judged on errors, goroutine/heap/RSS growth and p99 (bench/soak.sh;
## the full run is 10 minutes)
soak: build
	bench/soak.sh -basalt $(BIN) -duration 60s -interval 5s

require-postgres:
	@if [ -z "$$BASALT_TEST_POSTGRES" ]; then \
	  if [ "$$CI" = true ]; then \
	    echo "BASALT_TEST_POSTGRES is not set: CI must run the PostgreSQL suites (see .ci/run)" >&2; exit 1; \
	  fi; \
	  echo "PostgreSQL suites skipped: set BASALT_TEST_POSTGRES (eval \"\$$(.ci/postgres start DIR)\")"; \
	fi
