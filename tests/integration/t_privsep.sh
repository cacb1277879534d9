#!/usr/bin/env bash
# Privilege separation (as root): the network process runs as run_as with
# no capabilities, no new privileges and a seccomp filter; the runner keeps
# root and starts a script as its action's run_as user; killing either
# process ends the other, and a restart keeps the replay state.
. "$(dirname "$0")/lib.sh"

if [ "$(id -u)" -ne 0 ]; then
	ok "privilege separation needs root # SKIP"
	exit 0
fi
setup_keys
pick_port
write_config
cat >>"$T/server.conf" <<CONF

[action:as_nobody]
id = 9
constructor = $BIN/tools/slaction $T/runs
run_as = nobody
CONF
sed -i 's/^actions = record, ascii_only, strip, hang, other, vec42, vec200$/actions = record, ascii_only, strip, hang, other, vec42, vec200, as_nobody/' "$T/server.conf"
sed -i '0,/^actions = record, ascii_only, strip, hang, unlisted$/s//actions = record, ascii_only, strip, hang, unlisted, as_nobody/' "$T/server.conf"
start_daemon || { notok "siglatchd starts"; exit 1; }
rpid=$(pgrep -P "$DPID" | head -1)
st() { sed -n "s/^$2:[[:space:]]*//p" "/proc/$1/status"; }
nobody=$(id -u nobody)

check "the network process runs as run_as (uid $(st "$DPID" Uid | awk '{print $1}'))" \
	test "$(st "$DPID" Uid)" = "$nobody	$nobody	$nobody	$nobody"
check "... with no capabilities (CapEff $(st "$DPID" CapEff))" test "$(st "$DPID" CapEff)" = 0000000000000000
check "... and no permitted ones either" test "$(st "$DPID" CapPrm)" = 0000000000000000
check "... with no new privileges" test "$(st "$DPID" NoNewPrivs)" = 1
if [ "${BUILD:-build}" = build-asan ]; then
	ok "seccomp filter only logs under ASan # SKIP"
else
	check "... under a seccomp filter (Seccomp $(st "$DPID" Seccomp))" test "$(st "$DPID" Seccomp)" = 2
fi
check "the runner keeps root to start scripts" test "$(st "$rpid" Uid | awk '{print $1}')" = 0

n=$(nruns)
knock alice 9 "as nobody" >/dev/null
wait_runs $((n + 1)) && r=$(latest_run)
check "a script runs as its action's run_as user" grep -qx "uid=$nobody" "$r"
n=$(nruns)
knock alice 1 "as root" >/dev/null
wait_runs $((n + 1)) && r=$(latest_run)
check "a script without run_as runs as the runner's user" grep -qx "uid=0" "$r"
check "the state directory belongs to run_as" test "$(stat -c %u "$T/state")" = "$nobody"
check "the network process still writes its journal" test -s "$T/state/replay.state"

# the network process dies: the runner goes too
craft alice --action 1 --payload before --save "$T/p.bin" >/dev/null
wait_runs $((n + 2))
kill -KILL "$DPID"
wait "$DPID" 2>/dev/null
DPID=
check "killing the network process ends the runner" wait_gone "$rpid"
start_daemon || { notok "siglatchd restarts"; exit 1; }
runs_nothing "after the restart, the replay is still refused" \
	"$BIN/tools/slcraft" --host 127.0.0.1 --port "$PORT" --send-file "$T/p.bin"

# Log rotation under the seccomp filter: SIGHUP reopens log_file (an openat
# with O_WRONLY|O_CREAT|O_APPEND, which the filter allows).  A file run_as
# may not create is refused by the kernel, not by the filter: logged, and
# both processes carry on (should the root process reopen the logs one day,
# it succeeds instead).  A file prepared for it, as logrotate's
# "create 0640 nobody" does, gets the lines from then on.
rpid=$(pgrep -P "$DPID" | head -1)
mv "$T/daemon.logfile" "$T/daemon.logfile.1"
kill -HUP "$DPID"
for _ in $(seq 1 100); do log_has 'SIGHUP' && break; sleep 0.05; done
check "SIGHUP with a log file run_as cannot create: answered in the log" \
	log_has 'SIGHUP: \(cannot reopen\|log file reopened\)'
check "... and neither process is killed" sh -c "kill -0 $DPID && kill -0 $rpid"
install -o nobody -m 640 /dev/null "$T/daemon.logfile"
kill -HUP "$DPID"
for _ in $(seq 1 100); do log_has 'SIGHUP: log file reopened' && break; sleep 0.05; done
n=$(nruns)
knock alice 1 "after rotation" >/dev/null
wait_runs $((n + 1))
check "SIGHUP reopens a log file prepared for run_as" log_has 'SIGHUP: log file reopened'
check "... which gets the next lines" grep -q 'SL100 user alice' "$T/daemon.logfile"
check "... while the rotated file kept the earlier ones" grep -q 'SL100 user alice' "$T/daemon.logfile.1"
check "both processes still run after the rotations" sh -c "kill -0 $DPID && kill -0 $rpid"
