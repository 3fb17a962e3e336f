#!/usr/bin/env bash
# bench/idle-rss.sh: Basalt's idle memory after start, measured as
# bench/driver measures it (VmRSS from /proc/PID/status, 0.5 s after
# /api/health first answers 200, on a fresh data directory with a
# superuser), with the breakdown bench/run does not print: anonymous and
# file-backed pages, and the executable's code, read-only data (type data,
# strings, the function tables) and data, from /proc/PID/smaps.
#
#   bench/idle-rss.sh                 # the working tree, 5 runs
#   bench/idle-rss.sh bin/basalt 9    # a prebuilt binary, 9 runs
#
# IDLE_RSS_EVICT=1 (the default) drops the binary from the page cache
# before each run, so every start reads it from disk: how many of its pages
# one touch maps depends on how large the page cache's folios of the file
# are, which depends on how the file got there (a binary just written by
# the linker or copied from the build cache can read 2-5 MiB higher than
# the same file read back from disk). 0 measures the page cache as it is,
# as bench/run does. IDLE_RSS_INITTRACE=1 also prints the package
# initialisations that allocate most (GODEBUG=inittrace=1).
set -euo pipefail

cd "$(dirname "$0")/.."
bin=${1:-}
runs=${2:-5}
work=$(mktemp -d "${TMPDIR:-/tmp}/basalt-idle-rss.XXXXXX")
pid=
cleanup() {
	if [[ -n $pid ]]; then kill "$pid" 2>/dev/null || true; fi
	rm -rf "$work"
}
trap cleanup EXIT
if [[ -z $bin ]]; then
	go build -o "$work/basalt" ./cmd/basalt
	bin=$work/basalt
fi

# The server starts with its defaults, whatever the shell holds.
clean_env=()
while IFS='=' read -r name _; do
	[[ $name == BASALT_* ]] && clean_env+=(-u "$name")
done < <(env)

kib() { awk -v k="$1" '$1 == k":" {print $2}' "$2"; }

results=()
for i in $(seq "$runs"); do
	dir=$work/run$i
	env "${clean_env[@]}" "$bin" superuser upsert bench@example.com benchpassword123 --dir "$dir/data" >/dev/null
	if [[ ${IDLE_RSS_EVICT:-1} == 1 ]]; then
		dd if="$bin" iflag=nocache count=0 status=none
	fi
	port=$(( 20000 + RANDOM % 20000 ))
	extra=()
	if [[ ${IDLE_RSS_INITTRACE:-} == 1 ]]; then extra=(GODEBUG=inittrace=1); fi
	env "${clean_env[@]}" "${extra[@]}" "$bin" serve --http "127.0.0.1:$port" --dir "$dir/data" \
		--auth-throttle-login-identity off --auth-throttle-login-ip off >"$dir/log" 2>&1 &
	pid=$!
	for _ in $(seq 400); do
		curl -sf -o /dev/null "http://127.0.0.1:$port/api/health" && break
		sleep 0.05
	done
	sleep 0.5
	cp "/proc/$pid/status" "$dir/status"
	cp "/proc/$pid/smaps" "$dir/smaps"
	kill "$pid"
	wait "$pid" 2>/dev/null || true
	pid=
	rss=$(kib VmRSS "$dir/status")
	results+=("$rss")
	# The executable's mappings, by permission: r-xp code, r--p read-only
	# data, rw-p data.
	exe=$(awk -v b="$(readlink -f "$bin")" '
		/^[0-9a-f]+-[0-9a-f]+ / { perm = $2; mine = ($6 == b) }
		mine && /^Rss:/ { r[perm] += $2 }
		END { printf "code %d, rodata %d, data %d", r["r-xp"], r["r--p"], r["rw-p"] }' "$dir/smaps")
	printf 'run %d: VmRSS %d KiB (%.1f MiB): anon %d, file %d; executable: %s (KiB)\n' \
		"$i" "$rss" "$(echo "$rss / 1024" | bc -l)" "$(kib RssAnon "$dir/status")" "$(kib RssFile "$dir/status")" "$exe"
	if [[ ${IDLE_RSS_INITTRACE:-} == 1 && $i == 1 ]]; then
		echo "initialisations allocating most (package, bytes, allocations):"
		grep '^init ' "$dir/log" | awk -F'[ ,]+' '{print "  " $2, $8, $10}' | sort -k2 -n -r | head -10
	fi
done
median=$(printf '%s\n' "${results[@]}" | sort -n | awk '{a[NR] = $1} END {print a[int((NR + 1) / 2)]}')
printf 'median idle RSS over %d runs: %.1f MiB\n' "$runs" "$(echo "$median / 1024" | bc -l)"
