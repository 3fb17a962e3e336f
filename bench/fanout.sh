#!/usr/bin/env bash
# bench/fanout.sh: Basalt's realtime fan-out benchmark. It builds Basalt and
# bench/fanout, raises the open-file limit (both the subscribers and the
# server hold one descriptor per connection), then, for each subscriber
# count, starts Basalt on a fresh temporary data directory on 127.0.0.1,
# opens that many SSE subscribers to posts/*, creates records one at a time
# and prints delivery latency, losses, RSS per idle connection and server CPU.
#
#   bench/fanout.sh                               # N = 1000 and 10000
#   FANOUT_SUBSCRIBERS=2000 bench/fanout.sh       # one N
#   bench/fanout.sh bin/basalt                    # a prebuilt binary
#
# Knobs (environment): FANOUT_SUBSCRIBERS (1000,10000), FANOUT_RECORDS (50),
# FANOUT_INTERVAL (100ms between creates), FANOUT_DRAIN (60s at most to wait for
# late deliveries), FANOUT_KEEP (non-empty: keep data and server logs).
set -euo pipefail

cd "$(dirname "$0")/.."

# One descriptor per connection on each side, plus headroom.
want=65535
hard=$(ulimit -Hn)
if [[ $hard != unlimited && $hard -lt $want ]]; then
	want=$hard
fi
ulimit -n "$want"
echo "bench/fanout: open-file limit $(ulimit -n)" >&2

build=$(mktemp -d "${TMPDIR:-/tmp}/basalt-fanout-build.XXXXXX")
trap 'rm -rf "$build"' EXIT

go build -o "$build/fanout" ./bench/fanout
if [[ $# -gt 0 ]]; then
	bin=$1
else
	go build -o "$build/basalt" ./cmd/basalt
	bin=$build/basalt
fi

"$build/fanout" -basalt "$bin"
