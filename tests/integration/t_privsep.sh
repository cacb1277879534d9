#!/usr/bin/env bash
# Privilege separation (as root), in OpenBSD ntpd's shape: the main process
# keeps root and runs the actions; its child, the network process, runs as
# run_as (the `siglatch` system user by default), chrooted into
# state_dir/net, with no capabilities, no new privileges and a seccomp
# filter.  state_dir is root's, only net/ is the network process's.
# Killing either process ends the other, with a non-zero status.  SIGHUP
# to the main process reopens every log file and hands them to the
# network process, so that both processes' lines follow a rotation.
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
st() { sed -n "s/^$2:[[:space:]]*//p" "/proc/$1/status"; }
netpid() { pgrep -P "$DPID" -x siglatchd-net | head -1; }
npid=$(netpid)
sl=$(id -u siglatch)
nobody=$(id -u nobody)
asan=0
[ "${BUILD:-build}" = build-asan ] && asan=1

check "the main process keeps root to start scripts" test "$(st "$DPID" Uid | awk '{print $1}')" = 0
check "its child is the network process (pid ${npid:-none})" test -n "$npid"
check "the network process runs as the siglatch user (uid $(st "$npid" Uid | awk '{print $1}'))" \
	test "$(st "$npid" Uid)" = "$sl	$sl	$sl	$sl"
check "... with no capabilities (CapEff $(st "$npid" CapEff))" test "$(st "$npid" CapEff)" = 0000000000000000
check "... and no permitted ones either" test "$(st "$npid" CapPrm)" = 0000000000000000
check "... with no new privileges" test "$(st "$npid" NoNewPrivs)" = 1
if [ $asan = 1 ]; then
	ok "seccomp filter only logs, and no chroot, under ASan # SKIP"
else
	check "... under a seccomp filter (Seccomp $(st "$npid" Seccomp))" test "$(st "$npid" Seccomp)" = 2
	check "... chrooted into state_dir/net ($(readlink "/proc/$npid/root"))" \
		test "$(readlink "/proc/$npid/root")" = "$T/state/net"
fi

n=$(nruns)
knock alice 9 "as nobody" >/dev/null
wait_runs $((n + 1)) && r=$(latest_run)
check "a script runs as its action's run_as user" grep -qx "uid=$nobody" "$r"
n=$(nruns)
knock alice 1 "as root" >/dev/null
wait_runs $((n + 1)) && r=$(latest_run)
check "a script without run_as runs as the main process's user" grep -qx "uid=0" "$r"
check "state_dir is root's, writable by root only ($(stat -c '%u %a' "$T/state"))" \
	sh -c "[ \"\$(stat -c '%u' '$T/state')\" = 0 ] && [ -z \"\$(find '$T/state' -maxdepth 0 -perm /022)\" ]"
check "state_dir/net is the siglatch user's ($(stat -c '%u %a' "$T/state/net"))" \
	test "$(stat -c '%u %a' "$T/state/net")" = "$sl 700"
check "the network process writes its journal there" test -s "$T/state/net/replay.state"
check "... and nothing directly in state_dir belongs to it" \
	test -z "$(find "$T/state" -mindepth 1 -maxdepth 1 ! -name net -user siglatch)"

# --- log rotation: the main process reopens, the network process follows --
mv "$T/daemon.logfile" "$T/daemon.logfile.1"
kill -HUP "$DPID"
for _ in $(seq 1 100); do log_has 'log file(s) taken over' && break; sleep 0.05; done
check "SIGHUP: the main process reopens the log files" log_has 'SL001 1 log file(s) reopened'
check "... and the network process takes them over" log_has 'network process: 1 log file(s) taken over'
check "... the new file is root's (created by the main process)" \
	test "$(stat -c %u "$T/daemon.logfile")" = 0
old=$(grep -c 'SL100' "$T/daemon.logfile.1")
n=$(nruns)
knock alice 1 "after rotation" >/dev/null
wait_runs $((n + 1))
for _ in $(seq 1 40); do grep -q 'SL102' "$T/daemon.logfile" && break; sleep 0.05; done
check "the network process's next lines go to the new file (SL100)" \
	grep -q 'SL100 user alice from 127.0.0.1 on main: action record' "$T/daemon.logfile"
check "... and so do the main process's (SL101, SL102)" \
	sh -c "grep -q 'SL101' '$T/daemon.logfile' && grep -q 'SL102' '$T/daemon.logfile'"
check "... while the rotated file kept the earlier ones ($old SL100) and got no new ones" \
	sh -c "[ $old -ge 2 ] && [ \$(grep -c SL100 '$T/daemon.logfile.1') -eq $old ]"
check "both processes still run after the rotation" sh -c "kill -0 $DPID && kill -0 $npid"

# --- the network process dies: the main process goes too, non-zero --------
craft alice --action 1 --payload before --save "$T/p.bin" >/dev/null
wait_runs $((n + 2))
kill -KILL "$npid"
wait "$DPID" 2>/dev/null
rc=$?
DPID=
check "killing the network process ends the main process with a non-zero status ($rc)" \
	test "$rc" -ne 0
check "... and says why" log_has "network process $npid is gone (signal 9): stopping"

# --- an earlier layout: state_dir given to nobody, journal directly in it ---
mv "$T/state/net/replay.state" "$T/state/replay.state"
rm -rf "$T/state/net"
chown nobody "$T/state" "$T/state/replay.state"
start_daemon || { notok "siglatchd restarts"; exit 1; }
check "an earlier layout: state_dir is taken back by root" \
	test "$(stat -c %u "$T/state")" = 0
check "... its journal moved into net/" test -s "$T/state/net/replay.state"
check "... which the log says" log_has "replay.state moved into $T/state/net"
runs_nothing "after the restart, the replay is still refused" \
	"$BIN/tools/slcraft" --host 127.0.0.1 --port "$PORT" --send-file "$T/p.bin"

# --- the main process dies: the network process goes too -------------------
npid=$(netpid)
kill -KILL "$DPID"
wait "$DPID" 2>/dev/null
DPID=
check "killing the main process ends the network process" wait_gone "$npid"
check "... which says why" log_has "the privileged process .* is gone: stopping"

# --- a lost journal in a used state_dir: the barrier -----------------------
rm -f "$T/state/net/"*
start_daemon || { notok "siglatchd restarts"; exit 1; }
check "a journal lost from net/ while state_dir was used: barrier (SL007)" \
	log_has "SL007 replay state unusable (.*missing, although $T/state was used before)"
n=$(nruns)
"$BIN/tools/slcraft" --host 127.0.0.1 --port "$PORT" --send-file "$T/p.bin" >/dev/null
sleep 0.5
check "... and the captured knock is still refused" test "$(nruns)" -eq "$n"
stop_daemon

# --- log files root opens: never through a link, never where run_as writes -
install -d -o siglatch -m 755 "$T/slwrite"
sed -i "s|^log_file = .*|log_file = $T/slwrite/daemon.logfile|" "$T/server.conf"
out=$("$BIN/siglatchd" -f -c "$T/server.conf" 2>&1)
rc=$?
check "a log_file in a directory run_as may write is refused at start (exit $rc)" \
	sh -c "[ $rc -ne 0 ] && echo \"\$1\" | grep -q 'log_file $T/slwrite/daemon.logfile: the directory $T/slwrite is writable by run_as'" _ "$out"
ln -s "$T/elsewhere" "$T/link.log"
sed -i "s|^log_file = .*|log_file = $T/link.log|" "$T/server.conf"
out=$("$BIN/siglatchd" -f -c "$T/server.conf" 2>&1)
rc=$?
check "a log_file that is a symbolic link is refused (exit $rc)" \
	sh -c "[ $rc -ne 0 ] && echo \"\$1\" | grep -q 'symbolic link is never followed'" _ "$out"
check "... and nothing was created through it" test ! -e "$T/elsewhere"
sed -i "s|^log_file = .*|log_file = $T/daemon.logfile|" "$T/server.conf"

# --- run_as = nobody: warned -----------------------------------------------
sed -i "1i run_as = nobody" "$T/server.conf"
out=$("$BIN/siglatchd" -t -c "$T/server.conf" 2>&1)
check "run_as = nobody is warned about" \
	sh -c "echo \"\$1\" | grep -q \"'nobody' is shared with other daemons\"" _ "$out"
sed -i "1s/.*/run_as = sl-nosuchuser/" "$T/server.conf"
out=$("$BIN/siglatchd" -t -c "$T/server.conf" 2>&1)
check "an unknown run_as stops -t with file and line" \
	sh -c "echo \"\$1\" | grep -q \"server.conf:1: key 'run_as': no user 'sl-nosuchuser'\"" _ "$out"
[ "$NOK" -eq 0 ]
