#!/bin/sh
# Build benchmark: wall time and peak RSS of `phonecheck build` on N
# synthetic messy CSV rows (the default country mix, default region EG),
# against the targets of DESIGN.md (100M rows: 60 s, 3 GiB).
#
#	bench/build.sh 10000000 30000000 100000000
#
# Data go to $BENCH_DIR (default: a temporary directory, removed at the
# end); a 100M-row CSV takes about 4.5 GB.
set -eu
cd "$(dirname "$0")/.."
dir=${BENCH_DIR:-$(mktemp -d)}
trap '[ -z "${BENCH_DIR:-}" ] && rm -rf "$dir"' EXIT
go build -o "$dir/phonecheck" ./cmd/phonecheck
go build -o "$dir/floor" ./bench/floor
for n in "${@:-10000000}"; do
	csv="$dir/leak-$n.csv"
	[ -f "$csv" ] || "$dir/phonecheck" gen --seed 1 --n "$n" --region EG --out "$csv"
	/usr/bin/time -v "$dir/phonecheck" build --quiet --out "$dir/leak-$n.idx" --dataset leak --region EG "$csv" \
		>"$dir/out-$n.txt" 2>"$dir/time-$n.txt"
	wall=$(sed -n 's/.*Elapsed (wall clock) time (h:mm:ss or m:ss): //p' "$dir/time-$n.txt")
	rss=$(sed -n 's/.*Maximum resident set size (kbytes): //p' "$dir/time-$n.txt")
	head -2 "$dir/out-$n.txt"
	echo "build $n rows: wall $wall, peak RSS $((rss / 1024)) MiB ($(echo "$rss $n" | awk '{printf "%.1f", $1*1024/$2}') bytes/row)"
	# The floor: read every row and hash it once, one goroutine.
	floor=$("$dir/floor" "$csv")
	echo "$floor"
	echo "$wall $floor" | awk '{split($1, t, ":"); w = (length(t) == 3) ? t[1]*3600+t[2]*60+t[3] : t[1]*60+t[2]; printf "build wall / floor: %.2fx (the floor is one core; build uses all)\n", w/$5}'
	rm -f "$dir/leak-$n.idx"
done
