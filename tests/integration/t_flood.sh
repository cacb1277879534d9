#!/usr/bin/env bash
# Under a bounded flood from three sources (random 256-byte junk, random
# sizes, one captured valid knock replayed), a fourth source's valid knocks
# are all accepted, the replay runs its action once, the daemon stays small
# and its log holds summaries, not a line per packet.  A source over its
# budget is dropped before decryption and let back after its penalty.
. "$(dirname "$0")/lib.sh"

setup_keys
pick_port
RL_SOURCE=20 RL_PREFIX=200 write_config "ratelimit_window = 10
ratelimit_penalty = 2
ratelimit_penalty_max = 4
stats_interval = 1"
start_daemon || { notok "siglatchd starts"; exit 1; }
FLOOD=$BIN/bench/flood

stat_of() { # name: from the stats file (refreshed every second)
	sed -n "s/^$1=//p" "$T/state/net/siglatchd.stats" 2>/dev/null
}
# a counter, 0 when absent (kernel_* exist only with the kernel filter)
num_of() { local v; v=$(stat_of "$1"); echo "${v:-0}"; }
# over-budget drops, in the kernel filter (as root) or in user space
dropped_src() { echo $(($(num_of rate_source) + $(num_of kernel_rate_source))); }
# the process's own memory: resident anonymous pages (heap, tables,
# stacks); shared library text is counted once for the whole machine
rss_kb() { awk '/^RssAnon:/ {print $2}' "/proc/$1/status"; }
vmrss_kb() { awk '/^VmRSS:/ {print $2}' "/proc/$1/status"; }
npid=$(netpid)

# the knock the third source will replay: made now, sent only by the flood
craft alice --action 1 --payload replayed-knock --out "$T/replay.bin" >/dev/null
# a valid knock the first source will send after its penalty
l1=$(log_count 'SL201')

# each flood is paced so that, on a 2-core machine shared with the test's
# own senders, the kernel's receive queue does not overflow: the test is
# about what the daemon does with what reaches it
"$FLOOD" -r 40000 -s 127.0.1.1 127.0.0.1 "$PORT" 256 50000 >/dev/null &
f1=$!
"$FLOOD" -r 20000 -s 127.0.2.1 127.0.0.1 "$PORT" 0 20000 >/dev/null &
f2=$!
"$FLOOD" -r 20000 -s 127.0.3.1 127.0.0.1 "$PORT" 0 20000 "$T/replay.bin" >/dev/null &
f3=$!
# the fourth source (127.0.0.1): 20 valid knocks while the flood runs
good=0
for i in $(seq 1 20); do
	knock alice 1 "valid-$i" >/dev/null && good=$((good + 1))
	sleep 0.05
done
fl=0
for f in "$f1" "$f2" "$f3"; do wait "$f" || fl=$((fl + 1)); done
check "the three floods were sent" test "$fl" -eq 0
check "knocker sent all 20 valid knocks" test "$good" -eq 20
# runs whose payload starts with "valid-"
nvalid() {
	local f p c=0
	for f in "$T"/runs/run.*; do
		[ -e "$f" ] || continue
		p=$(sed -n 's/^argv\[8\]=//p' "$f" | base64 -d 2>/dev/null)
		case $p in valid-*) c=$((c + 1)) ;; esac
	done
	echo "$c"
}
for _ in $(seq 1 50); do [ "$(nvalid)" -ge 20 ] && break; sleep 0.1; done
valid=$(nvalid)
check "all 20 valid knocks from the fourth source ran during the flood ($valid)" test "$valid" -eq 20
replays=$(grep -l "^argv\[8\]=$(printf replayed-knock | base64 -w0)\$" "$T"/runs/run.* 2>/dev/null | wc -l)
check "the replayed knock ran its action exactly once ($replays)" test "$replays" -eq 1
check "the daemon is alive" daemon_alive
r1=$(rss_kb "$npid")
r2=$(rss_kb "$DPID")
if [ "${BUILD:-build}" = build-asan ]; then
	# AddressSanitizer's shadow memory and quarantine inflate RSS
	ok "resident memory not measured under ASan (network ${r1} kB) # SKIP"
else
	diag "network process VmRSS $(vmrss_kb "$npid") kB, with shared libraries"
	check "network process resident memory under 16 MiB (${r1} kB anonymous)" test "$r1" -lt 16384
	check "privileged (runner) process resident memory under 16 MiB (${r2} kB anonymous)" test "$r2" -lt 16384
fi
sleep 1.2
check "junk over budget was dropped before decryption (rate_source=$(num_of rate_source), kernel_rate_source=$(num_of kernel_rate_source))" \
	test "$(dropped_src)" -gt 1000
if log_has 'SL001 kernel filter: wrong-length'; then
	check "the kernel filter dropped the wrong-size datagrams (kernel_bad_length=$(num_of kernel_bad_length), bad_length=$(num_of bad_length))" \
		test "$(($(num_of kernel_bad_length) + $(num_of bad_length)))" -ge 19000 -a "$(num_of bad_length)" -eq 0
elif [ -n "${CI:-}" ] && [ "$(id -u)" -eq 0 ]; then
	# CI runs as root on a kernel that takes the filter: a silent
	# fall-back to user space there is a failure, not a skip
	notok "the kernel filter is in place in CI as root ($(grep -o 'kernel filter not available.*' "$T/daemon.log" | head -1))"
else
	ok "kernel filter not in use here (not root?): user-space drops only # SKIP"
fi
check "exact duplicates were dropped before decryption (duplicate=$(stat_of duplicate))" test "$(stat_of duplicate)" -ge 1
check "decryptions stayed far below the datagrams received (rejected=$(stat_of rejected), received=$(stat_of received))" \
	test "$(stat_of rejected)" -lt 1000
l2=$(log_count 'SL201')
check "the log holds a handful of SL201 lines, not one per packet ($((l2 - l1)))" test $((l2 - l1)) -le 10
check "the log has no line per dropped datagram" test "$(wc -l <"$T/daemon.log")" -lt 400

# the first source goes on sending junk, so it is in a penalty whatever the
# timing: then even a valid knock from it is dropped before decryption;
# after the penalty (at most ratelimit_penalty_max = 4 s) it is let back
craft alice --action 1 --payload from-flooder-1 --out "$T/f1.bin" >/dev/null
n=$(nruns)
"$FLOOD" -s 127.0.1.1 127.0.0.1 "$PORT" 256 60 >/dev/null
sleep 1.2
rs=$(dropped_src)
"$FLOOD" -s 127.0.1.1 127.0.0.1 "$PORT" 0 1 "$T/f1.bin" >/dev/null
sleep 1.2
check "a penalised source is dropped before decryption, even with a valid knock" \
	test "$(nruns)" -eq "$n" -a "$(dropped_src)" -gt "$rs"
sleep 4.5
craft alice --action 1 --payload from-flooder-2 --out "$T/f2.bin" >/dev/null
"$FLOOD" -s 127.0.1.1 127.0.0.1 "$PORT" 0 1 "$T/f2.bin" >/dev/null
check "after its penalty the source is let back" wait_runs $((n + 1))
for _ in $(seq 1 60); do log_has 'SL290' && break; sleep 0.25; done
check "flood summaries (SL290) replace per-packet lines" log_has 'SL290'
if log_has 'SL001 kernel filter: wrong-length'; then
	for _ in $(seq 1 50); do log_has 'SL290 kernel filter: dropped' && break; sleep 0.25; done
	check "what the kernel filter dropped is summarised in the log (SL290)" \
		log_has 'SL290 kernel filter: dropped [0-9]* datagrams of the wrong length and [0-9]* from penalised sources'
fi
