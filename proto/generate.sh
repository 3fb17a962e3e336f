#!/usr/bin/env bash
# Regenerates the Go code of the .proto files under proto/ into
# internal/api/rpc/gen (run it as `make proto`). It needs protoc (Debian's
# protobuf-compiler 3.21.12, which also ships google/protobuf/*.proto); the
# plugins are built from the versions pinned in tools/go.mod, a module of
# its own so that the main module's build never depends on them.
set -euo pipefail
cd "$(dirname "$0")/.."

command -v protoc >/dev/null 2>&1 || { echo "proto/generate.sh: protoc is missing (apt-get install protobuf-compiler)" >&2; exit 1; }
bin=$(mktemp -d)
trap 'rm -rf "$bin"' EXIT
(cd tools && go build -o "$bin/" google.golang.org/protobuf/cmd/protoc-gen-go connectrpc.com/connect/cmd/protoc-gen-connect-go)

rm -rf internal/api/rpc/gen
files=$(cd proto && find . -name '*.proto' | sed 's|^\./||' | sort)
(cd proto && protoc -I . \
  --plugin=protoc-gen-go="$bin/protoc-gen-go" --plugin=protoc-gen-connect-go="$bin/protoc-gen-connect-go" \
  --go_out=../ --go_opt=module=github.com/basalt-dev/basalt \
  --connect-go_out=../ --connect-go_opt=module=github.com/basalt-dev/basalt \
  $files)
