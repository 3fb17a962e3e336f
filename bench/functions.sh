#!/usr/bin/env bash
# bench/functions.sh: the latency overhead of a JavaScript function hook. It
# builds Basalt and the load driver, then runs the create scenario of the
# load benchmark twice on fresh servers: without functions, and with one
# no-op before-create hook on the scenario's collection
# (basalt.beforeCreate("posts_created", () => {})). Compare the two tables'
# p50/p99 latency and requests/s.
#
#   bench/functions.sh                       # 10 s per run
#   BENCH_DURATION=5s bench/functions.sh
#
# The other bench/run knobs (BENCH_CONNECTIONS, BENCH_THREADS, BENCH_WARMUP,
# BENCH_KEEP, BENCH_WRK) apply; BENCH_SCENARIOS and BENCH_SERVE_ARGS are set
# here.
set -euo pipefail

cd "$(dirname "$0")/.."
wrk=${BENCH_WRK:-wrk}
if ! command -v "$wrk" >/dev/null; then
	echo "bench/functions: wrk not found (Debian: apt-get install wrk)" >&2
	exit 1
fi

build=$(mktemp -d "${TMPDIR:-/tmp}/basalt-bench-fn.XXXXXX")
trap 'rm -rf "$build"' EXIT
go build -o "$build/driver" ./bench/driver
go build -o "$build/bare" ./bench/bare
go build -o "$build/basalt" ./cmd/basalt

mkdir "$build/fns"
echo 'basalt.beforeCreate("posts_created", () => {});' >"$build/fns/noop.js"

echo "== create, no functions" >&2
BENCH_SCENARIOS=create BENCH_SERVE_ARGS= "$build/driver" -bare "$build/bare" -lua bench/lua "nohook=$build/basalt"
echo "== create, a no-op before-create hook" >&2
BENCH_SCENARIOS=create BENCH_SERVE_ARGS="--functions-dir $build/fns" "$build/driver" -bare "$build/bare" -lua bench/lua "noop-hook=$build/basalt"
