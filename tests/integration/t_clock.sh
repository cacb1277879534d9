#!/usr/bin/env bash
# Replay protection does not hang on the wall clock moving forward.
# siglatchd runs with its wall clock moved by a preloaded shim
# (tests/tools/fakeclock.c: time, gettimeofday, clock_gettime REALTIME;
# the monotonic clock is left alone), while the knocks are stamped by the
# real clock.  With captured knocks K, one of each format:
#   (a) K is forgotten once its window has passed; the clock is then
#       stepped back by more than the window: K, sent again from another
#       address, runs nothing;
#   (b) the clock jumps an hour ahead, the daemon restarts as usual, the
#       clock is put right: K runs nothing;
#   (c) K's window passes, timestamp_window is raised across a clean
#       restart so that K would be fresh again: K runs nothing;
# and in each case a knock stamped after K still runs.
# The duplicate cache (format 1) is off: it counts monotonic time, which
# the shim does not move, and here it would hide the replay cache's answer
# (in real time it forgets a copy after timestamp_window seconds).
. "$(dirname "$0")/lib.sh"

SHIM=$BIN/tools/fakeclock.so
if [ ! -f "$SHIM" ]; then
	notok "the clock shim is built ($SHIM: make tests)"
	exit 1
fi
# a sanitized siglatchd wants its runtime first in the list
PRE=$SHIM
asan=$(ldd "$BIN/siglatchd" 2>/dev/null |
	sed -n 's/.*=> \(\/[^ ]*libasan[^ ]*\) .*/\1/p' | head -1)
[ -n "$asan" ] && PRE=$asan:$SHIM

CLOCK=$T/clock
set_clock() { printf '%-15s\n' "$1" 1<>"$CLOCK"; }
printf '%-15s\n' 0 >"$CLOCK"

# start_daemon, with the shim in siglatchd's environment only
start_shifted() {
	: >"$T/daemon.log"
	SL_FAKECLOCK=$CLOCK LD_PRELOAD=$PRE setsid "$BIN/siglatchd" -f \
	    -c "$T/server.conf" >>"$T/daemon.log" 2>&1 &
	DPID=$!
	track_session "$DPID"
	for _ in $(seq 1 200); do
		grep -q 'SL003' "$T/daemon.log" 2>/dev/null && return 0
		kill -0 "$DPID" 2>/dev/null || break
		sleep 0.05
	done
	diag "siglatchd did not start:"
	sed 's/^/#   /' "$T/daemon.log"
	return 1
}

k2() { # user [options...]
	local user=$1
	shift
	"$BIN/tools/k2knock" --port "$PORT" --server-key "$T/keys/server.pub.pem" \
	    --hmac-key "$T/keys/$user.hmac" --user "$(uid_of "$user")" "$@"
}
resend1() { "$BIN/tools/slcraft" --host 127.0.0.1 --port "$PORT" --send-file "$1"; }
resend2() { "$BIN/tools/k2knock" --port "$PORT" --bind 127.0.0.2 --send-file "$1"; }

# refused "description" command...: send, and nothing may run
refused() {
	local d=$1 n
	shift
	n=$(nruns)
	if ! "$@" >/dev/null 2>&1; then
		notok "$d (could not send: $*)"
		return
	fi
	sleep 1
	if [ "$(nruns)" -eq "$n" ] && daemon_alive; then
		ok "$d"
	else
		notok "$d (runs $n -> $(nruns))"
	fi
}
# runs "description" command...: send, and exactly one more run
runs() {
	local d=$1 n
	shift
	n=$(nruns)
	if ! "$@" >/dev/null 2>&1; then
		notok "$d (could not send: $*)"
		return
	fi
	if wait_runs $((n + 1)) && sleep 0.3 && [ "$(nruns)" -eq $((n + 1)) ]; then
		ok "$d"
	else
		notok "$d (runs $n -> $(nruns))"
	fi
}
# capture NAME: a format-1 and a format-2 knock, both run
capture() {
	runs "$1: a format-1 knock runs" \
		craft alice --action 1 --payload "$1-1" --save "$T/$1.k1"
	runs "$1: a format-2 knock runs" \
		k2 alice --action 1 --no-addr --payload "$1-2" --save "$T/$1.k2"
}
settle() { sleep 1.5; }  # a tick: the sweep and the tag table follow the clock

setup_keys
pick_port
write_config "dup_cache_size = 0"

# (a) stepped back by more than the window, one process
start_shifted || { notok "siglatchd starts under the clock shim"; exit 1; }
capture a
set_clock 150          # the window (120 s) passes: K is forgotten
settle
set_clock 10           # stepped back by 140 s
settle
check "(a) the step back is logged" log_has 'SL006 the wall clock went back 1[34][0-9] s'
refused "(a) clock stepped back past the window: the format-1 K runs nothing" resend1 "$T/a.k1"
refused "(a) ... the format-2 K from another address runs nothing" resend2 "$T/a.k2"
check "(a) ... logged as replays (SL203)" test "$(log_count 'SL203 user alice')" -ge 2
runs "(a) a format-1 knock stamped after K runs" craft alice --action 1 --payload a-new
runs "(a) a format-2 knock stamped after K runs" k2 alice --action 1 --payload a-new

# (b) an hour ahead, an ordinary restart, put right
stop_daemon
set_clock 0
start_shifted || { notok "(b) siglatchd starts"; exit 1; }
capture b
set_clock 3600
settle
stop_daemon
start_shifted || { notok "(b) siglatchd restarts an hour ahead"; exit 1; }
settle
set_clock 0
settle
refused "(b) after an hour ahead, a restart and the clock put right: the format-1 K runs nothing" resend1 "$T/b.k1"
refused "(b) ... the format-2 K runs nothing" resend2 "$T/b.k2"
runs "(b) a format-1 knock stamped after K runs" craft alice --action 1 --payload b-new
runs "(b) a format-2 knock stamped after K runs" k2 alice --action 1 --payload b-new
# ... and the same after kill -9 an hour ahead (the journal still holds K)
capture b9
set_clock 3600
settle
kill -KILL "$DPID"
wait "$DPID" 2>/dev/null
DPID=
start_shifted || { notok "(b) siglatchd restarts after kill -9"; exit 1; }
stop_daemon
set_clock 0
start_shifted || { notok "(b) siglatchd restarts"; exit 1; }
refused "(b) ... kill -9 an hour ahead, two restarts: the format-1 K runs nothing" resend1 "$T/b9.k1"
refused "(b) ... the format-2 K runs nothing" resend2 "$T/b9.k2"

# (c) the window passes, then a wider window across a clean restart
capture c
set_clock 130
settle
stop_daemon
check "(c) a clean stop exits 0" test "$DEXIT" = 0
sed -i 's/^timestamp_window = 120$/timestamp_window = 600/' "$T/server.conf"
start_shifted || { notok "(c) siglatchd starts with a wider window"; exit 1; }
refused "(c) timestamp_window 120 -> 600 across a clean restart: the format-1 K runs nothing" resend1 "$T/c.k1"
refused "(c) ... the format-2 K runs nothing" resend2 "$T/c.k2"
runs "(c) a format-1 knock stamped after K runs" craft alice --action 1 --payload c-new
runs "(c) a format-2 knock stamped after K runs" k2 alice --action 1 --payload c-new
stop_daemon
check "no replay state was ever reported damaged" sh -c "! grep -q SL007 '$T/daemon.logfile'"
