#!/usr/bin/env bash
# knocker --connect HOST:PORT on loopback: it knocks, retries TCP until
# the port accepts (sending fresh knocks with backoff meanwhile), then
# relays standard input and output with a half-close; a refusing receipt
# ends it at once (exit 4); a port that never opens ends it at the
# deadline (exit 7).  The knocks go to k2responder (format 2, receipts)
# and the TCP peer is tcpecho, which answers only after end of file.
# t_ssh.sh runs the same against a real sshd behind nftables.
. "$(dirname "$0")/lib.sh"

setup_keys
R=$BIN/tools/k2responder
E=$BIN/tools/tcpecho
export HOME=$T/home
unset XDG_CONFIG_HOME SIGLATCH_CONFIG
mkdir -p -m 700 "$HOME/.config/siglatch"

kn() {
	"$BIN/knocker" --server-key "$T/keys/server.pub.pem" \
	    --hmac-key "$T/keys/alice.hmac" "$@"
}
field() { sed -n "s/^$2=//p" "$1"; }
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
estart() { # delay-ms
	rm -f "$T/eport"
	"$E" "$T/eport" "$1" 2>>"$T/echo.log" &
	EPID=$!
	for _ in $(seq 1 100); do
		[ -s "$T/eport" ] && break
		sleep 0.05
	done
	EPORT=$(cat "$T/eport" 2>/dev/null)
	[ -n "$EPORT" ]
}
now_ms() { local t=${EPOCHREALTIME/[.,]/}; echo $((t / 1000)); }

# --- the port opens 2.5 s after the first knock -------------------------------------
rstart --timeout 20 --status done --value 60 --linger 15000
estart 2500
t0=$(now_ms)
out=$(printf 'hello' | kn --connect "127.0.0.1:$EPORT" --format 2 -p "$RPORT" 127.0.0.1 10 1 2>"$T/err")
rc=$?
t1=$(now_ms)
wait "$EPID"
erc=$?
rkill
check "a port that opens late: exit 0" test "$rc" = 0
check "... the relay carried both ways, the answer after the half-close" test "$out" = "echo:hello"
check "... the peer saw end of file and answered (tcpecho exit 0)" test "$erc" = 0
check "... it waited for the port (about 2.5 s, under 8)" test $((t1 - t0)) -ge 2000 -a $((t1 - t0)) -lt 8000
check "... one format-2 knock asking for a receipt, then fresh knocks (not copies)" sh -c "[ '$(field "$T/rout" receipt)' = yes ] && [ '$(field "$T/rout" copies)' = 1 ] && [ '$(field "$T/rout" different)' -ge 1 ]"
check "... nothing on standard error" test ! -s "$T/err"

# --- a lot of data, both ways --------------------------------------------------------------
estart 0
head -c 600000 /dev/urandom >"$T/blob"
kn --connect "127.0.0.1:$EPORT" --format 1 -p 9 127.0.0.1 10 1 <"$T/blob" >"$T/back" 2>"$T/err"
rc=$?
wait "$EPID"
check "format 1, 600 kB: exit 0" test "$rc" = 0
check "... every byte came back in order" sh -c "[ \"\$(head -c 5 '$T/back')\" = echo: ] && tail -c +6 '$T/back' | cmp -s - '$T/blob'"

# --- a receipt that refuses ends it at once -------------------------------------------------
rstart --timeout 20 --status refused --reason 1
t0=$(now_ms)
o=$(kn --connect 127.0.0.1:9 --timeout 20 --format 2 -p "$RPORT" 127.0.0.1 10 1 2>&1 </dev/null)
rc=$?
t1=$(now_ms)
rkill
check "a refusing receipt: exit 4, at once" sh -c "[ $rc = 4 ] && [ $((t1 - t0)) -lt 5000 ] && printf '%s' \"\$1\" | grep -q 'refused by the server'" _ "$o"
rstart --timeout 20 --status failed --value 2
o=$(kn --connect 127.0.0.1:9 --timeout 20 --format 2 -p "$RPORT" 127.0.0.1 10 1 2>&1 </dev/null)
rc=$?
rkill
check "a receipt saying the action failed: exit 3" test "$rc" = 3

# --- a port that never opens ----------------------------------------------------------------
rstart --timeout 20 --status done --value 60
t0=$(now_ms)
o=$(kn --connect 127.0.0.1:9 --timeout 3 --format 2 -p "$RPORT" 127.0.0.1 10 1 2>&1 </dev/null)
rc=$?
t1=$(now_ms)
rkill
check "a port that never opens: exit 7 at the deadline (3 s)" sh -c "[ $rc = 7 ] && [ $((t1 - t0)) -ge 2900 ] && [ $((t1 - t0)) -lt 6000 ]"
check "... saying so, with the knocks sent (1, 2 s: 2 knocks)" sh -c "printf '%s' \"\$1\" | grep -q 'port 9 did not accept a connection within 3 s (2 knocks sent'" _ "$o"
o=$(kn -q --connect 127.0.0.1:9 --timeout 1 --format 1 -p 9 127.0.0.1 10 1 2>&1 </dev/null)
rc=$?
check "--quiet: exit 7 and no output" sh -c "[ $rc = 7 ] && [ -z \"\$1\" ]" _ "$o"

# --- a profile ------------------------------------------------------------------------------
cat >"$HOME/.config/siglatch/knocker.conf" <<CONF
[echo]
host = 127.0.0.1
port = 9
user = 10
action = 1
format = 1
server-key = $T/keys/server.pub.pem
hmac-key = $T/keys/alice.hmac
timeout = 5
CONF
chmod 600 "$HOME/.config/siglatch/knocker.conf"
estart 0
out=$(printf 'via profile' | "$BIN/knocker" --connect "127.0.0.1:$EPORT" echo)
rc=$?
wait "$EPID"
check "knocker --connect HOST:PORT PROFILE: exit 0, relayed" sh -c "[ $rc = 0 ] && [ '$out' = 'echo:via profile' ]"

# --- usage --------------------------------------------------------------------------------------
for bad in "127.0.0.1" "::1:22" "host:0" "host:99999" ":22" "[::1]22"; do
	"$BIN/knocker" --connect "$bad" echo </dev/null >/dev/null 2>&1
	check "--connect '$bad' is a usage error (exit 2)" test $? = 2
done
"$BIN/knocker" --connect 127.0.0.1:22 -n echo </dev/null >/dev/null 2>&1
check "--connect with --dry-run is a usage error" test $? = 2
