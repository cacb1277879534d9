#!/usr/bin/env bash
# script_timeout kills a hanging script and what it started; max_scripts
# holds; every child is reaped.  Nothing a script starts outlives it (the
# runner is a child subreaper): a child in a session of its own (setsid)
# dies with a script killed at script_timeout, and what a script that
# exits 0 leaves running in the background, in its process group or in a
# new session, is killed when it exits and reaped, never left a zombie.
. "$(dirname "$0")/lib.sh"

# the pids the scripts below report are tracked (lib.sh's cleanup kills
# whatever of them still runs at the end: one in a session of its own is
# neither in the daemon's session nor, once the runner is gone, anybody's
# descendant)
setup_keys
pick_port
SCRIPT_TIMEOUT=1 MAX_SCRIPTS=2 write_config
sed -i 's/^actions = record, ascii_only, strip, hang, other, vec42, vec200$/&, setsid_hang, leave/' "$T/server.conf"
sed -i '0,/^actions = record, ascii_only, strip, hang, unlisted$/s//&, setsid_hang, leave/' "$T/server.conf"
cat >>"$T/server.conf" <<CONF

[action:setsid_hang]
id = 21
constructor = $T/setsid_hang.sh

[action:leave]
id = 22
constructor = $T/leave.sh
CONF
# hangs past script_timeout, with a child in a session of its own
cat >"$T/setsid_hang.sh" <<'SH'
#!/bin/sh
d=$(dirname "$0")
setsid sh -c 'echo $$ >"$1/ss.child"; exec sleep 300' sh "$d" &
echo $$ >"$d/ss.pid"
sleep 300
SH
# exits 0 at once, leaving a child in its group and one in a new session
cat >"$T/leave.sh" <<'SH'
#!/bin/sh
d=$(dirname "$0")
sleep 300 &
echo $! >"$d/bg.pid"
setsid sleep 300 &
echo $! >"$d/bgs.pid"
exit 0
SH
chmod 755 "$T/setsid_hang.sh" "$T/leave.sh"
start_daemon || { notok "siglatchd starts"; exit 1; }

# gone for good: not running, not a zombie either
reaped() { [ ! -e "/proc/$1" ]; }
wait_reaped() {
	for _ in $(seq 1 "$((${2:-3} * 20))"); do
		reaped "$1" && return 0
		sleep 0.05
	done
	return 1
}
wait_log() {
	for _ in $(seq 1 100); do log_has "$1" && return 0; sleep 0.05; done
	return 1
}
wait_file() {
	for _ in $(seq 1 40); do [ -s "$1" ] && return 0; sleep 0.05; done
	return 1
}

knock alice 4 >/dev/null
for _ in $(seq 1 40); do [ -s "$T/hang.child" ] && break; sleep 0.05; done
hpid=$(cat "$T/hang.pid" 2>/dev/null)
cpid=$(cat "$T/hang.child" 2>/dev/null)
check "the hanging script started" test -n "$hpid"
for _ in $(seq 1 100); do log_has 'SL104' && break; sleep 0.05; done
check "the hanging script was killed at script_timeout (SL104)" log_has 'SL104'
check "the hanging script is gone" wait_gone "$hpid"
check "the process it started is gone too" wait_gone "$cpid"

# a setsid child is out of reach of the process group's kill
knock alice 21 >/dev/null
wait_file "$T/ss.child"
spid=$(cat "$T/ss.pid" 2>/dev/null)
schild=$(cat "$T/ss.child" 2>/dev/null)
track "$schild"
check "the script's child runs in a session of its own" \
	test -n "$schild" -a "$(ps -o sid= -p "$schild" | tr -d ' ')" = "$schild"
check "the script hanging past script_timeout is killed" wait_reaped "$spid" 5
check "its setsid child is killed too, and reaped" wait_reaped "$schild" 3
check "the kill is logged (SL104, killed by signal 9)" \
	wait_log "SL104 process $schild (sleep, process group $schild), left running by a script, killed by signal 9"

# a script that exits 0 leaves nothing behind
knock alice 22 >/dev/null
wait_file "$T/bgs.pid"
bg=$(cat "$T/bg.pid" 2>/dev/null)
bgs=$(cat "$T/bgs.pid" 2>/dev/null)
track "$bg" "$bgs"
check "a script that exits 0 ran and exited" \
	wait_log 'SL102 script leave\[[0-9]*\] exited with status 0'
check "its background child is killed when it exits, and reaped" wait_reaped "$bg" 2
check "its background child in a new session (setsid) too" wait_reaped "$bgs" 2

# max_scripts = 2: a third concurrent request is refused, not queued
rm -f "$T/hang.pid"
knock alice 4 >/dev/null
knock alice 4 >/dev/null
sleep 0.2
knock alice 4 >/dev/null
sleep 0.3
check "a request over max_scripts is refused and logged (SL207)" log_has 'SL207'
sleep 3
check "the network process exists" test -n "$(netpid)"
check "no zombie children remain" sh -c "! ps -o stat= --ppid $DPID | grep -q Z"
check "the main process has no children left but the network process" \
	test -z "$(ps -o comm= --ppid "$DPID" | grep -vx siglatchd-net)"
check "nothing from the hanging scripts lingers" sh -c "! pgrep -f '$T/[h]ang.sh' >/dev/null"
# and the daemon still serves
n=$(nruns)
knock alice 1 after >/dev/null
check "the daemon still serves after timeouts and refusals" wait_runs $((n + 1))
exit $((NOK > 0))
