#!/usr/bin/env bash
# Installs the .deb that 'go run ./release' left in DIST (default dist/)
# with dpkg -i, and checks what it installed: the command, the man page,
# the conffile, the key made by postinst, the unit (systemd-analyze verify
# where there is one), and then the service itself: started by systemd
# where systemd runs, or else by running the unit's ExecStart line by hand
# as an unprivileged user, with /etc/default/phonecheck's values and the key
# in a credentials directory as systemd would hand it (mode 0400). It
# answers /healthz, a private check of a leaked number finds it, and a
# reload (SIGHUP) swaps the index in. The package is purged at the end.
#
# Needs root and dpkg: CI (CI=true) fails without them, elsewhere the
# test is skipped. It refuses to run where phonecheck is installed already.
set -euo pipefail
cd "$(dirname "$0")/.."
dist=${1:-dist}

if [ "$(id -u)" != 0 ] || ! command -v dpkg >/dev/null; then
	if [ "${CI:-}" = true ]; then
		echo "deb-test: FAIL: needs root and dpkg" >&2
		exit 1
	fi
	echo "deb-test: skipped: needs root and dpkg"
	exit 0
fi
if dpkg-query -W -f='${Status}' phonecheck 2>/dev/null | grep -q 'install ok'; then
	echo "deb-test: FAIL: phonecheck is installed on this machine already; the test would replace it" >&2
	exit 1
fi
arch=$(dpkg --print-architecture)
deb=$(ls "$dist"/phonecheck_*_"$arch".deb)
unit=/usr/lib/systemd/system/phonecheck.service
tmp=$(mktemp -d)
chmod 0711 "$tmp" # the service's user goes through it to its credentials
pid=
had_etc=$([ -e /etc/phonecheck ] && echo 1 || true)
had_lib=$([ -e /var/lib/phonecheck ] && echo 1 || true)
systemd=$([ -d /run/systemd/system ] && echo 1 || true)
cleanup() {
	if [ -n "$systemd" ]; then systemctl stop phonecheck >/dev/null 2>&1 || true; fi
	if [ -n "$pid" ]; then kill "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; fi
	dpkg --purge phonecheck >/dev/null 2>&1 || true
	[ -n "$had_etc" ] || rm -rf /etc/phonecheck
	[ -n "$had_lib" ] || rm -rf /var/lib/phonecheck
	rm -rf "$tmp"
}
trap cleanup EXIT
fail() { echo "deb-test: FAIL: $*" >&2; exit 1; }
passed=0
ok() { echo "deb-test: ok: $*"; passed=$((passed + 1)); }

dpkg -i "$deb" >/dev/null
ok "dpkg -i $(basename "$deb")"

phonecheck version | grep -q '^phonecheck v' || fail "phonecheck version: $(phonecheck version)"
ok "$(phonecheck version | head -1)"
[ "$(stat -c '%a %U' /etc/phonecheck/server.key)" = "600 root" ] || fail "postinst's key is not 0600 root: $(stat -c '%a %U' /etc/phonecheck/server.key)"
ok "postinst made /etc/phonecheck/server.key, 0600 root"
dpkg-query -W -f='${Conffiles}\n' phonecheck | grep -q '^ /etc/default/phonecheck ' || fail "/etc/default/phonecheck is not a conffile"
ok "/etc/default/phonecheck is a conffile"
if command -v groff >/dev/null; then
	out=$(zcat /usr/share/man/man1/phonecheck.1.gz | groff -man -Tutf8 -ww -z 2>&1) || fail "groff: $out"
	[ -z "$out" ] || fail "groff warns: $out"
	ok "man page renders without a warning"
fi
if command -v systemd-analyze >/dev/null; then
	# Hardening settings this systemd does not know would be warnings:
	# any output fails.
	out=$(systemd-analyze verify "$unit" 2>&1) || fail "systemd-analyze verify: $out"
	[ -z "$out" ] || fail "systemd-analyze verify: $out"
	ok "systemd-analyze verify $unit"
fi

# A private index sealed under the installed key, where the unit reads it.
phonecheck gen --seed 7 --n 300 --format txt --clean --out "$tmp/leak.txt" 2>/dev/null
phonecheck build --quiet --out "$tmp/plain.idx" --dataset deb-test --region US "$tmp/leak.txt" >/dev/null
phonecheck seal --quiet --key /etc/phonecheck/server.key --in "$tmp/plain.idx" --out "$tmp/private.idx" --bits 8 >"$tmp/seal.log" 2>&1 || { cat "$tmp/seal.log" >&2; fail "seal"; }
. /etc/default/phonecheck
install -m 0644 "$tmp/private.idx" "$PHONECHECK_INDEX"
port=$((20000 + RANDOM % 20000))
sed -i "s/^PHONECHECK_ADDR=.*/PHONECHECK_ADDR=127.0.0.1:$port/" /etc/default/phonecheck
url=http://127.0.0.1:$port

mainpid=
if [ -n "$systemd" ]; then
	systemctl daemon-reload
	systemctl start phonecheck
	mainpid=$(systemctl show -p MainPID --value phonecheck)
	ok "systemctl start phonecheck"
else
	# No systemd running (a container): the unit's ExecStart, by hand,
	# with its environment file, a credentials directory, and a user that
	# is not root, as DynamicUser= would give it.
	creds=$tmp/credentials
	mkdir -m 0755 "$creds"
	# Mode 0440, as systemd's credentials look where it grants the service
	# read access with an ACL (the mask shows as group bits): serve must
	# take a key from $CREDENTIALS_DIRECTORY whatever its group bits say.
	install -m 0440 -o nobody -g nogroup /etc/phonecheck/server.key "$creds/server.key"
	execstart=$(sed -n 's/^ExecStart=//p' "$unit")
	[ -n "$execstart" ] || fail "no ExecStart in $unit"
	# shellcheck disable=SC2086
	(
		set -a
		. /etc/default/phonecheck
		set +a
		export CREDENTIALS_DIRECTORY=$creds
		eval "exec setpriv --reuid=nobody --regid=nogroup --clear-groups --no-new-privs $execstart"
	) >"$tmp/serve.log" 2>&1 &
	pid=$!
	mainpid=$pid
	ok "no systemd running: ExecStart by hand as nobody: $execstart"
fi
for _ in $(seq 100); do
	curl -fsS "$url/healthz" >/dev/null 2>&1 && break
	sleep 0.2
done
curl -fsS "$url/healthz" >/dev/null || { cat "$tmp/serve.log" >&2 2>/dev/null || true; fail "no /healthz at $url"; }
ok "GET /healthz"

number=$(head -1 "$tmp/leak.txt")
set +e
phonecheck check --server "$url" --exit-code "$number" >"$tmp/check.out" 2>&1
rc=$?
set -e
# The log shows the answer, never the number (synthetic or not): digits
# after the first two of a long run are masked.
redact() { sed -E 's/([0-9]{2})[0-9]{3,}/\1…/g' "$@"; }
[ "$rc" = 3 ] || { redact "$tmp/check.out" >&2; fail "private check of a leaked number: exit $rc, want 3 (exposed)"; }
ok "private check: $(head -1 "$tmp/check.out" | redact)"

# ExecReload: SIGHUP reopens the index.
if [ -n "$systemd" ]; then systemctl reload phonecheck; else kill -HUP "$mainpid"; fi
loads() { curl -fsS "$url/metrics" | sed -n 's/^phonecheck_index_loads_total //p'; }
for _ in $(seq 50); do
	[ "$(loads)" = 2 ] && break
	sleep 0.2
done
[ "$(loads)" = 2 ] || fail "no reload: phonecheck_index_loads_total $(loads)"
curl -fsS "$url/healthz" >/dev/null || fail "no /healthz after the reload"
ok "reload (SIGHUP): phonecheck_index_loads_total 2"
echo "deb-test: $passed passed, 0 failed"
