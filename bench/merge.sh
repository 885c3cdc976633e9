#!/bin/sh
# Merge benchmark: adding a new leak to a large index by 'phonecheck merge'
# against rebuilding the union from the raw files, in the same run, with
# wall time, CPU and peak RSS of each, and the floor of a merge (reading
# both indexes and writing the result: cat to a file).
#
#	bench/merge.sh [BIG_ROWS [NEW_ROWS]]     # default 50000000 10000000
#
# Rows are synthetic E.164 lines ('phonecheck gen --clean', the dump's
# country mix; seeds differ, so the leaks overlap as the generator's
# ranges make them). Data go to $BENCH_DIR (default: a temporary
# directory, removed at the end).
set -eu
cd "$(dirname "$0")/.."
big=${1:-50000000}
new=${2:-10000000}
dir=${BENCH_DIR:-$(mktemp -d)}
trap '[ -z "${BENCH_DIR:-}" ] && rm -rf "$dir"' EXIT
go build -o "$dir/phonecheck" ./cmd/phonecheck
pc=$dir/phonecheck

[ -f "$dir/big.txt" ] || "$pc" gen --seed 1 --n "$big" --clean --format txt --out "$dir/big.txt"
[ -f "$dir/new.txt" ] || "$pc" gen --seed 2 --n "$new" --clean --format txt --out "$dir/new.txt"

# timed NAME CMD...: runs CMD under /usr/bin/time, prints one line.
timed() {
	name=$1
	shift
	/usr/bin/time -v "$@" >"$dir/$name.out" 2>"$dir/$name.time"
	awk -v name="$name" -F': ' '
		/Elapsed \(wall clock\)/ { n = split($2, t, ":"); w = (n == 3) ? t[1]*3600+t[2]*60+t[3] : t[1]*60+t[2] }
		/Percent of CPU/ { cpu = $2 }
		/Maximum resident set size/ { rss = $2 }
		END { printf "%-14s wall %7.2f s  CPU %5s  peak RSS %6.0f MiB\n", name, w, cpu, rss/1024; print w > "/dev/stderr" }
	' "$dir/$name.time" 2>"$dir/$name.wall"
}

timed build-big "$pc" build --quiet --out "$dir/big.idx" --dataset old-leak --region EG "$dir/big.txt"
timed build-new "$pc" build --quiet --out "$dir/new.idx" --dataset new-leak --region EG "$dir/new.txt"
sed -n 1p "$dir/build-big.out"
sed -n 1p "$dir/build-new.out"
sync
# The floor of a merge: read both indexes and write as many bytes.
timed floor-cat sh -c "cat '$dir/big.idx' '$dir/new.idx' >'$dir/cat.out' && sync '$dir/cat.out'"
rm -f "$dir/cat.out"
timed merge "$pc" merge --out "$dir/merged.idx" "$dir/big.idx" "$dir/new.idx"
sed -n 1p "$dir/merge.out"
grep warning "$dir/merge.time" || true
cat >"$dir/union.toml" <<TOML
[[dataset]]
name   = "old-leak"
region = "EG"
files  = ["$dir/big.txt"]

[[dataset]]
name   = "new-leak"
region = "EG"
files  = ["$dir/new.txt"]
TOML
timed rebuild "$pc" build --quiet --out "$dir/union.idx" --manifest "$dir/union.toml"
sed -n 1p "$dir/rebuild.out"
if cmp -s "$dir/merged.idx" "$dir/union.idx"; then
	echo "merged index and rebuilt index: byte for byte the same"
else
	echo "merged index and rebuilt index differ: by the index-wide country counts when merge warns (above) that it could not tell the country of numbers in both; otherwise by the date, if midnight passed"
fi
echo "merge / rebuild: $(paste "$dir/merge.wall" "$dir/rebuild.wall" | awk '{printf "%.3f", $1/$2}')x wall;" \
	"merge / floor (cat): $(paste "$dir/merge.wall" "$dir/floor-cat.wall" | awk '{printf "%.2f", $1/$2}')x"
rm -f "$dir/merged.idx" "$dir/union.idx"
