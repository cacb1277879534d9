#!/usr/bin/env bash
# Issue 9, items 1 and 2, against the real daemon with the default budgets
# (20 failures a source, 200 a /24, per 10 s), spoofed sources played by
# bench/flood -s on 127.0.0.0/8:
#   - junk sent in a known-good user's name puts its address in a penalty
#     (logged, SL209) but never out of reach: the user's next knock, a
#     second later, runs, three times over while the penalty doubles, and
#     the kernel never blocks it;
#   - a /24 in a penalty spares its known-good addresses and leaves a
#     trickle for the others: a fresh user of it gets through a second
#     later;
#   - exact copies of a datagram are dropped without charging the address
#     they claim;
#   - a source blocked in the kernel that authenticates with format 2 is
#     taken out of the kernel's block map and keeps a trickle;
#   - a burst of 5,000 datagrams from one source gets no more private-key
#     operations than its budget (printed: "burst: ...");
#   - SL209 lines are flood-limited like every packet line.
. "$(dirname "$0")/lib.sh"

setup_keys
pick_port
RL_SOURCE=20 RL_PREFIX=200 write_config "ratelimit_window = 10
ratelimit_penalty = 3
ratelimit_penalty_max = 600
stats_interval = 1"
start_daemon || { notok "siglatchd starts"; exit 1; }
FLOOD=$BIN/bench/flood

stat_of() { sed -n "s/^$1=//p" "$T/state/net/siglatchd.stats" 2>/dev/null; }
num_of() { local v; v=$(stat_of "$1"); echo "${v:-0}"; }
# a counter from a stats file written after this call (every second)
fresh() {
	local t0 t
	t0=$(date +%s)
	for _ in $(seq 1 40); do
		t=$(stat_of time)
		[ -n "$t" ] && [ "$t" -gt "$t0" ] && break
		sleep 0.1
	done
	num_of "$1"
}
# wait up to $2 tenths of a second for N runs
runs_within() {
	local n=$1 tenths=$2
	for _ in $(seq 1 "$tenths"); do
		[ "$(nruns)" -ge "$n" ] && return 0
		sleep 0.1
	done
	return 1
}
# a valid format-1 knock of alice's from SRC: from SRC payload
knock_from() {
	craft alice --action 1 --payload "$2" --out "$T/k.$2" >/dev/null &&
	    "$FLOOD" -s "$1" 127.0.0.1 "$PORT" 0 1 "$T/k.$2" >/dev/null
}
junk() { "$FLOOD" -s "$1" 127.0.0.1 "$PORT" 256 "$2" >/dev/null; }

# --- 1. a known-good user and junk in its name ---------------------------
n=$(nruns)
knock alice 1 good-0 >/dev/null
check "alice knocks from 127.0.0.1" wait_runs $((n + 1))
kblocked=$(fresh kernel_rate_source)
for round in 1 2 3; do
	len=$((3 << (round - 1)))
	junk 127.0.0.1 30
	sleep 1.2
	n=$(nruns)
	knock alice 1 "good-$round" >/dev/null
	check "round $round: 30 junk datagrams from alice's address, her knock a second later runs within 2 s" \
		runs_within $((n + 1)) 20
	check "round $round: the log names the address, the length and why (SL209 ... $len s)" \
		log_has "SL209 penalty: 127.0.0.1 dropped for $len s: more than 20 failed format-1 packets in 10 s (offence $round); known good, so still decrypted on a trickle (2 a second)"
	# sit out the penalty, so that the next round is the next offence
	[ "$round" -lt 3 ] && sleep $((len - 1)).5
done
check "the kernel never blocked the known-good address (kernel_rate_source $kblocked -> $(fresh kernel_rate_source))" \
	test "$(num_of kernel_rate_source)" -eq "$kblocked"

# --- 2. a /24 in a penalty ------------------------------------------------
n=$(nruns)
knock_from 127.0.7.100 pfx-good-0
check "127.0.7.100 knocks (known good from now on)" runs_within $((n + 1)) 30
# 16 addresses, 19 junk datagrams each (304 > 200), all at once, so that
# the prefix's budget does not refill meanwhile on a slow (ASan) build
fl=()
for a in $(seq 1 16); do junk "127.0.7.$a" 19 & fl+=($!); done
wait "${fl[@]}"
n=$(nruns)
knock_from 127.0.7.100 pfx-good-1
check "the /24 in a penalty: its known-good address still knocks at once" runs_within $((n + 1)) 20
sleep 1.2
n=$(nruns)
knock_from 127.0.7.200 pfx-fresh
check "the /24 in a penalty: a fresh user of it gets through a second later" runs_within $((n + 1)) 20
check "the log names the prefix, the length and why" \
	log_has 'SL209 penalty: prefix 127.0.7.0/24 dropped for 3 s: more than 200 failed format-1 packets in 10 s (offence 1); known-good sources in it are spared, the others share a trickle (2 a second)'

# --- 3. copies charge nobody ----------------------------------------------
"$BIN/tools/slcraft" --raw-random 256 --out "$T/junk.bin" >/dev/null
d0=$(fresh duplicate)
"$FLOOD" -s 127.0.8.1 127.0.0.1 "$PORT" 0 1 "$T/junk.bin" >/dev/null
sleep 0.2
"$FLOOD" -r 2000 -s 127.0.9.1 127.0.0.1 "$PORT" 0 200 "$T/junk.bin" >/dev/null
"$FLOOD" -r 2000 -s 127.0.8.1 127.0.0.1 "$PORT" 0 200 "$T/junk.bin" >/dev/null
n=$(nruns)
knock_from 127.0.9.1 after-copies
check "200 copies of a datagram 'from' 127.0.9.1: its own knock still runs at once" runs_within $((n + 1)) 20
d1=$(fresh duplicate)
check "the copies were dropped as duplicates ($((d1 - d0)))" test $((d1 - d0)) -ge 300
check "... and put neither address in a penalty" \
	sh -c "! grep -q 'SL209 penalty: 127.0.[89].1 ' '$T/daemon.log'"

# --- 4. format 2 takes a source out of the kernel's block map --------------
junk 127.0.10.1 30
sleep 0.3
n=$(nruns)
"$BIN/tools/k2knock" --port "$PORT" --server-key "$T/keys/server.pub.pem" \
    --hmac-key "$T/keys/alice.hmac" --user 10 --action 1 --payload f2 \
    --bind 127.0.10.1 >/dev/null
check "a source in a penalty knocks with format 2" runs_within $((n + 1)) 30
knock_from 127.0.10.1 f1-after-f2
check "... and then, known good, with format 1 too: out of the kernel, on a trickle" \
	runs_within $((n + 2)) 20
check "the log says so" log_has 'SL209 penalty: 127.0.10.1 authenticated during its penalty: known good, still decrypted on a trickle (2 a second)'

# --- 5. a burst from one source pays at admission ---------------------------
worst=0
for s in 11 12 13; do
	r0=$(fresh rejected)
	"$FLOOD" -s "127.0.$s.1" 127.0.0.1 "$PORT" 256 5000 >/dev/null
	sleep 0.5
	r1=$(fresh rejected)
	echo "# burst: 5000 datagrams from 127.0.$s.1: $((r1 - r0)) private-key operations (budget 20)"
	[ $((r1 - r0)) -gt "$worst" ] && worst=$((r1 - r0))
done
check "a burst of 5000 from one source gets no more private-key operations than its budget (at most $worst)" \
	test "$worst" -le 21

# --- 6. SL209 is flood-limited ----------------------------------------------
p0=$(fresh penalties)
l0=$(log_count 'SL209')
for s in $(seq 21 40); do junk "127.0.$s.1" 25; done
p=$(($(fresh penalties) - p0))
l=$(($(log_count 'SL209') - l0))
check "20 sources over budget at once: 20 penalties, at most 10 SL209 lines ($p, $l)" \
	test "$p" -eq 20 -a "$l" -le 10
for _ in $(seq 1 60); do log_has 'SL290 [0-9]* more SL209 lines suppressed' && break; sleep 0.25; done
check "... and summarised (SL290)" log_has 'SL290 [0-9]* more SL209 lines suppressed'
check "the daemon is alive" daemon_alive
