#!/usr/bin/env bash
# The fail2ban filter (examples/fail2ban/filter.d/siglatch.conf) against
# real siglatchd log lines, read by the real fail2ban-regex: a source that
# sends format-1 knocks with a wrong HMAC is matched once per failure
# (SL201) and once for its penalty (SL209); a known-good source's penalty
# is ignored (its failures still count); accepted knocks are not matched.
# The same lines in syslog's form match the same way.
. "$(dirname "$0")/lib.sh"

if ! command -v fail2ban-regex >/dev/null 2>&1; then
	echo "ok - fail2ban-regex # SKIP not installed (package fail2ban)"
	exit 0
fi
if [ ! -f /etc/fail2ban/filter.d/common.conf ]; then
	echo "ok - fail2ban filter # SKIP no /etc/fail2ban/filter.d/common.conf"
	exit 0
fi
FLOOD=$BIN/bench/flood
ATTACKER=127.0.5.1
KNOWN=127.0.7.1
NBAD=3       # bad knocks from each source: the budget, so the last one
             # starts a penalty and every one of them is decrypted and logged

setup_keys
pick_port
RL_SOURCE=3 write_config "ratelimit_window = 10
ratelimit_penalty = 3"
start_daemon || exit 1
LOG=$T/daemon.logfile

# fail2ban-regex resolves the filter's "before = common.conf" beside it
mkdir -p "$T/f2b/filter.d"
cp "$TOP/examples/fail2ban/filter.d/siglatch.conf" /etc/fail2ban/filter.d/common.conf \
    "$T/f2b/filter.d/"
FILTER=$T/f2b/filter.d/siglatch.conf

wait_log() { # pattern count
	for _ in $(seq 1 100); do
		[ "$(grep -c -- "$1" "$LOG" 2>/dev/null)" -ge "$2" ] && return 0
		sleep 0.05
	done
	return 1
}

# a user's knock from ::1: accepted, never a failure
HOST=::1 knock alice 1 fine >/dev/null 2>&1
check "a valid knock from ::1 runs" wait_runs 1

# the attacker: NBAD well-formed knocks with a wrong HMAC, one at a time
craft alice --action 1 --bad-hmac --count "$NBAD" --out "$T/bad1.bin" >/dev/null
"$FLOOD" -i 20000 -s "$ATTACKER" 127.0.0.1 "$PORT" 256 "$NBAD" "$T/bad1.bin" >/dev/null
check "the attacker's $NBAD bad knocks are logged (SL201)" wait_log "SL201.*from $ATTACKER" "$NBAD"
check "... and its penalty (SL209)" wait_log "SL209 penalty: $ATTACKER dropped" 1
first=$(date +%s.%N)

# a known-good source: one valid knock, then as many bad ones.  SL201
# lines are flood-limited (5 in 10 s): wait for the next interval.
craft alice --action 1 --payload known --out "$T/good.bin" >/dev/null
"$FLOOD" -s "$KNOWN" 127.0.0.1 "$PORT" 0 1 "$T/good.bin" >/dev/null
check "a valid knock from $KNOWN runs" wait_runs 2
sleep "$(awk -v f="$first" -v n="$(date +%s.%N)" 'BEGIN { s = 10.5 - (n - f); print (s > 0 ? s : 0) }')"
craft alice --action 1 --bad-hmac --count "$NBAD" --out "$T/bad2.bin" >/dev/null
"$FLOOD" -i 20000 -s "$KNOWN" 127.0.0.1 "$PORT" 256 "$NBAD" "$T/bad2.bin" >/dev/null
check "the known-good source's bad knocks are logged (SL201)" wait_log "SL201.*from $KNOWN" "$NBAD"
check "... and its penalty, known good (SL209)" wait_log "SL209 penalty: $KNOWN dropped.*known good" 1
stop_daemon
check "no line was flood-limited away" sh -c "! grep -q SL290 '$LOG'"

# fail2ban-regex LOGFILE FILTER: the matches, by address
f2b() { # logfile
	fail2ban-regex -o ip "$1" "$FILTER" 2>"$T/f2b.err"
}
expect_matches() { # form logfile
	local ips att known other
	ips=$(f2b "$2")
	att=$(printf '%s\n' "$ips" | grep -cxF "$ATTACKER")
	known=$(printf '%s\n' "$ips" | grep -cxF "$KNOWN")
	other=$(printf '%s\n' "$ips" | grep -v -x -e "$ATTACKER" -e "$KNOWN" | grep -c .)
	check "$1: $ATTACKER matched $((NBAD + 1)) times (SL201 x$NBAD, SL209), got $att" \
	    test "$att" -eq $((NBAD + 1))
	# one more would be the SL209 line that says "known good"
	check "$1: $KNOWN matched $NBAD times (SL201 only, its penalty ignored), got $known" \
	    test "$known" -eq "$NBAD"
	check "$1: no other address matched (::1, 127.0.0.1), got $other" test "$other" -eq 0
}
expect_matches "log_file" "$LOG"
# the same lines as syslog writes them: "siglatchd[PID]: SL201 ..."
sed -E 's/^[0-9T:.-]+Z [a-z]+ /Nov 30 12:00:00 gw siglatchd[4242]: /' "$LOG" >"$T/syslog"
expect_matches "syslog" "$T/syslog"
if [ "$NOK" -gt 0 ]; then
	diag "log:"
	grep -E 'SL20[0-9]|SL100' "$LOG" | sed 's/^/#   /'
	sed 's/^/# f2b: /' "$T/f2b.err" | tail -5
fi
exit "$((NOK > 0))"
