#!/usr/bin/env bash
# bench/crash.sh: Basalt's crash-safety test. It builds bench/crash (and
# Basalt from the working tree unless -basalt names a binary), then runs it:
# concurrent writers against basalt serve on a temporary directory on
# 127.0.0.1, the server killed with SIGKILL at random moments and restarted,
# every acknowledged write checked after each restart, and PRAGMA
# integrity_check on the files (docs/crash-safety.md).
#
#   bench/crash.sh                                   # 20 rounds on SQLite
#   bench/crash.sh -rounds 3                         # what make crash runs
#   bench/crash.sh -db "$BASALT_TEST_POSTGRES"       # on a fresh PostgreSQL database
#   bench/crash.sh -basalt bin/basalt -writers 16    # a prebuilt binary, more writers
#
# Every other flag goes to bench/crash (bench/crash.sh -h lists them).
set -euo pipefail

cd "$(dirname "$0")/.."

build=$(mktemp -d "${TMPDIR:-/tmp}/basalt-crash-build.XXXXXX")
trap 'rm -rf "$build"' EXIT

go build -o "$build/crash" ./bench/crash
args=("$@")
if [[ " $* " != *" -basalt "* && " $* " != *" --basalt "* && " $* " != *" -basalt="* ]]; then
	go build -o "$build/basalt" ./cmd/basalt
	args=(-basalt "$build/basalt" "$@")
fi
"$build/crash" "${args[@]}"
