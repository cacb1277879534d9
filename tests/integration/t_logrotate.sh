#!/usr/bin/env bash
# Log rotation against a live daemon: the real logrotate moves log_file
# away and its postrotate sends SIGUSR2 to siglatchd (as the shipped one does); afterwards the lines
# of both processes (the network process's SL100, the runner's SL101 and
# SL102, and each one's SL008 counters) land in the new file, none in the
# rotated one.  Also: the shipped examples/logrotate/siglatch parses.
. "$(dirname "$0")/lib.sh"

if ! command -v logrotate >/dev/null 2>&1; then
	echo "ok - logrotate # SKIP not installed (package logrotate)"
	exit 0
fi

# the shipped snippet: logrotate -d reads it without an error (a copy
# with the mode make install gives it: logrotate ignores a configuration
# file group or others may write, as a checkout with umask 002 leaves it)
install -m 0644 "$TOP/examples/logrotate/siglatch" "$T/shipped.conf"
out=$(logrotate -d -s "$T/shipped.state" "$T/shipped.conf" 2>&1)
rc=$?
check "examples/logrotate/siglatch parses (logrotate -d)" sh -c "[ $rc -eq 0 ] && ! printf '%s' \"\$1\" | grep -qi 'error'" _ "$out"
check "... and rotates /var/log/siglatch/*.log" sh -c "printf '%s' \"\$1\" | grep -q '/var/log/siglatch/\*.log'" _ "$out"
check "... with a postrotate that sends SIGUSR2 to the main process" grep -q 'kill-whom=main --signal=USR2' "$TOP/examples/logrotate/siglatch"

setup_keys
pick_port
write_config
mkdir -p "$T/log"
LOG=$T/log/siglatch.log
sed -i "s#^log_file = .*#log_file = $LOG#" "$T/server.conf"
start_daemon || exit 1

knock alice 1 before >/dev/null 2>&1
check "a knock before the rotation runs" wait_runs 1
# the runner's SL102 (script ended) is its last line for this knock
for _ in $(seq 1 100); do
	grep -q SL102 "$LOG" && break
	sleep 0.05
done
check "before: SL100 and SL102 in the log file" sh -c "grep -q SL100 '$LOG' && grep -q SL102 '$LOG'"

cat >"$T/lr.conf" <<EOF
$T/log/*.log {
	rotate 2
	missingok
	nocompress
	create 0640 root root
	sharedscripts
	postrotate
		kill -USR2 $DPID
	endscript
}
EOF
chmod 644 "$T/lr.conf"
out=$(logrotate -f -s "$T/lr.state" "$T/lr.conf" 2>&1)
rc=$?
check "logrotate -f ran (rc $rc)" test "$rc" -eq 0
[ -n "$out" ] && printf '%s\n' "$out" | sed 's/^/# logrotate: /'
check "the old log moved to siglatch.log.1" test -s "$LOG.1"
check "daemon alive after SIGUSR2" daemon_alive

# SIGHUP handled: a line about it in the new file (whatever its wording),
# or 5 s, whichever comes first
for _ in $(seq 1 100); do
	[ -s "$LOG" ] && break
	sleep 0.05
done
[ -s "$LOG" ] && diag "after SIGHUP: $(head -1 "$LOG")"

knock alice 1 after >/dev/null 2>&1
check "a knock after the rotation runs" wait_runs 2
for _ in $(seq 1 100); do
	grep -q SL102 "$LOG" 2>/dev/null && break
	sleep 0.05
done
kill -USR1 "$DPID"
for _ in $(seq 1 100); do
	[ "$(grep -c SL008 "$LOG" 2>/dev/null)" -ge 2 ] && break
	sleep 0.05
done
check "network process: the knock's SL100 is in the new file" grep -q 'SL100 user alice' "$LOG"
check "runner: the knock's SL101 is in the new file" grep -q 'SL101' "$LOG"
check "runner: the knock's SL102 is in the new file" grep -q 'SL102' "$LOG"
check "network process: its SL008 counters are in the new file" sh -c "grep SL008 '$LOG' | grep -vq 'runner:'"
check "runner: its SL008 counters are in the new file" sh -c "grep SL008 '$LOG' | grep -q 'runner:'"
check "the rotated file got nothing of the second knock" test "$(grep -c 'SL100' "$LOG.1")" -eq 1
check "... nor the counters" sh -c "! grep -q SL008 '$LOG.1'"
if [ "$NOK" -gt 0 ]; then
	diag "new log file:"
	sed 's/^/#   /' "$LOG"
	diag "stderr:"
	tail -20 "$T/daemon.log" | sed 's/^/#   /'
fi
stop_daemon
exit "$((NOK > 0))"
