#!/usr/bin/env bash
# A valid knock runs its action exactly as siglatch 1.0 did; every kind of
# bad packet runs nothing while the daemon keeps serving valid knocks.
. "$(dirname "$0")/lib.sh"

setup_keys
pick_port
# the user-space path, length stage included (t_flood.sh has the kernel
# filter, which drops wrong lengths before they reach the process)
KERNEL_FILTER=no write_config
start_daemon || { notok "siglatchd starts"; exit 1; }
ok "siglatchd starts and listens on port $PORT"

# --- a valid knock, IPv4 ---------------------------------------------------
knock alice record-does-not-matter 2>/dev/null  # unknown alias: refused by the client
check "knocker refuses an unknown action alias" test "$(nruns)" -eq 0
knock alice 1 "hello world, 1.0!"
if wait_runs 1; then ok "valid knock over IPv4 runs the action"; else notok "valid knock over IPv4 runs the action"; fi
r=$(latest_run)
want_argv="argc=9
argv[0]=$BIN/tools/slaction
argv[1]=$T/runs
argv[2]=127.0.0.1
argv[3]=10
argv[4]=alice
argv[5]=1
argv[6]=record
argv[7]=1
argv[8]=$(printf '%s' 'hello world, 1.0!' | base64 -w0)"
check "argv is the siglatch 1.0 convention" test "$(grep -E '^arg' "$r")" = "$want_argv"
got_payload=$(sed -n 's/^argv\[8\]=//p' "$r" | base64 -d)
check "payload base64 round-trips" test "$got_payload" = 'hello world, 1.0!'
want_env="env=PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
env=SIGLATCH_ACTION=record
env=SIGLATCH_ACTION_ID=1
env=SIGLATCH_GRANT_TIMEOUT=0
env=SIGLATCH_IP=127.0.0.1
env=SIGLATCH_PAYLOAD=$(printf '%s' 'hello world, 1.0!' | base64 -w0)
env=SIGLATCH_PHASE=run
env=SIGLATCH_SECURE=1
env=SIGLATCH_SERVER=main
env=SIGLATCH_USER=alice
env=SIGLATCH_USER_ID=10"
check "environment is clean: PATH and SIGLATCH_* only" test "$(grep '^env=' "$r" | sort)" = "$want_env"
check "stdin is /dev/null" grep -qx 'stdin_bytes=0' "$r"
check "only descriptors 0-2 are open in the script" test "$(grep '^fd=' "$r" | sort | tr '\n' ' ')" = "fd=0 fd=1 fd=2 "
sleep 0.3
check "script output is captured in the log (SL103)" log_has 'SL103 .*slaction: ran for user alice action record'
check "the accepted knock is logged (SL100)" log_has 'SL100 user alice from 127.0.0.1'

# --- a valid knock, IPv6 ---------------------------------------------------
n=$(nruns)
HOST=::1 knock alice 1 "v6"
if wait_runs $((n + 1)); then
	r=$(latest_run)
	check "valid knock over IPv6 runs the action with ip ::1" grep -qx 'argv\[2\]=::1' "$r"
else
	notok "valid knock over IPv6 runs the action"
fi

# --- empty and maximum payloads ---------------------------------------------
n=$(nruns)
knock alice 1
wait_runs $((n + 1)) && r=$(latest_run)
check "empty payload gives an empty last argument" grep -qx 'argv\[8\]=' "$r"
n=$(nruns)
big=$(head -c 199 /dev/zero | tr '\0' 'x')
knock alice 1 "$big"
wait_runs $((n + 1)) && r=$(latest_run)
check "199-byte payload arrives whole" test "$(sed -n 's/^argv\[8\]=//p' "$r" | base64 -d)" = "$big"
check "knocker refuses a 200-byte payload" sh -c "! '$BIN/knocker' --port $PORT --server-key '$T/keys/server.pub.pem' --hmac-key '$T/keys/alice.hmac' 127.0.0.1 10 1 '${big}y' 2>/dev/null"

# --- what must run nothing --------------------------------------------------
runs_nothing "bad HMAC runs nothing" craft alice --action 1 --bad-hmac
runs_nothing "unknown user runs nothing" "$BIN/tools/slcraft" --host 127.0.0.1 --port "$PORT" \
	--server-key "$T/keys/server.pub.pem" --hmac-key "$T/keys/alice.hmac" --user 999 --action 1
runs_nothing "disabled user runs nothing" craft bob --action 1
runs_nothing "action not listed for the user runs nothing" craft alice --action 5
runs_nothing "action not listed for the server runs nothing" craft alice --action 6
runs_nothing "unknown action id runs nothing" craft alice --action 77
runs_nothing "stale timestamp (-121 s) runs nothing" craft alice --action 1 --ts-offset -121
runs_nothing "future timestamp (+121 s) runs nothing" craft alice --action 1 --ts-offset 121
runs_nothing "wrong version (2) runs nothing" craft alice --action 1 --version 2
runs_nothing "wrong version (0) runs nothing" craft alice --action 1 --version 0
runs_nothing "payload_len 200 runs nothing" craft alice --action 1 --payload-len 200
runs_nothing "payload_len 60000 runs nothing" craft alice --action 1 --payload-len 60000
runs_nothing "255-byte datagram runs nothing" "$BIN/tools/slcraft" --host 127.0.0.1 --port "$PORT" --raw-random 255
runs_nothing "257-byte datagram runs nothing" "$BIN/tools/slcraft" --host 127.0.0.1 --port "$PORT" --raw-random 257
runs_nothing "empty datagram runs nothing" "$BIN/tools/slcraft" --host 127.0.0.1 --port "$PORT" --raw-random 0
runs_nothing "64 random 256-byte datagrams run nothing" "$BIN/tools/slcraft" --host 127.0.0.1 --port "$PORT" --raw-random 256 --count 64
runs_nothing "non-ASCII payload to a require_ascii action runs nothing" craft alice --action 2 --payload-hex 68690a
for v in 1 2 3; do
	runs_nothing "siglatch 1.0 vector knock$v (stale by now) runs nothing" \
		"$BIN/tools/slcraft" --host 127.0.0.1 --port "$PORT" --send-file "$VEC/knock$v.bin"
done
kill -USR1 "$DPID"
sleep 0.3
badlen=$(grep 'SL008 received=' "$T/daemon.log" | tail -1 | sed -n 's/.* bad_length=\([0-9]*\).*/\1/p')
check "with kernel_filter = no the wrong lengths reach the process and are counted (bad_length=${badlen:-none})" \
	test "${badlen:-0}" -eq 3
check "require_ascii refusal is logged (SL205)" log_has 'SL205'
check "stale knock is logged as such (SL202)" log_has 'SL202'
check "pre-authentication failures share one class (SL201)" log_has 'SL201 rejected packet from 127.0.0.1'

# printable ASCII to the require_ascii action does run
n=$(nruns)
knock alice 2 "plain text ok"
check "printable payload to a require_ascii action runs" wait_runs $((n + 1))

# discard_payload: the script gets an empty payload, the log says so
n=$(nruns)
knock alice 3 "secret stuff"
wait_runs $((n + 1)) && r=$(latest_run)
check "discard_payload passes an empty payload" grep -qx 'argv\[8\]=' "$r"
sleep 0.2
check "discard_payload is logged (SL105)" log_has 'SL105'

# --- replay ------------------------------------------------------------------
n=$(nruns)
craft alice --action 1 --payload once --save "$T/captured.bin" >/dev/null
wait_runs $((n + 1))
check "captured knock ran once" test "$(nruns)" -eq $((n + 1))
runs_nothing "immediate replay runs nothing" "$BIN/tools/slcraft" --host 127.0.0.1 --port "$PORT" --send-file "$T/captured.bin"
runs_nothing "replay over IPv6 runs nothing" "$BIN/tools/slcraft" --host ::1 --port "$PORT" --send-file "$T/captured.bin"
kill -USR1 "$DPID"
sleep 0.3
dups=$(grep 'SL008 received=' "$T/daemon.log" | tail -1 | sed -n 's/.* duplicate=\([0-9]*\).*/\1/p')
check "both replays were dropped as duplicates before decryption (duplicate=${dups:-none})" test "${dups:-0}" -ge 2

# --- flood logging -------------------------------------------------------------
before=$(log_count 'SL201')
check "a flood of 400 random 256-byte packets is sent" \
	"$BIN/tools/slcraft" --host 127.0.0.1 --port "$PORT" --raw-random 256 --count 400
sleep 1
after=$(log_count 'SL201')
check "the flood logs at most a handful of SL201 lines ($((after - before)))" test $((after - before)) -le 5
kill -USR1 "$DPID"
sleep 0.3
rejected=$(grep 'SL008 received=' "$T/daemon.log" | tail -1 | sed -n 's/.* rejected=\([0-9]*\).*/\1/p')
check "the counters saw the flood (rejected=${rejected:-none} >= 400)" test "${rejected:-0}" -ge 400
for _ in $(seq 1 60); do log_has 'SL290' && break; sleep 0.25; done
check "a periodic summary replaces per-packet lines (SL290)" log_has 'SL290 .* SL201 lines suppressed' 
check "the daemon survived everything" daemon_alive

stop_daemon
check "SIGTERM: the daemon exits 0" test "$DEXIT" = 0
check "SIGTERM: stop is logged with counters (SL008, SL004)" sh -c "grep -q SL008 '$T/daemon.log' && grep -q 'SL004 stopped' '$T/daemon.log'"
