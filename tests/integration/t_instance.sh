#!/usr/bin/env bash
# One siglatchd per state_dir: a second start with the same configuration
# fails before it listens, naming the running pid; pid_file holds the main
# process's pid while it runs and is removed at a clean stop; after kill -9
# the lock is free again.
. "$(dirname "$0")/lib.sh"

setup_keys
pick_port
write_config "pid_file = $T/siglatchd.pid"
start_daemon || { notok "siglatchd starts"; exit 1; }
check "pid_file holds the main process's pid" test "$(cat "$T/siglatchd.pid" 2>/dev/null)" = "$DPID"
check "so does state_dir/siglatchd.lock" test "$(cat "$T/state/siglatchd.lock" 2>/dev/null)" = "$DPID"

out=$(timeout 10 "$BIN/siglatchd" -f -c "$T/server.conf" 2>&1)
rc=$?
check "a second siglatchd on the same state_dir exits non-zero ($rc)" test "$rc" -ne 0 -a "$rc" -ne 124
check "... saying which pid runs" \
	sh -c "echo \"\$1\" | grep -q \"another siglatchd (pid $DPID) is running with state_dir $T/state\"" _ "$out"
check "... before it listens" sh -c "! echo \"\$1\" | grep -q SL003" _ "$out"
check "the first one still serves" sh -c "kill -0 $DPID"
n=$(nruns)
knock alice 1 "still here" >/dev/null
check "... and runs knocks" wait_runs $((n + 1))

# another port, same state_dir: refused as well (they would share a journal)
sed "s/^port = $PORT/port = $((PORT + 1))/" "$T/server.conf" >"$T/other.conf"
out=$(timeout 10 "$BIN/siglatchd" -f -c "$T/other.conf" 2>&1)
rc=$?
check "another port on the same state_dir is refused too ($rc)" \
	sh -c "[ $rc -ne 0 ] && echo \"\$1\" | grep -q 'another siglatchd (pid $DPID)'" _ "$out"

stop_daemon
check "a clean stop removes pid_file" test ! -e "$T/siglatchd.pid"
start_daemon || { notok "siglatchd starts after a clean stop"; exit 1; }
pid1=$DPID
kill -KILL "$DPID"
wait "$DPID" 2>/dev/null
DPID=
# the network process notices and goes
sleep 0.5
start_daemon
check "after kill -9 the lock is free: a new siglatchd starts (pid $DPID, was $pid1)" \
	test -n "$DPID" -a "$DPID" != "$pid1"
stop_daemon
[ "$NOK" -eq 0 ]
