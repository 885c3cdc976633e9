#!/usr/bin/env bash
# Same-run benchmarks of two revisions: OLD (default: main before the
# package split) against this tree, interleaved round by round on the
# same machine, so that a ratio is two figures measured together.
#
#   bench/compare/run.sh                 # every benchmark below, 5 rounds
#   ROUNDS=3 ONLY=Batch bench/compare/run.sh 2f1f5f0
#
# Each line of the table names a benchmark, the package it lives in at
# OLD and here (packages moved), its -bench pattern, -benchtime, and the
# environment it needs. Test binaries are built once per side; each round
# runs OLD then NEW (then NEW then OLD on odd rounds, so neither side
# always runs on a warmer machine). benchstat prints medians, their
# spread and the change; the figures that matter are the medians and the
# ratio, not any single run (machines here vary by 1.5x from day to day).
set -euo pipefail
cd "$(dirname "$0")/../.."
OLD=${1:-2f1f5f0}
ROUNDS=${ROUNDS:-5}
ONLY=${ONLY:-}
WORK=${WORK:-$(mktemp -d /tmp/phonecheck-compare.XXXXXX)}

# label | package at OLD | package here | -bench | -benchtime | env
TABLE='
Batch10M     | ./checker | ./checker                  | ^BenchmarkBatch$/10M$          | 3x   | PHONECHECK_BENCH_LARGE=1
Batch1M      | ./checker | ./checker                  | ^BenchmarkBatch$/1M$           | 5x   |
ServeRange   | ./checker | ./checker                  | ^BenchmarkServeRange$          | 1s   |
Front        | ./checker | ./checker                  | ^BenchmarkFront$               | 1s   |
EvaluateFast | ./checker | ./checker/internal/oprf    | ^BenchmarkEvaluateFast$        | 1s   |
FastSeal     | ./checker | ./checker/internal/oprf    | ^BenchmarkFastSeal$            | 1s   |
Normalize    | ./checker | ./checker/phone            | ^BenchmarkNormalize$/messy$    | 1s   |
'

export PATH="$PATH:$(go env GOPATH)/bin"
command -v benchstat >/dev/null || go install golang.org/x/perf/cmd/benchstat@latest
old_tree="$WORK/old"
if [ ! -d "$old_tree" ]; then
	git worktree add --detach "$old_tree" "$OLD" >/dev/null
	trap 'git worktree remove --force "$old_tree" >/dev/null 2>&1 || true' EXIT
fi

echo "OLD $(git -C "$old_tree" rev-parse --short HEAD), NEW $(git rev-parse --short HEAD) (+ uncommitted changes: $(git status --porcelain | wc -l) files), $ROUNDS rounds, $(nproc) cores"
echo "$TABLE" | while IFS='|' read -r label opkg npkg bench btime envs; do
	label=$(echo $label); [ -z "$label" ] && continue
	[ -n "$ONLY" ] && [[ "$label" != *$ONLY* ]] && continue
	opkg=$(echo $opkg); npkg=$(echo $npkg); bench=$(echo $bench); btime=$(echo $btime)
	( cd "$old_tree" && go test -c -o "$WORK/$label.old.test" "$opkg" )
	go test -c -o "$WORK/$label.new.test" "$npkg"
	: >"$WORK/$label.old.txt"; : >"$WORK/$label.new.txt"
	for r in $(seq "$ROUNDS"); do
		order="old new"; [ $((r % 2)) -eq 0 ] && order="new old"
		for side in $order; do
			dir=$old_tree/${opkg#./}; [ "$side" = new ] && dir=$PWD/${npkg#./}
			# Packages moved between the sides: benchstat compares by name,
			# so the pkg line goes.
			(cd "$dir" && env $envs "$WORK/$label.$side.test" -test.run '^$' -test.bench "$bench" \
				-test.benchtime "$btime" -test.count 1 -test.benchmem) | grep -v '^pkg:' >>"$WORK/$label.$side.txt"
		done
	done
	echo "== $label ($bench)"
	benchstat old="$WORK/$label.old.txt" new="$WORK/$label.new.txt"
done
echo "raw output: $WORK"
