#!/usr/bin/env bash
# knocker's exit statuses and messages for scripts: --quiet prints
# nothing but errors and keeps the status; --verbose names the datagram's
# format and size, the server key's fingerprint and the address the knock
# went to.  The receipts come from k2responder (tests/tools/k2responder.c).
. "$(dirname "$0")/lib.sh"

setup_keys
R=$BIN/tools/k2responder
export HOME=$T/home
unset XDG_CONFIG_HOME
mkdir -p "$HOME/.config/siglatch"

kn() {
	"$BIN/knocker" --server-key "$T/keys/server.pub.pem" \
	    --hmac-key "$T/keys/alice.hmac" "$@"
}
rstart() {
	rm -f "$T/rport" "$T/rout"
	"$R" --server-key "$T/keys/server.priv.pem" \
	    --hmac-key "$T/keys/alice.hmac" --port-file "$T/rport" \
	    --out "$T/rout" "$@" 2>>"$T/responder.log" &
	RPID=$!
	for _ in $(seq 1 100); do
		[ -s "$T/rport" ] && break
		sleep 0.05
	done
	RPORT=$(cat "$T/rport" 2>/dev/null)
	[ -n "$RPORT" ]
}
rkill() {
	[ -n "${RPID:-}" ] && kill "$RPID" 2>/dev/null
	[ -n "${RPID:-}" ] && wait "$RPID" 2>/dev/null
	RPID=
}

# --- --help lists every status ---------------------------------------------------
h=$("$BIN/knocker" --help)
for n in 0 1 2 3 4 5 6 7; do
	check "--help lists exit status $n" sh -c "printf '%s\n' \"\$1\" | grep -q '^  $n  '" _ "$h"
done
check "--help lists --quiet" sh -c "printf '%s\n' \"\$1\" | grep -q -- '-q, --quiet'" _ "$h"

# --- --quiet: the status, and no output -------------------------------------------
quiet() { # description want responder-options...
	local d=$1 want=$2 o rc
	shift 2
	if ! rstart --timeout 10 "$@"; then
		notok "$d (responder did not start)"
		return
	fi
	o=$(kn -q --format 2 --wait=2 -p "$RPORT" 127.0.0.1 10 1 2>&1)
	rc=$?
	rkill
	if [ "$rc" != "$want" ] || [ -n "$o" ]; then
		notok "$d (exit $rc, want $want; output '$o')"
	else
		ok "$d"
	fi
}
quiet "--quiet, receipt done: exit 0, no output" 0 --status done --value 30
quiet "--quiet, receipt action failed: exit 3, no output" 3 --status failed --value 1
quiet "--quiet, receipt refused: exit 4, no output" 4 --status refused --reason 1
quiet "--quiet, receipt busy: exit 5, no output" 5 --status busy
quiet "--quiet, no receipt in time: exit 6, no output" 6 --status none --clock-offset 100

o=$(kn -q --hmac-key /nonexistent/k -p 9 127.0.0.1 10 1 2>&1)
rc=$?
check "--quiet still prints a local error (exit 1, one line)" sh -c "[ $rc = 1 ] && [ \$(printf '%s\n' \"\$1\" | wc -l) = 1 ] && printf '%s' \"\$1\" | grep -q '^knocker: .*nonexistent'" _ "$o"
"$BIN/knocker" -q -v 127.0.0.1 10 1 >/dev/null 2>&1
check "--quiet with --verbose is a usage error (exit 2)" test $? = 2

# --- --verbose ------------------------------------------------------------------------
fp=$("$BIN/siglatch-keygen" fingerprint "$T/keys/server.pub.pem" | cut -d' ' -f1)
rstart --timeout 10 --status done --value 30
o=$(kn -v --format 2 --wait=2 -p "$RPORT" localhost 10 1 2>&1)
rc=$?
rkill
check "-v, format 2: exit 0" test "$rc" = 0
check "-v names the datagram's size and format" sh -c "printf '%s' \"\$1\" | grep -q 'sent a 559-byte format-2 datagram to '" _ "$o"
check "-v names the resolved address and HOST" sh -c "printf '%s' \"\$1\" | grep -Eq 'datagram to (127\.0\.0\.1|::1) port $RPORT \(HOST localhost\)'" _ "$o"
check "-v shows the server key's fingerprint, the one siglatch-keygen prints ($fp)" sh -c "[ ${#fp} = 50 ] && printf '%s' \"\$1\" | grep -qF 'server key $fp'" _ "$o"
check "-v never shows the HMAC key" sh -c "! printf '%s' \"\$1\" | grep -qi \"\$(cat '$T/keys/alice.hmac')\"" _ "$o"
o=$(kn -v --format 1 -p 9 127.0.0.1 10 1 2>&1)
check "-v, format 1: a 256-byte format-1 datagram" sh -c "printf '%s' \"\$1\" | grep -q 'sent a 256-byte format-1 datagram to 127.0.0.1 port 9'" _ "$o"
