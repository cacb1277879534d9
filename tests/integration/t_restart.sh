#!/usr/bin/env bash
# Replay state survives kill -9; a corrupt state file is reported and fails
# safe; a clean stop saves state; a journal missing from a state_dir that
# was used before is not taken for a first start.
. "$(dirname "$0")/lib.sh"

setup_keys
pick_port
write_config
start_daemon || { notok "siglatchd starts"; exit 1; }

craft alice --action 1 --payload before-crash --save "$T/p1.bin" >/dev/null
check "knock before the crash runs" wait_runs 1
kill -KILL "$DPID"
wait "$DPID" 2>/dev/null
DPID=
start_daemon || { notok "siglatchd restarts after kill -9"; exit 1; }
ok "siglatchd restarts after kill -9"
check "restart reports the loaded replay state (SL006)" log_has 'SL006 replay state loaded: 1 live'
runs_nothing "replay after kill -9 and restart runs nothing" \
	"$BIN/tools/slcraft" --host 127.0.0.1 --port "$PORT" --send-file "$T/p1.bin"
check "the replay is logged (SL203)" log_has 'SL203'

# the network process dies: the main process stops with an error, state
# intact (t_privsep.sh kills the main process instead)
npid=$(pgrep -P "$DPID" -x siglatchd-net | head -1)
check "a network process runs beside the main process" test -n "$npid"
check "the main (privileged) process holds one socket only, its channel" \
	test "$(ls -l /proc/$DPID/fd | grep -c 'socket:')" -eq 1
kill -KILL "$npid"
for _ in $(seq 1 100); do kill -0 "$DPID" 2>/dev/null || break; sleep 0.05; done
wait "$DPID" 2>/dev/null
st=$?
DPID=
check "killing the network process stops the main process with an error" test "$st" -ne 0
check "... and says so" log_has 'network process .* is gone'
start_daemon || { notok "siglatchd restarts after losing its network process"; exit 1; }
runs_nothing "replay after the network process died and a restart runs nothing" \
	"$BIN/tools/slcraft" --host 127.0.0.1 --port "$PORT" --send-file "$T/p1.bin"

# clean stop, restart: still remembered
stop_daemon
check "clean stop exits 0" test "$DEXIT" = 0
start_daemon || { notok "siglatchd restarts after SIGTERM"; exit 1; }
runs_nothing "replay after a clean restart runs nothing" \
	"$BIN/tools/slcraft" --host 127.0.0.1 --port "$PORT" --send-file "$T/p1.bin"

# corrupt state: reported, and knocks that might have been seen are refused
stop_daemon
printf 'garbage' >>"$T/state/net/replay.state"
start_daemon || { notok "siglatchd starts with a corrupt state file"; exit 1; }
check "corrupt replay state is reported (SL007), with what is wrong" \
	log_has 'SL007 replay state unusable (.*replay.state: partial record'
n=$(nruns)
"$BIN/tools/slcraft" --host 127.0.0.1 --port "$PORT" --send-file "$T/p1.bin" >/dev/null
knock alice 1 "fresh" >/dev/null
sleep 0.5
check "after corrupt state, knocks inside the safety barrier run nothing" test "$(nruns)" -eq "$n"
sleep 1.2
craft alice --action 1 --ts-offset 120 --payload after-barrier >/dev/null
check "a knock stamped after the barrier runs" wait_runs $((n + 1))
stop_daemon
check "the state file is clean again after a restart" sh -c "
	'$BIN/siglatchd' -f -c '$T/server.conf' >'$T/d2.log' 2>&1 & p=\$!; sleep 0.5; kill \$p; wait \$p
	! grep -q SL007 '$T/d2.log'"

# a journal missing from a used state_dir: the barrier, as for a corrupt one
k2() { # user [options...]
	local user=$1
	shift
	"$BIN/tools/k2knock" --port "$PORT" --server-key "$T/keys/server.pub.pem" \
	    --hmac-key "$T/keys/$user.hmac" --user "$(uid_of "$user")" "$@"
}
rm -rf "$T/state"
mkdir "$T/state"
start_daemon || { notok "siglatchd starts again"; exit 1; }
n=$(nruns)
craft alice --action 1 --payload before-rm --save "$T/p2.bin" >/dev/null
k2 alice --action 1 --no-addr --payload before-rm --save "$T/p2.k2" >/dev/null
check "knocks of both formats run before the journal is removed" wait_runs $((n + 2))
stop_daemon
rm "$T/state/net/replay.state"
check "state_dir holds other files" test -n "$(ls -A "$T/state")"
start_daemon || { notok "siglatchd starts without its journal"; exit 1; }
check "the missing journal is reported as such (SL007)" \
	log_has 'SL007 replay state unusable (.*replay.state: missing, although state_dir holds'
check "... not as a first start" sh -c "! grep -q 'no replay state in' '$T/daemon.log'"
n=$(nruns)
"$BIN/tools/slcraft" --host 127.0.0.1 --port "$PORT" --send-file "$T/p2.bin" >/dev/null
"$BIN/tools/k2knock" --port "$PORT" --bind 127.0.0.2 --send-file "$T/p2.k2" >/dev/null
knock alice 1 "fresh" >/dev/null
sleep 1
check "with the journal removed, neither format's replay nor a knock inside the barrier runs" test "$(nruns)" -eq "$n"
sleep 1.2
craft alice --action 1 --ts-offset 120 --payload after-barrier >/dev/null
check "a knock stamped after the barrier runs" wait_runs $((n + 1))
stop_daemon
rm -rf "$T/state"
mkdir "$T/state"
start_daemon || { notok "siglatchd starts in an empty state_dir"; exit 1; }
check "an empty state_dir is a first start (SL006)" log_has 'SL006 no replay state in'
n=$(nruns)
knock alice 1 "first" >/dev/null
check "... with no barrier" wait_runs $((n + 1))
