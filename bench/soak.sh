#!/usr/bin/env bash
# bench/soak.sh: Basalt's soak test. It builds bench/soak (and Basalt from
# the working tree unless -basalt names a binary), then runs it: mixed
# traffic at a fixed rate against basalt serve on a temporary directory on
# 127.0.0.1, with realtime subscribers, sampled every window (requests,
# errors, p50/p99, goroutines, heap, RSS) and judged at the end on errors,
# growth and p99 stability (docs/crash-safety.md).
#
#   bench/soak.sh                                  # 10 minutes, 10 s windows
#   bench/soak.sh -duration 60s -interval 5s       # what make soak runs
#   bench/soak.sh -basalt bin/basalt -rate 500     # a prebuilt binary, more traffic
#
# Every other flag goes to bench/soak (bench/soak.sh -h lists them).
set -euo pipefail

cd "$(dirname "$0")/.."

build=$(mktemp -d "${TMPDIR:-/tmp}/basalt-soak-build.XXXXXX")
trap 'rm -rf "$build"' EXIT

go build -o "$build/soak" ./bench/soak
args=("$@")
if [[ " $* " != *" -basalt "* && " $* " != *" --basalt "* && " $* " != *" -basalt="* ]]; then
	go build -o "$build/basalt" ./cmd/basalt
	args=(-basalt "$build/basalt" "$@")
fi
"$build/soak" "${args[@]}"
