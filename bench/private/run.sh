#!/usr/bin/env bash
# Private-mode benchmark: 'phonecheck serve --private' answering
# one-number queries (a prefix and one blinded element in; the evaluation,
# its DLEQ proof and the padded bucket out), as a client sends them, side
# by side with Cloudflare's MIGP demo server when MIGP_SRC is set.
#
#   MIGP_SRC=/path/to/migp-go bench/private/run.sh   # both servers, same-run ratio
#   bench/private/run.sh                              # phonecheck only
#   N=500000 BITS=10 ROUNDS=1 CONNS="1 2 8 32" bench/private/run.sh
#
# Both servers hold the same N numbers (bench/range/mkindex's: +999 then
# 1000000000+i, not real numbers) in BITS-bit buckets. phonecheck's index
# is sealed with 'phonecheck seal'; answers are padded (the server's
# default) and carry the DLEQ proof. MIGP (cloudflare/migp-go, measured
# at 8e51683: P-256 OPRF without a proof, answers not padded) is filled
# with one entry a number: the number as username, an empty password, no
# password variants, no username entry, the null slow hash. MIGP is not
# on the Go module proxy: bench/private/migp is its own module, built
# here with a replace to $MIGP_SRC; it builds MIGP's demo server and
# migpreq, which makes MIGP's requests with migp-go's client package.
#
# Each system's own client makes REQS requests (half of them for
# exposed numbers) and checks every answer before timing (mkreq through
# checker.PrivateClient, migpreq through migp-go's client); phonecheck's
# carry the elements' decode hints, as its Go clients send them to a
# server whose key document offers them. Then the same
# wrk and query.lua replay them, ROUNDS rounds, each round every CONNS
# point for phonecheck then for MIGP, so both see the same machine; the
# medians of the rounds and the same-run ratio are printed. Without
# MIGP_SRC the MIGP side is skipped and no ratio is printed: a ratio
# against a figure from another run says little on a shared machine.
# A third row, floor, replays GET /healthz with the same wrk and script:
# the transport's cost, and at 1 connection the ceiling of any ratio;
# under it, what each server's query adds to the floor's time.
#
# Target (DESIGN.md, issue 21): phonecheck at >= 2x MIGP's queries/s at
# 1 and 2 connections, in the same run.
#
# Needs wrk (apt-get install wrk). WORK (default
# /tmp/phonecheck-bench-private-$N-$BITS) keeps the keys, indexes and
# requests (0700).
set -euo pipefail
cd "$(dirname "$0")/../.."
N=${N:-200000}
BITS=${BITS:-20}
DUR=${DUR:-5s}
CONNS=${CONNS:-"1 2"}
ROUNDS=${ROUNDS:-3}
REQS=${REQS:-2000}
WORK=${WORK:-/tmp/phonecheck-bench-private-$N-$BITS}
PORT=${PORT:-18191}
MIGP_PORT=${MIGP_PORT:-18192}
HERE=bench/private
mkdir -p "$WORK"
chmod 700 "$WORK"
umask 077

go build -o "$WORK/phonecheck" ./cmd/phonecheck
if [ ! -f "$WORK/plain.idx" ]; then
	go run ./bench/range/mkindex -n "$N" -out "$WORK/plain.idx"
fi
if [ ! -f "$WORK/server.key" ]; then
	rm -f "$WORK/private.idx"
	"$WORK/phonecheck" keygen --out "$WORK/server.key" >/dev/null
fi
if [ ! -f "$WORK/private.idx" ]; then
	"$WORK/phonecheck" seal --quiet --key "$WORK/server.key" --in "$WORK/plain.idx" --out "$WORK/private.idx" --bits "$BITS"
fi

# The ports must be free: a server left over from another run would
# answer in place of the one started here (which then fails to listen).
for p in $PORT ${MIGP_SRC:+$MIGP_PORT}; do
	if curl -s -o /dev/null --max-time 1 "http://127.0.0.1:$p/"; then
		echo "run.sh: something already answers on port $p: stop it, or set PORT / MIGP_PORT" >&2
		exit 1
	fi
done
# waitfor PID URL: waits until URL answers, while process PID runs.
waitfor() {
	for _ in $(seq 6000); do
		kill -0 "$1" 2>/dev/null || { echo "run.sh: the server for $2 exited" >&2; exit 1; }
		curl -fs -o /dev/null "$2" && return 0
		sleep 0.1
	done
	echo "run.sh: $2 did not answer" >&2
	exit 1
}

# Each server runs in its own process group, killed whatever happens.
srv=
msrv=
cleanup() {
	for p in $srv $msrv; do kill -TERM -- "-$p" 2>/dev/null || true; wait "$p" 2>/dev/null || true; done
}
trap cleanup EXIT INT TERM
setsid "$WORK/phonecheck" serve --private --key "$WORK/server.key" --index "$WORK/private.idx" \
	--addr "127.0.0.1:$PORT" --rate 1e9 2>"$WORK/serve.log" &
srv=$!
waitfor "$srv" "http://127.0.0.1:$PORT/healthz"

if [ -n "${MIGP_SRC:-}" ]; then
	MIGP_SRC=$(cd "$MIGP_SRC" && pwd)
	# The module's go.mod and go.sum, with the replace pointing at MIGP_SRC.
	cp $HERE/migp/go.mod "$WORK/migp.mod"
	cp $HERE/migp/go.sum "$WORK/migp.sum"
	go mod edit -replace "github.com/cloudflare/migp-go=$MIGP_SRC" "$WORK/migp.mod"
	(cd $HERE/migp && go build -modfile="$WORK/migp.mod" -o "$WORK/migpreq" . &&
		go build -modfile="$WORK/migp.mod" -o "$WORK/migpserver" github.com/cloudflare/migp-go/cmd/server)
	# A fresh key each run (MIGP keeps its buckets in memory), the null
	# slow hash, BITS-bit buckets.
	"$WORK/migpserver" -dump-config |
		sed 's/"slowHasher":[0-9]*/"slowHasher":0/; s/"bucketIDBitSize":[0-9]*/"bucketIDBitSize":'"$BITS"'/' >"$WORK/migp.json"
	grep -q '"slowHasher":0,' "$WORK/migp.json" || { echo "run.sh: MIGP config has no slowHasher field to set" >&2; exit 1; }
	"$WORK/migpreq" -fill -n "$N" >"$WORK/migp-fill.txt"
	echo "MIGP: filling the demo server with $N entries (about a minute per 100k: its demo server decodes its password rules for every entry)" >&2
	setsid "$WORK/migpserver" -config "$WORK/migp.json" -infile "$WORK/migp-fill.txt" -num-variants 0 \
		-username-variant=false -listen "127.0.0.1:$MIGP_PORT" 2>/dev/null &
	msrv=$!
	waitfor "$msrv" "http://127.0.0.1:$MIGP_PORT/config"
	"$WORK/migpreq" -server "http://127.0.0.1:$MIGP_PORT" -n "$REQS" -exposed "$N" -out "$WORK/migp-requests.hex"
fi

go run ./$HERE/mkreq -server "http://127.0.0.1:$PORT" -n "$REQS" -exposed "$N" -bits "$BITS" -out "$WORK/requests.hex"

# point SYSTEM CONNS: prints "req/s p50_us p99_us bytes errors srv_cpu_us
# other_pct": srv_cpu_us is the server's CPU time per query (user+system,
# from /proc), the figure least disturbed by other work on the machine;
# other_pct is the CPU the machine spent on neither the server nor wrk
# during the point, in % of its cores (0 on a quiet machine).
tck=$(getconf CLK_TCK)
srvticks() { awk '{ print $14 + $15 }' "/proc/$1/stat"; }
busyticks() { awk '/^cpu / { print $2 + $3 + $4 + $7 + $8, $2 + $3 + $4 + $5 + $6 + $7 + $8 }' /proc/stat; }
point() {
	local pid port reqs qpath method=POST s0 s1 b0 t0 b1 t1 out
	case $1 in
	phonecheck) pid=$srv port=$PORT reqs="$WORK/requests.hex" qpath=/v1/private/query ;;
	migp) pid=$msrv port=$MIGP_PORT reqs="$WORK/migp-requests.hex" qpath=/evaluate ;;
	floor) pid=$srv port=$PORT reqs="$WORK/requests.hex" qpath=/healthz method=GET ;;
	esac
	s0=$(srvticks "$pid")
	read -r b0 t0 < <(busyticks)
	out=$(REQS="$reqs" QPATH="$qpath" QMETHOD="$method" /usr/bin/time -f "WRKCPU %U %S" -o "$WORK/wrk.time" \
		wrk -t"$(($2 < 2 ? $2 : 2))" -c"$2" -d"$DUR" -s $HERE/query.lua "http://127.0.0.1:$port" 2>/dev/null |
		sed -n 's/^RESULT req\/s=\([0-9]*\) p50_us=\([0-9]*\) p99_us=\([0-9]*\) bytes_per_resp=\([0-9]*\) errors=\([0-9]*\)/\1 \2 \3 \4 \5/p')
	s1=$(srvticks "$pid")
	read -r b1 t1 < <(busyticks)
	read -r _ wu ws <"$WORK/wrk.time"
	echo "$out" | awk -v ds=$((s1 - s0)) -v db=$((b1 - b0)) -v dt=$((t1 - t0)) -v w="$wu $ws" -v tck="$tck" -v dur="${DUR%s}" '{
		split(w, wc, " "); wrk = (wc[1] + wc[2]) * tck
		other = (db - ds - wrk) / dt * 100; if (other < 0) other = 0
		printf "%s %s %s %s %s %.0f %.0f\n", $1, $2, $3, $4, $5, ds / tck * 1e6 / ($1 * dur), other }'
}

# floor: the same wrk and script against phonecheck's GET /healthz, an
# answer that costs next to nothing: what the machine's loopback, wrk
# and the HTTP server cost a request. At 1 connection a round trip
# cannot be shorter, so floor's queries/s over MIGP's is the most a
# server answering over this transport could reach against it in this
# run.
systems="phonecheck floor"
[ -n "$msrv" ] && systems="phonecheck migp floor"
echo "private-mode benchmark: $N numbers, $BITS-bit buckets, $REQS requests a system (half exposed, every answer checked), wrk -d$DUR, $ROUNDS rounds, $(nproc) cores, load average $(cut -d' ' -f1-3 /proc/loadavg)"
for s in $systems; do point "$s" 2 >/dev/null; done # warm up
printf "%-5s %-10s %-5s %9s %8s %8s %11s %7s %12s %9s\n" round system conns "queries/s" "p50 us" "p99 us" "resp bytes" errors "srv cpu us/q" "other cpu"
: >"$WORK/points.txt"
for r in $(seq "$ROUNDS"); do
	for c in $CONNS; do
		for s in $systems; do
			read -r qps p50 p99 rb errs cpu other < <(point "$s" "$c")
			printf "%-5s %-10s %-5s %9s %8s %8s %11s %7s %12s %8s%%\n" "$r" "$s" "$c" "$qps" "$p50" "$p99" "$rb" "$errs" "$cpu" "$other"
			echo "$s $c $qps $p50 $p99 $rb $errs $cpu $r" >>"$WORK/points.txt"
		done
	done
done
echo "(resp bytes: per response, headers included; errors: non-2xx and socket errors;"
echo " srv cpu us/q: server CPU per query; other cpu: CPU used by neither server nor wrk, % of all cores;"
echo " floor: GET /healthz of the phonecheck server, the transport alone)"
echo
echo "medians of $ROUNDS rounds:"
printf "%-10s %-5s %9s %8s %8s %11s %12s  %s\n" system conns "queries/s" "p50 us" "p99 us" "resp bytes" "srv cpu us/q" "same-run ratio"
med() { sort -n | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
for c in $CONNS; do
	declare -A q=()
	for s in $systems; do
		col() { awk -v s="$s" -v c="$c" -v f="$1" '$1 == s && $2 == c { print $f }' "$WORK/points.txt" | med; }
		q[$s]=$(col 3)
		ratio=
		if [ "$s" = phonecheck ] && [ -n "$msrv" ]; then ratio="(below)"; fi
		if [ "$s" = migp ]; then
			rounds=$(awk -v c="$c" '$2 == c { q[$9, $1] = $3 } END { for (r = 1; (r, "migp") in q; r++) printf "%s%.2f", (r > 1 ? ", " : ""), q[r, "phonecheck"] / q[r, "migp"] }' "$WORK/points.txt")
			ratio=$(awk -v p="${q[phonecheck]}" -v m="${q[migp]}" -v r="$rounds" 'BEGIN { printf "phonecheck %.2fx MIGP (rounds: %s; target >= 2x)", p / m, r }')
		fi
		if [ "$s" = floor ] && [ -n "$msrv" ]; then
			ratio=$(awk -v f="${q[floor]}" -v m="${q[migp]}" 'BEGIN { printf "no work at all: %.2fx MIGP, the ceiling", f / m }')
		fi
		printf "%-10s %-5s %9s %8s %8s %11s %12s  %s\n" "$s" "$c" "${q[$s]}" "$(col 4)" "$(col 5)" "$(col 6)" "$(col 8)" "${ratio#(below)}"
	done
	# The time a query adds to the floor's (1/qps - 1/floor's qps): at 1
	# connection, the work each server puts on the round trip.
	if [ -n "$msrv" ]; then
		awk -v c="$c" -v p="${q[phonecheck]}" -v m="${q[migp]}" -v f="${q[floor]}" 'BEGIN {
			wp = 1e6 / p - 1e6 / f; wm = 1e6 / m - 1e6 / f
			printf "%-10s %-5s beyond the floor: phonecheck %.0f us/q, MIGP %.0f us/q: %.2fx\n", "", c, wp, wm, wm / wp }'
	fi
done
[ -z "$msrv" ] && echo "MIGP side skipped (MIGP_SRC not set): no ratio printed"
echo "load average after: $(cut -d' ' -f1-3 /proc/loadavg)"
