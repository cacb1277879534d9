#!/usr/bin/env bash
# Knock format 2 against the real daemon on loopback: a good knock runs the
# action with the unchanged script interface; forged, damaged, truncated,
# stale, replayed, misaddressed knocks and a tag of one user with another
# user's MAC run nothing; a copy raced from another address does not spoil
# the user's own; each receipt outcome comes back; v1 and format 2 share
# one port; the format and address keys do what they say.
. "$(dirname "$0")/lib.sh"

setup_keys
pick_port
MAX_SCRIPTS=1 RL_SOURCE=10 write_config
# receipts on; a failing action, a timed one
sed -i '/^logging = yes$/a receipt = yes' "$T/server.conf"
sed -i 's/^actions = record, ascii_only, strip, hang, other, vec42, vec200$/actions = record, ascii_only, strip, hang, other, vec42, vec200, fails, timed/' "$T/server.conf"
sed -i 's/^actions = record, ascii_only, strip, hang, unlisted$/actions = record, ascii_only, strip, hang, unlisted, fails, timed/' "$T/server.conf"
cat >>"$T/server.conf" <<CONF

[action:fails]
id = 7
constructor = $T/fail.sh

[action:timed]
id = 8
constructor = $BIN/tools/slaction $T/runs
destructor = $BIN/tools/slaction $T/runs
keepalive_interval = 300
CONF
printf '#!/bin/sh\nexit 3\n' >"$T/fail.sh"
chmod 755 "$T/fail.sh"

out=$("$BIN/siglatchd" -t -c "$T/server.conf" 2>&1)
check "-t reports the formats and receipts of each server" \
	sh -c "printf '%s\n' '$out' | grep -qx 'server main: port $PORT, knock formats 1 and 2, receipts on'"
start_daemon || { notok "siglatchd starts"; exit 1; }

k2() { # user [options...]: a format-2 knock from 127.0.0.1 unless --bind
	local user=$1
	shift
	"$BIN/tools/k2knock" --port "$PORT" --server-key "$T/keys/server.pub.pem" \
	    --hmac-key "$T/keys/$user.hmac" --user "$(uid_of "$user")" "$@"
}
arg_of() { sed -n "s/^argv\[$2\]=//p" "$1"; }

# 1. a good knock, the 1.0 script interface unchanged
before=$(nruns)
r=$(k2 alice --action 1 --payload "hello v2" --receipt --wait 3000)
check "a format-2 knock with a receipt gets 'done' ($r)" test "$r" = "receipt status=0 reason=0 value=0 skew=0"
wait_runs $((before + 1))
f=$(latest_run)
check "the action ran with argv ip user_id username action_id action_name secure payload" \
	test "$(arg_of "$f" 2) $(arg_of "$f" 3) $(arg_of "$f" 4) $(arg_of "$f" 5) $(arg_of "$f" 6) $(arg_of "$f" 7) $(arg_of "$f" 8)" = \
	"127.0.0.1 10 alice 1 record 1 $(printf 'hello v2' | base64 -w0)"
check "the log says format 2 and the address" log_has 'SL100 user alice from 127.0.0.1 on main: action record authorized (format 2, for 127.0.0.1)'
check "the receipt is logged" log_has 'SL110 receipt to 127.0.0.1 port [0-9]*: done, 0'

# 2. nothing runs for a bad one
"$BIN/tools/slcraft" --port "$PORT" --raw-random 559 --count 50 >/dev/null
runs_nothing "random 559-byte datagrams run nothing" true
runs_nothing "a tag of alice's with carol's MAC runs nothing" \
	k2 alice --action 1 --mac-key "$T/keys/carol.hmac"
runs_nothing "carol's tag on alice's knock runs nothing" \
	k2 alice --action 1 --tag-key "$T/keys/carol.hmac"
for bit in 0 63 64 2111 2112 4087 4088 4215 4216 4471; do
	runs_nothing "bit $bit flipped runs nothing" k2 alice --action 1 --flip-bit "$bit"
done
for bit in 100 2200 4100; do
	runs_nothing "bit $bit flipped, MAC made again, runs nothing" \
		k2 alice --action 1 --flip-bit "$bit" --remac
done
check "a knock with a good MAC that does not open is logged for what it is" \
	log_has 'SL212 user alice from 127.0.0.1: format-2 knock with a good MAC does not open'
k2 alice --action 1 --out "$T/full.bin"
head -c 558 "$T/full.bin" >"$T/short.bin"
runs_nothing "a truncated knock runs nothing" k2 x --send-file "$T/short.bin"
runs_nothing "a knock 300 s old runs nothing" k2 alice --action 1 --ts-offset -300
runs_nothing "a knock 300 s ahead runs nothing" k2 alice --action 1 --ts-offset 300
kill -USR1 "$DPID"
sleep 0.3
check "knocks outside the window are dropped for want of a current tag (in the kernel or by one lookup)" \
	sh -c "grep 'SL008 received=' '$T/daemon.log' | tail -1 | grep -Eq ' (kernel_)?k2_unknown_tag=[1-9]'"
runs_nothing "bob (enabled = no) runs nothing" k2 bob --action 1

# 3. replays, across a kill -9 too
before=$(nruns)
k2 alice --action 1 --payload once --save "$T/once.bin" >/dev/null
wait_runs $((before + 1))
sleep 0.3
runs_nothing "a replayed format-2 knock runs nothing" k2 x --send-file "$T/once.bin"
check "the replay is logged with its user" log_has 'SL203 user alice from 127.0.0.1: replayed format-2 knock refused'
r=$(k2 x --send-file "$T/once.bin" --wait 700)
check "a replay gets no receipt ($r)" test "$r" = "no receipt"
kill -KILL "$DPID"
wait "$DPID" 2>/dev/null
DPID=
start_daemon || { notok "siglatchd restarts"; exit 1; }
runs_nothing "after kill -9 the knock is still a replay" k2 x --send-file "$T/once.bin"

# 4. addresses
runs_nothing "a knock for 127.0.0.1 sent from 127.0.0.2 runs nothing" \
	k2 alice --action 1 --addr 127.0.0.1 --bind 127.0.0.2
check "the log names both addresses" log_has 'SL211 user alice: knock for 127.0.0.1 came from 127.0.0.2, refused'
k2 alice --action 1 --payload raced --addr 127.0.0.1 --out "$T/raced.bin"
before=$(nruns)
k2 x --send-file "$T/raced.bin" --bind 127.0.0.3 >/dev/null
k2 x --send-file "$T/raced.bin" --bind 127.0.0.4 >/dev/null
sleep 0.3
k2 x --send-file "$T/raced.bin" --bind 127.0.0.1 >/dev/null
wait_runs $((before + 1))
f=$(latest_run)
check "a copy raced from elsewhere first does not spoil the user's own" \
	test "$(nruns) $(arg_of "$f" 2) $(arg_of "$f" 8)" = "$((before + 1)) 127.0.0.1 $(printf raced | base64 -w0)"
before=$(nruns)
r=$(k2 alice --action 1 --no-addr --bind 127.0.0.9 --receipt --wait 3000)
wait_runs $((before + 1))
check "a knock naming no address grants its source ($r)" \
	test "$(arg_of "$(latest_run)" 2)" = "127.0.0.9"

# 5. receipts: failed, refused (not permitted, payload), busy, grant
r=$(k2 alice --action 1 --host 127.0.0.2 --bind 127.0.0.1 --receipt --wait 3000)
check "a knock sent to 127.0.0.2 gets its receipt from 127.0.0.2 (server on every address) ($r)" \
	test "$r" = "receipt status=0 reason=0 value=0 skew=0"
r=$(k2 alice --action 1 --host ::1 --bind ::1 --receipt --wait 3000)
check "over IPv6 too ($r)" test "$r" = "receipt status=0 reason=0 value=0 skew=0"
r=$(k2 alice --action 7 --receipt --wait 3000)
check "a failing action: receipt 'failed' with its exit status ($r)" test "$r" = "receipt status=1 reason=0 value=3 skew=0"
r=$(k2 alice --action 5 --receipt --wait 3000)
check "an action not permitted: receipt 'refused: not permitted' ($r)" test "$r" = "receipt status=2 reason=1 value=0 skew=0"
r=$(k2 alice --action 5 --no-addr --receipt --wait 3000)
check "naming no address and refused by the action lists: receipt 'refused: not permitted' ($r)" test "$r" = "receipt status=2 reason=1 value=0 skew=0"
r=$(k2 alice --action 2 --payload "$(printf 'a\tb')" --receipt --wait 3000)
check "a payload refused: receipt 'refused: payload' ($r)" test "$r" = "receipt status=2 reason=2 value=0 skew=0"
r=$(k2 alice --action 8 --receipt --wait 3000)
check "a timed grant: receipt 'done' with its seconds ($r)" sh -c "printf '%s' '$r' | grep -Eq '^receipt status=0 reason=0 value=(299|300) skew=0$'"
k2 alice --action 4 >/dev/null   # hangs: the only script slot is taken
sleep 0.3
r=$(k2 alice --action 1 --receipt --wait 3000)
check "no free script slot: receipt 'busy' ($r)" test "$r" = "receipt status=3 reason=0 value=0 skew=0"
r=$(k2 alice --action 1 --wait 700)
check "a knock that asks for no receipt gets none ($r)" test "$r" = "no receipt"
[ -f "$T/hang.pid" ] && kill -TERM "$(cat "$T/hang.pid")" 2>/dev/null
sleep 0.3

# 6. a source in a penalty for format-1 junk still knocks with format 2
check "40 junk datagrams sent from 127.0.0.7" \
	"$BIN/bench/flood" -s 127.0.0.7 127.0.0.1 "$PORT" 256 40
sleep 0.3
craft alice --action 1 --payload v1-penalised --out "$T/v1pen.bin" >/dev/null
check "... then its format-1 knock" \
	"$BIN/bench/flood" -s 127.0.0.7 127.0.0.1 "$PORT" 256 1 "$T/v1pen.bin"
r=$(k2 alice --action 1 --payload v2-penalised --bind 127.0.0.7 --receipt --wait 3000)
check "a source in a penalty for format-1 junk: its format-2 knock runs ($r)" \
	test "$r" = "receipt status=0 reason=0 value=0 skew=0"
sleep 0.3
check "... while its format-1 knock did not" \
	test -z "$(grep -l "^argv\[8\]=$(printf v1-penalised | base64 -w0)\$" "$T"/runs/run.* 2>/dev/null)"

# 7. format 1 and format 2 on one port
before=$(nruns)
# one script slot (MAX_SCRIPTS=1): the second knock after the first ran
knock alice 1 "v1-mixed" >/dev/null
wait_runs $((before + 1))
sleep 0.3
k2 alice --action 1 --payload v2-mixed >/dev/null
wait_runs $((before + 2))
check "a 1.0 knock and a format-2 knock both run on one port" test "$(nruns)" -eq $((before + 2))
check "the daemon is alive" daemon_alive
stop_daemon

# 8. the keys that govern it
sed -i 's/^receipt = yes$/receipt = no\nformat1 = no\ngrant_named_address = yes/' "$T/server.conf"
start_daemon || { notok "siglatchd starts with format1 = no"; exit 1; }
before=$(nruns)
r=$(k2 alice --action 1 --receipt --wait 700)
check "receipt = no: no receipt ($r)" test "$r" = "no receipt"
wait_runs $((before + 1))
sleep 0.3
knock alice 1 "v1-off" >/dev/null
k2 alice --action 1 --payload named --addr 127.0.0.5 >/dev/null
wait_runs $((before + 2))
sleep 0.3
check "format1 = no: a 1.0 knock runs nothing" test "$(nruns)" -eq $((before + 2))
check "grant_named_address = yes: the named address is granted" \
	test "$(arg_of "$(latest_run)" 2)" = "127.0.0.5"
stop_daemon
sed -i 's/^format1 = no$/format2 = no/' "$T/server.conf"
start_daemon || { notok "siglatchd starts with format2 = no"; exit 1; }
runs_nothing "format2 = no: a format-2 knock runs nothing" k2 alice --action 1
stop_daemon
sed -i 's/^format2 = no$/require_named_address = yes/' "$T/server.conf"
start_daemon || { notok "siglatchd starts with require_named_address"; exit 1; }
runs_nothing "require_named_address = yes: a knock naming none runs nothing" \
	k2 alice --action 1 --no-addr
check "and the log says why" log_has 'knock names no address, refused (require_named_address = yes)'
stop_daemon
sed -i 's/^require_named_address = yes$/format1 = no\nformat2 = no/' "$T/server.conf"
out=$("$BIN/siglatchd" -t -c "$T/server.conf" 2>&1)
check "both formats off is a configuration error naming file, line and key ($out)" \
	sh -c "printf '%s' '$out' | grep -q 'server.conf:[0-9]*: .*format2'"
exit 0
