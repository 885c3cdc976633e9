#!/usr/bin/env bash
# Scale benchmark (issue 20): N distinct numbers in E.164, one a line, the
# 2022 dump's country mix (`phonecheck gen --distinct`), through every step
# an operator runs on a whole dump, each with its wall time, CPU use and
# peak RSS, beside the floor measured in the same run: reading the file
# and hashing every line on one core (bench/floor).
#
#	bench/scale.sh 100000000          # 100M: 1.4 GB of input
#	bench/scale.sh 487000000          # the whole dump: 6.7 GB of input
#
# Steps: floor, build, build --memory $SCALE_MEMORY (default 2GiB; its
# index must be the same bytes), info, verify, check, seal (keygen first),
# a new leak of N/48 numbers (10M at 487M) built then merged in, and
# export, and serve (start-up time, range queries/s, RSS). A step whose
# subcommand this binary lacks (merge, say) is skipped with a message;
# SCALE_SKIP="seal export" skips steps by name (seal takes 9-10 us of CPU
# a number: 42 min at 487M on 2 cores here, measured 2026-12-06).
#
# SCALE_BEFORE=REV (a commit, say main) also builds with that revision's
# phonecheck, for a before/after in the same run.
#
# Data go to $BENCH_DIR (default: a new temporary directory, removed at
# the end); the generated input is kept there and reused ("cached") when
# BENCH_DIR is set. Free disk needed at 487M: about 25 GB (input 6.7,
# two indexes 3 each, spill 6, export 8; each big output is removed once
# measured). Quote the load (printed first and last): the machine may be
# shared.
set -euo pipefail
umask 077 # the input, indexes and outputs are synthetic numbers: owner-only
cd "$(dirname "$0")/.."
dir=${BENCH_DIR:-$(mktemp -d)}
[ -n "${BENCH_DIR:-}" ] || trap 'rm -rf "$dir"' EXIT
mkdir -p "$dir"
memory=${SCALE_MEMORY:-2GiB}
skip=" ${SCALE_SKIP:-} "
go build -o "$dir/phonecheck" ./cmd/phonecheck
go build -o "$dir/floor" ./bench/floor
pc="$dir/phonecheck"
if [ -n "${SCALE_BEFORE:-}" ]; then
	rm -rf "$dir/before-src" && mkdir -p "$dir/before-src"
	git archive "$SCALE_BEFORE" | tar -x -C "$dir/before-src"
	(cd "$dir/before-src" && go build -o "$dir/phonecheck-before" ./cmd/phonecheck)
fi

# run NAME CMD...: run CMD under /usr/bin/time -v, output to $dir/NAME.out
# (to /dev/null for check: it would hold a number), and print wall
# seconds, CPU %, peak RSS and a note ($note).
row() { printf '%-24s %10s %7s %11s  %s\n' "$@"; }
run() {
	local name=$1
	shift
	local out=$dir/$name.out
	[ "$name" != check ] || out=/dev/null
	if ! /usr/bin/time -v -o "$dir/$name.time" "$@" >"$out" 2>"$dir/$name.err"; then
		row "$name" FAILED - - "$(tail -1 "$dir/$name.err")"
		return 1
	fi
	local t=$dir/$name.time
	wall=$(sed -n 's/.*Elapsed (wall clock) time (h:mm:ss or m:ss): //p' "$t" |
		awk -F: '{ if (NF == 3) print $1*3600+$2*60+$3; else print $1*60+$2 }')
	local cpu rss
	cpu=$(sed -n 's/.*Percent of CPU this job got: //p' "$t")
	rss=$(sed -n 's/.*Maximum resident set size (kbytes): //p' "$t")
	row "$name" "${wall}s" "$cpu" "$(awk -v k="$rss" 'BEGIN { printf "%.0f MiB", k/1024 }')" "${note:-}"
	note=
}
has() { "$pc" help "$1" >/dev/null 2>&1; }

# serve_rows INDEX: 'phonecheck serve' on INDEX, started twice to time
# how long until it answers /healthz (with its start-up check of every
# checksum, then --no-verify), then, if wrk is installed, range queries
# on random 20-bit prefixes (bench/range/range.lua) from 8 connections
# for ${SCALE_SERVE_DUR:-5s}, wrk on core 0 and the server on core 1 as
# bench/range/run.sh does, after a pass that warms the page cache; and
# the server's RSS after it.
serve_rows() {
	local idx=$1 port=$((20000 + RANDOM % 20000)) flags pid t0 t1 ms
	for flags in "" --no-verify; do
		t0=$(date +%s%N)
		taskset -c 1 "$pc" serve --index "$idx" --addr "127.0.0.1:$port" $flags >"$dir/serve.out" 2>&1 &
		pid=$!
		until curl -sf -o /dev/null "http://127.0.0.1:$port/healthz"; do
			kill -0 "$pid" 2>/dev/null || { row serve FAILED - - "$(tail -1 "$dir/serve.out")"; return 0; }
			sleep 0.002
		done
		t1=$(date +%s%N)
		ms=$(((t1 - t0) / 1000000))
		if [ -n "$flags" ]; then
			row "serve $flags" "${ms}ms" - - "until /healthz answers"
			kill "$pid"
			wait "$pid" 2>/dev/null || true
			continue
		fi
		row serve "${ms}ms" - - "until /healthz answers, every checksum checked first"
		if command -v wrk >/dev/null; then
			WARM=1 taskset -c 0 wrk -t1 -c8 -d60s -s bench/range/range.lua "http://127.0.0.1:$port" >/dev/null 2>&1 || true
			local rps
			rps=$(taskset -c 0 wrk -t1 -c8 -d"${SCALE_SERVE_DUR:-5s}" -s bench/range/range.lua "http://127.0.0.1:$port" 2>&1 | awk '/Requests\/sec/ { printf "%.0f", $2 }')
			row "serve ranges" "${rps} req/s" - "$(awk '/VmRSS/ { printf "%.0f MiB", $2/1024 }' "/proc/$pid/status")" "wrk -t1 -c8, random 20-bit prefixes, RSS after"
		else
			row "serve ranges" skipped - - "no wrk (apt-get install wrk)"
		fi
		kill "$pid"
		wait "$pid" 2>/dev/null || true
	done
}
skipped() { [[ $skip == *" $1 "* ]] && { row "$1" skipped - - "SCALE_SKIP"; }; }
bpn() { awk -v b="$(stat -c %s "$1")" -v n="$2" 'BEGIN { printf "%.2f B/number", b/n }'; }

for n in "${@:-10000000}"; do
	in=$dir/distinct-$n.txt
	echo "== $n distinct numbers; $(nproc) cores; load: $(cut -d' ' -f1-3 /proc/loadavg)"
	row step wall CPU "peak RSS" note
	if [ -f "$in" ]; then
		row gen cached - - "$in"
	else
		run gen "$pc" gen --distinct --seed 1 --n "$n" --out "$in"
	fi
	note="read + SHA-256 of each line, one core"
	run floor "$dir/floor" "$in"
	floor=$wall

	idx=$dir/scale-$n.idx
	run build "$pc" build --quiet --out "$idx" --dataset scale --date 2022-11 "$in"
	build=$wall
	row "" "" "" "" "$(bpn "$idx" "$n"); $(awk -v b="$build" -v f="$floor" 'BEGIN { printf "build/floor %.2fx", b/f }'); $(grep -o 'peak RSS.*' "$dir/build.out")"

	if [ -n "${SCALE_BEFORE:-}" ]; then
		run "build@$SCALE_BEFORE" "$dir/phonecheck-before" build --quiet --out "$dir/before.idx" --dataset scale --date 2022-11 "$in" &&
			row "" "" "" "" "$(awk -v b="$build" -v a="$wall" 'BEGIN { printf "before/after %.2fx (wall)", a/b }')" || true
		rm -f "$dir/before.idx"
	fi

	bounded=$dir/scale-$n-bounded.idx
	if ! skipped build-memory; then
		if run build-memory "$pc" build --quiet --memory "$memory" --out "$bounded" --dataset scale --date 2022-11 "$in"; then
			same=differ
			cmp -s "$idx" "$bounded" && same="same bytes as build"
			row "" "" "" "" "$same; $(awk -v b="$wall" -v f="$build" 'BEGIN { printf "/build %.2fx", b/f }'); $(grep -o 'peak RSS.*' "$dir/build-memory.out")"
		fi
		rm -f "$bounded"
	fi

	run info "$pc" info "$idx"
	run verify "$pc" verify "$idx"
	# A number of the input, by stdin: no number on a command line or in
	# this output.
	head -1 "$in" | run check "$pc" check --index "$idx" - || true

	if ! skipped seal; then
		"$pc" keygen --out "$dir/scale.key" >/dev/null 2>&1 || true
		note="private index, one OPRF evaluation a number"
		run seal "$pc" seal --key "$dir/scale.key" --in "$idx" --out "$dir/scale-$n-private.idx" || true
		rm -f "$dir/scale-$n-private.idx"
	fi

	if ! skipped merge; then
		if has merge; then
			leak=$((n / 48))
			"$pc" gen --distinct --seed 2 --n "$leak" --out "$dir/leak-$n.txt" 2>/dev/null
			note="the new leak: $leak numbers"
			run build-leak "$pc" build --quiet --out "$dir/leak-$n.idx" --dataset leak --date 2024-01 "$dir/leak-$n.txt" || true
			note="merge the leak into the index"
			run merge "$pc" merge --out "$dir/merged-$n.idx" "$idx" "$dir/leak-$n.idx" &&
				row "" "" "" "" "$(awk -v b="$build" -v m="$wall" 'BEGIN { printf "merge/build %.2fx", m/b }')" || true
			rm -f "$dir/leak-$n.txt" "$dir/leak-$n.idx" "$dir/merged-$n.idx"
		else
			row merge skipped - - "this phonecheck has no merge subcommand"
		fi
	fi

	if ! skipped export; then
		bits=${SCALE_EXPORT_BITS:-16}
		if run export "$pc" export --index "$idx" --out "$dir/export-$n" --bits "$bits"; then
			row "" "" "" "" "--bits $bits: $(find "$dir/export-$n" -type f | wc -l) files, $(du -sh "$dir/export-$n" | cut -f1)"
		fi
		rm -rf "$dir/export-$n"
	fi
	if ! skipped serve; then
		serve_rows "$idx"
	fi
	rm -f "$idx"
	echo "load after: $(cut -d' ' -f1-3 /proc/loadavg)"
done
