#!/usr/bin/env bash
# siglatch benchmark.  Prints, side by side in one run, what each kind of
# traffic costs siglatchd per CPU-second of its own processes (user+system
# time from /proc/PID/stat), next to the cost of one RSA-2048 private-key
# operation of each kind (PKCS#1 v1.5 for format 1, OAEP for format 2)
# measured in the same run; a spoofed flood from tens of thousands of
# addresses with knocks of both formats from new addresses in it; and,
# when fwknopd is installed, the same junk and replay measures against it
# (bench/fwknopd.sh).  Traffic goes to loopback only, bounded in count and
# time.
#
#   bench/run.sh [VALID_KNOCKS] [JUNK_DATAGRAMS]
#   env: FLOOD_SECS (8), FLOOD_KNOCKS (50 of each format, at most 256),
#        FLOOD_SOURCES (51200, at most 51200); BENCH_ONLY: some of
#        "tables valid instr junk cores flood kernel fwknopd fleet" (default:
#        all; "tables": the duplicate cache and the budgets alone,
#        bench/tables)
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
bin=$top/${BUILD:-build}
nvalid=${1:-3000}
njunk=${2:-300000}
fsecs=${FLOOD_SECS:-8}
fknocks=${FLOOD_KNOCKS:-50}
fsources=${FLOOD_SOURCES:-51200}
d=$(mktemp -d /tmp/siglatch-bench.XXXXXX)
pid=
cleanup() {
	[ -n "$pid" ] && kill "$pid" 2>/dev/null && wait "$pid" 2>/dev/null || true
	rm -rf "$d"
}
trap cleanup EXIT
[ -n "${BENCH_KEEP:-}" ] && trap - EXIT
tck=$(getconf CLK_TCK)
want() { [ -z "${BENCH_ONLY:-}" ] || [[ " $BENCH_ONLY " == *" $1 "* ]]; }
port=$((40000 + RANDOM % 20000))

cp "$top/tests/vectors/server.priv.pem" "$top/tests/vectors/server.pub.pem" "$d/"
head -c 32 /dev/urandom >"$d/user.hmac"
chmod 600 "$d/server.priv.pem" "$d/user.hmac"

# start_daemon EXTRA-TOP-LEVEL-LINES [EXTRA-SECTIONS]: a fresh daemon with
# a no-op action.  DEFAULTS=1: max_scripts and kernel_filter as the daemon
# has them by default (16; yes), else MAXS (1024) and KFILTER (no).
start_daemon() {
	local tune="max_scripts = ${MAXS:-1024}
kernel_filter = ${KFILTER:-no}"
	[ -n "${DEFAULTS:-}" ] && tune=
	[ -n "$pid" ] && { kill "$pid"; wait "$pid" 2>/dev/null || true; }
	rm -rf "$d/state"
	cat >"$d/server.conf" <<CONF
state_dir = $d/state
$tune
stats_interval = 0
$1
[server:bench]
port = $port
bind_ip = 127.0.0.1
priv_key_path = $d/server.priv.pem
actions = noop
[action:noop]
id = 1
constructor = /bin/true
[user:bench]
id = 1
enabled = yes
hmac_file = $d/user.hmac
actions = noop
${2:-}
CONF
	: >"$d/daemon.log"
	"$bin/siglatchd" -f -c "$d/server.conf" 2>>"$d/daemon.log" &
	pid=$!
	for _ in $(seq 1 100); do grep -q SL003 "$d/daemon.log" && break; sleep 0.05; done
	if ! grep -q SL003 "$d/daemon.log"; then
		echo "bench: siglatchd did not start:" >&2
		cat "$d/daemon.log" >&2
		exit 1
	fi
	rpid=$(pgrep -P "$pid" | head -1)
}

# CPU ticks (user + system) of the network process (all its threads), of
# the runner process, and of the scripts the runner has reaped
cpu_self() { awk '{print $14 + $15}' "/proc/$pid/stat"; }
cpu_sys() { awk '{print $15}' "/proc/$pid/stat"; }
minflt() { awk '{print $10}' "/proc/$pid/stat"; }
cpu_runner() { awk '{print $14 + $15}' "/proc/$rpid/stat"; }
cpu_kids() { awk '{print $16 + $17}' "/proc/$rpid/stat"; }
counter() { # name [runner]: latest value from an SL008 line
	local which="SL008 received="
	[ $# -gt 1 ] && which="SL008 runner:"
	kill -USR1 "$pid"
	sleep 0.2
	{ grep "$which" "$d/daemon.log" || echo; } | tail -1 |
	    sed -n "s/.* $1=\([0-9]*\).*/\1/p;t;s/.*/0/p"
}
settle() { # name [target]: wait until the counter reaches target, or
	# stops moving for 1.5 s (four readings alike: a loaded machine can
	# stall the daemon for a moment); at most a minute; print it
	local v prev=-1 same=0
	for _ in $(seq 1 120); do
		v=$(counter "$1")
		[ -n "${2:-}" ] && [ "$v" -ge "$2" ] && break
		if [ "$v" = "$prev" ]; then
			same=$((same + 1))
			[ "$same" -ge 3 ] && break
		else
			same=0
		fi
		prev=$v
		sleep 0.3
	done
	echo "$v"
}
# seconds between the first and the last SL100 line (knocks authorized)
accept_span() {
	grep 'SL100' "$d/daemon.log" | awk '{ split($1, a, "T"); split(a[2], b, ":");
		t = b[1] * 3600 + b[2] * 60 + substr(b[3], 1, length(b[3]) - 1);
		if (n++ == 0) f = t; l = t } END { printf "%.3f", l - f }'
}

per_cpu() { # label count ticks [extra]
	awk -v l="$1" -v n="$2" -v c="$3" -v t="$tck" -v x="${4:-}" 'BEGIN {
		if (n <= 0 || c <= 0) { printf "%-50s too few measured\n", l ":"; exit }
		printf "%-50s %9.0f per CPU-second (%.2f us each)%s\n", l ":", n / (c / t), c / t / n * 1e6, x }'
}

echo "siglatch benchmark on $(nproc) CPU(s), $(uname -m); CPU time from /proc/PID/stat"
rsa=$("$bin/bench/rsaop" "$d/server.priv.pem" "$d/server.pub.pem" 3000)
rsa_us=$(echo "$rsa" | sed -n 's/^rsa_op_us=\([0-9.]*\).*/\1/p')
oaep_us=$(echo "$rsa" | sed -n 's/^oaep_op_us=\([0-9.]*\).*/\1/p')
rsa_slept=$(echo "$rsa" | sed -n 's/^rsa_slept_us=\([0-9.]*\).*/\1/p')
oaep_slept=$(echo "$rsa" | sed -n 's/.*oaep_slept_us=\([0-9.]*\).*/\1/p')
printf '%-50s %s\n' "RSA-2048 private-key op, PKCS#1 v1.5 (format 1):" "$rsa_us us ($(echo "$rsa" | sed -n 's/^rsa_op_us=.* ops_per_cpu_s=//p') per CPU-second; crypto_dec_knock)"
printf '%-50s %s\n' "RSA-2048 private-key op, OAEP-SHA256 (format 2):" "$oaep_us us ($(echo "$rsa" | sed -n 's/^oaep_op_us=.* oaep_ops_per_cpu_s=//p') per CPU-second; EVP, 32-byte key)"
printf '%-50s %s\n' "  the same, each after a 1 ms sleep (cold):" "PKCS#1 $rsa_slept us, OAEP $oaep_slept us (for reference only)"

# --- valid knocks: network process cost next to the RSA operation -------------
# "loaded": one knock every 300 us; "paced": one per millisecond, so the daemon
# sleeps and wakes for each.  Decryption on the main thread (workers = 1).
# Format 1: slcraft builds and sends each knock (PKCS#1 v1.5), held against
# the PKCS#1 operation.  Format 2: distinct knocks made beforehand
# (k2knock --count --out), each sent once by bench/flood -i, one at a time,
# held against the OAEP operation, the one private-key operation a format-2
# knock costs.  The machine's speed drifts (a shared VM: another tenant
# can slow the CPU by a third within a second), so a run is VALID_ROUNDS
# (5) rounds, each the operation timed (bench/rsaop, 600 of its kind) and
# then a fifth of the knocks, with the operation timed once more at the
# end; the knocks' CPU is held against the mean of those timings.
# VALID_US, VALID_OP: the last run's network-process us per knock, and
# that mean.
op_us() { # rsaop output line prefix: rsa_op_us or oaep_op_us
	"$bin/bench/rsaop" "$d/server.priv.pem" "$d/server.pub.pem" 600 |
	    sed -n "s/^$1=\([0-9.]*\).*/\1/p"
}
valid_run() { # format label pace_us count
	local a0 a1 c=0 y=0 n=0 r0 r1 k0 k1 s0 s1 b0 b1 h0 h1 c0 y0 cnt=accepted
	local opname="RSA-2048 PKCS#1 op" target=1.20 opkey=rsa_op_us ops= r
	local rounds=${VALID_ROUNDS:-5} per f0 f1
	per=$(($4 / rounds))
	if [ "$1" = 2 ]; then
		cnt=k2_accepted opname="RSA-2048 OAEP op" target=1.1 opkey=oaep_op_us
		for r in $(seq 1 "$rounds"); do
			rm -f "$d/k2valid.$r.bin"
			"$bin/tools/k2knock" --server-key "$d/server.pub.pem" \
				--hmac-key "$d/user.hmac" --user 1 --action 1 \
				--count "$per" --out "$d/k2valid.$r.bin"
		done
	fi
	h0=$(counter handoff_busy)
	s0=$(counter scripts_started runner); b0=$(counter busy runner)
	r0=$(cpu_runner); k0=$(cpu_kids); f0=$(minflt)
	for r in $(seq 1 "$rounds"); do
		ops+="$(op_us $opkey) "
		a0=$(counter $cnt)
		c0=$(cpu_self); y0=$(cpu_sys)
		if [ "$1" = 2 ]; then
			"$bin/bench/flood" -i "$3" 127.0.0.1 "$port" 559 "$per" \
				"$d/k2valid.$r.bin" >/dev/null
		else
			"$bin/tools/slcraft" --host 127.0.0.1 --port "$port" \
				--server-key "$d/server.pub.pem" --hmac-key "$d/user.hmac" \
				--user 1 --action 1 --count "$per" --interval-us "$3" >/dev/null
		fi
		a1=$(settle $cnt $((a0 + per)))
		sleep 0.5
		c=$((c + $(cpu_self) - c0)); y=$((y + $(cpu_sys) - y0)); n=$((n + a1 - a0))
	done
	ops+="$(op_us $opkey)"
	r1=$(cpu_runner); k1=$(cpu_kids); f1=$(minflt)
	h1=$(counter handoff_busy)
	s1=$(counter scripts_started runner); b1=$(counter busy runner)
	VALID_OP=$(echo "$ops" | awk '{ for (i = 1; i <= NF; i++) s += $i; printf "%.1f", s / NF }')
	VALID_US=$(awk -v c="$c" -v n="$n" -v t="$tck" \
	    'BEGIN { print (n > 0 ? c / t / n * 1e6 : 0) }')
	awk -v s="$((s1 - s0))" -v b="$((b1 - b0 + h1 - h0))" -v c="$c" \
	    -v rr="$((r1 - r0))" -v k="$((k1 - k0))" -v n="$n" \
	    -v t="$tck" -v r="$VALID_OP" -v l="format $1, $2" -v sent="$((per * rounds))" \
	    -v on="$opname" -v tg="$target" -v y="$y" -v ops="$ops" \
	    -v pf="$((f1 - f0))" 'BEGIN {
		if (n <= 0 || c <= 0) { print "valid knocks (" l "): too few measured"; exit }
		split(ops, o, " "); lo = hi = o[1]
		for (i in o) { if (o[i] < lo) lo = o[i]; if (o[i] > hi) hi = o[i] }
		us = c / t / n * 1e6; rus = rr / t / n * 1e6; kus = k / t / n * 1e6;
		printf "%-50s %9.0f per CPU-second (%.1f us each, %d of %d knocks)\n", "valid knocks accepted, " l ":", n / (c / t), us, n, sent;
		printf "%-50s %.2f (target <= %s; op %.1f us, mean of %d timings from %.1f to %.1f)\n", "  network process cost / " on ":", us / r, tg, r, length(o), lo, hi;
		printf "%-50s %.1f us user + %.1f us system; %.2f page faults\n", "  of which, per knock:", (c - y) / t / n * 1e6, y / t / n * 1e6, pf / n;
		printf "%-50s %.1f us per knock\n", "  runner process (spawn, reap, capture output):", rus;
		printf "%-50s %.1f us per knock; %d run, %d refused as busy\n", "  the scripts themselves (/bin/true):", kus, s, b;
	}'
}
# --- the cheap checks' tables alone, in one process ---------------------------
if want tables; then
echo "duplicate cache and failure budgets, in process (bench/tables):"
"$bin/bench/tables" | sed 's/^/  /'
fi

if want valid || want junk; then
start_daemon "workers = 1
ratelimit_source_budget = 100000
ratelimit_prefix_budget = 1000000
ratelimit_user_budget = 100000
max_decrypts_per_sec = 0"
fi
if want valid; then
valid_run 1 "1 core, paced 1/ms" 1000 $((nvalid / 2))
v1_us=$VALID_US v1_op=$VALID_OP
valid_run 2 "1 core, paced 1/ms" 1000 $((nvalid / 2))
v2_us=$VALID_US v2_op=$VALID_OP
valid_run 1 "1 core, loaded 1/300us" 300 "$nvalid"
valid_run 2 "1 core, loaded 1/300us" 300 "$nvalid"
echo "a valid knock, paced 1/ms, 1 core: network process CPU / one private-key op of its kind:"
awk -v a="$v1_us" -v b="$v2_us" -v r="$v1_op" -v o="$v2_op" 'BEGIN {
	if (a > 0) printf "  %-48s %6.1f us / %5.1f us = %.2f (target <= 1.20)\n", "format 1, against the PKCS#1 v1.5 op:", a, r, a / r
	if (b > 0) printf "  %-48s %6.1f us / %5.1f us = %.2f (target <= 1.1)\n", "format 2, against the RSA-OAEP op:", b, o, b / o
}'
fi

# --- the same in instructions: valgrind's callgrind counts, not times ---------------
# What the daemon's own code spends on one valid format-2 knock (bench/k2cost:
# pipeline_process on N pre-made knocks, all of it from tag to the replay
# record and the log lines) against one RSA-OAEP private-key operation (the
# same knocks' wraps), each less the same start-up: repeatable on a shared,
# noisy machine where the CPU-time ratio above is not.  The kernel's part
# (receive, the journal's pwrite) is not in it.
if want instr; then
if command -v valgrind >/dev/null 2>&1; then
	icount() { # mode: instructions callgrind collected for k2cost MODE 40
		valgrind --tool=callgrind --callgrind-out-file=/dev/null \
		    "$bin/bench/k2cost" "$d/server.priv.pem" "$d/server.pub.pem" "$1" 40 \
		    2>&1 >/dev/null | sed -n 's/.*Collected : \([0-9]*\).*/\1/p'
	}
	i0=$(icount none); ip=$(icount pipeline); io=$(icount oaep)
	awk -v z="$i0" -v p="$ip" -v o="$io" 'BEGIN {
		if (p <= z || o <= z) { print "instructions (callgrind): not measured"; exit }
		printf "%-50s %.2f M instructions per knock\n", "valid format-2 knock, daemon code (callgrind):", (p - z) / 40 / 1e6
		printf "%-50s %.2f M instructions per operation\n", "RSA-2048 OAEP private-key op (callgrind):", (o - z) / 40 / 1e6
		printf "%-50s %.3f (target <= 1.1)\n", "  knock / RSA op, in instructions:", (p - z) / (o - z)
	}'
else
	echo "instructions (callgrind): valgrind not installed (apt-get install valgrind)"
fi
fi

# --- junk ------------------------------------------------------------------------
if want junk; then
# two senders, so the daemon sees a queue, as under a real flood
junk_run() { # label counter size count [file]
	local b0 b1 c0 c1 f
	b0=$(counter "$2"); c0=$(cpu_self)
	"$bin/bench/flood" -s 127.0.7.1 127.0.0.1 "$port" "$3" $(($4 / 2)) ${5:+"$5"} >/dev/null &
	f=$!
	"$bin/bench/flood" -s 127.0.8.1 127.0.0.1 "$port" "$3" $(($4 / 2)) ${5:+"$5"} >/dev/null
	wait "$f"
	sleep 0.5
	c1=$(cpu_self); b1=$(counter "$2")
	per_cpu "$1" $((b1 - b0)) $((c1 - c0)) "  [$((b1 - b0)) received${JT:+; target $JT}]"
}
# In user space (kernel_filter = no): what reaches the process.  With the
# kernel filter (the default) the daemon never wakes for these; what they
# cost then is measured below, "in the kernel".
junk_run "wrong-size junk dropped, user space" bad_length 100 "$njunk"
# duplicates: one valid knock, then the same bytes again and again (a huge
# budget, so they stay duplicates and are not turned away as a penalised
# source first)
"$bin/tools/slcraft" --server-key "$d/server.pub.pem" --hmac-key "$d/user.hmac" \
	--user 1 --action 1 --out "$d/replay.bin" >/dev/null
JT=">= 500,000" junk_run "exact-duplicate replays dropped, user space" duplicate 0 "$njunk" "$d/replay.bin"
# format 2, still kernel_filter = no: 559 bytes of random junk (a tag no
# user has: one lookup each), and one real knock with the first bit of its
# MAC flipped, sent again and again (its tag is current: a lookup and one
# HMAC-SHA256 over 527 bytes each; the MAC fails, so nothing after it runs)
JT=">= 1,000,000" junk_run "559-byte junk, unknown tag, user space" k2_unknown_tag 559 "$njunk"
"$bin/tools/k2knock" --server-key "$d/server.pub.pem" --hmac-key "$d/user.hmac" \
	--user 1 --action 1 --flip-bit $((527 * 8)) --out "$d/badmac.bin"
JT=">= 500,000" junk_run "format-2 knock, MAC bit flipped, user space" k2_bad_mac 0 "$njunk" "$d/badmac.bin"

# over budget: default budgets; the two senders go over theirs at once
start_daemon "workers = 1"
junk_run "256-byte junk, over-budget source, user space" rate_source 256 "$njunk"
# the same flood with the kernel filter: the daemon's own CPU per datagram
KFILTER=yes start_daemon "workers = 1"
k0=$(cpu_self)
"$bin/bench/flood" -s 127.0.7.1 127.0.0.1 "$port" 256 $((njunk / 2)) >/dev/null &
f=$!
"$bin/bench/flood" -s 127.0.8.1 127.0.0.1 "$port" 256 $((njunk / 2)) >/dev/null
wait "$f"
sleep 0.5
k1=$(cpu_self)
kill -USR1 "$pid"; sleep 0.3
printf '%-50s %d datagrams reached it, %d CPU ticks for %d sent\n' \
    "  same flood, kernel_filter = yes (daemon):" "$(counter received)" $((k1 - k0)) "$njunk"
fi

# --- all cores -------------------------------------------------------------------
# Throughput of the knock path (knocks authorized and handed to the runner,
# per second of wall time) with one decryption thread and with one per CPU.
# The knocks are made beforehand and sent in batches, so the sender costs
# little; max_scripts = 1, so the runner refuses most of them at once
# instead of starting /bin/true thousands of times on the same few cores:
# this measures siglatchd's own work, not the scripts'.
throughput() { # label workers
	local a1 span c0 c1
	MAXS=1 start_daemon "workers = $2
ratelimit_source_budget = 100000
ratelimit_prefix_budget = 1000000
max_decrypts_per_sec = 0"
	rm -f "$d/knocks.bin"
	"$bin/tools/slcraft" --server-key "$d/server.pub.pem" --hmac-key "$d/user.hmac" \
		--user 1 --action 1 --count "$nvalid" --out "$d/knocks.bin" >/dev/null
	c0=$(cpu_self)
	"$bin/bench/flood" -r 20000 127.0.0.1 "$port" 256 "$nvalid" "$d/knocks.bin" >/dev/null
	a1=$(settle accepted)
	c1=$(cpu_self)
	span=$(accept_span)
	RATE=$(awk -v n="$a1" -v s="$span" 'BEGIN { print (s > 0 ? (n - 1) / s : 0) }')
	printf '%-50s %9.0f per second (%d of %d knocks in %s s)\n' \
	    "$1:" "$RATE" "$a1" "$nvalid" "$span"
	# CPU of the network process (all threads) per knock authorized; the
	# settle loop's SIGUSR1 lines are in it too, a few ticks at most
	awk -v n="$a1" -v c="$((c1 - c0))" -v t="$tck" -v r="$rsa_us" 'BEGIN {
		if (n > 0 && c > 0) printf "%-50s %.1f us (%.2f RSA ops)\n",
		    "  network process CPU per knock:", c / t / n * 1e6, c / t / n * 1e6 / r }'
}
if want cores; then
throughput "knock path, 1 decryption thread" 1
one=$RATE
throughput "knock path, one thread per CPU ($(nproc))" 0
awk -v a="$one" -v b="$RATE" 'BEGIN {
	if (a > 0) printf "%-50s %.2f (target >= 1.5)\n", "  all cores / one core:", b / a }'
fi

# --- a spoofed flood, and knocks from new addresses in it -------------------------
# The daemon as shipped: kernel_filter = yes (when root; otherwise the
# daemon says the filter is not available and drops in user space),
# default budgets, one decryption thread per CPU, max_scripts 16; a no-op
# action.  bench/spoof sends random 256- and 559-byte datagrams,
# interleaved, every one different, from FLOOD_SOURCES addresses
# 127.A.B.1 (a /24 each) as fast as it can for FLOOD_SECS, and in between,
# spread over the flood, FLOOD_KNOCKS format-2 knocks, each from its own
# new address 127.241.i.1 (which it names), and as many format-1 knocks
# from 127.242.i.1; each is sent once.  The knocks come from ten users in
# turn (five each for 50): the default ratelimit_user_budget is 20 per
# 10 s for each user, and this run is about the flood, not one user
# knocking 50 times in 8 s.  "ran": the runner started the script for
# that address (its SL101 line).  As root the same flood is run once more
# with kernel_filter = no, everything else as shipped: what happens where
# the kernel refuses the filter.

# snap: one SL008 line of each process; f NAME [runner]: a field of the last snap
snap() {
	kill -USR1 "$pid"
	sleep 0.3
	snap_net=$(grep 'SL008 received=' "$d/daemon.log" | tail -1)
	snap_run=$(grep 'SL008 runner:' "$d/daemon.log" | tail -1)
}
f() {
	local l=$snap_net
	[ $# -gt 1 ] && l=$snap_run
	echo "$l" | sed -n "s/.* $1=\([0-9]*\).*/\1/p;t;s/.*/0/p"
}
# drops (/proc/net/udp) of the network process's sockets on the port, in
# the order it opened them: the format-1 socket, then the format-2 one;
# a socket's drops count what its filter dropped too
sock_drops() {
	local ph fd ino out=
	ph=$(printf '%04X' "$port")
	for fd in $(ls "/proc/$pid/fd" | sort -n); do
		ino=$(readlink "/proc/$pid/fd/$fd" 2>/dev/null | sed -n 's/^socket:\[\([0-9]*\)\]$/\1/p')
		[ -n "$ino" ] && out+=$(awk -v p=":$ph\$" -v i="$ino" '$2 ~ p && $10 == i { printf "%s ", $13 }' /proc/net/udp)
	done
	echo "$out" | awk '{ print ($1 == "" ? 0 : $1), ($2 == "" ? 0 : $2) }'
}
# datagrams dropped from the per-CPU input backlog (loopback's netif_rx),
# all CPUs, before any socket
softnet_drops() {
	local t=0 a b rest
	while read -r a b rest; do t=$((t + 16#$b)); done </proc/net/softnet_stat
	echo "$t"
}
udp_mib() { # NAME: system-wide UDP counter from /proc/net/snmp
	awk -v n="$1" '$1 == "Udp:" { if (!h) { for (i = 2; i <= NF; i++) c[$i] = i; h = 1 } else print $(c[n]) }' /proc/net/snmp
}
# the addresses 127.OCTET.i.1 (i < N) with no line CODE in the log
missing() { # code octet
	local i out=
	for ((i = 0; i < fknocks; i++)); do
		grep "$1" "$d/daemon.log" | grep -q "from 127\\.$2\\.$i\\.1\\b" || out+=" 127.$2.$i.1"
	done
	echo "${out:- none}"
}

flood_run() { # label
	local a0 k0 rs0 rp0 rg0 rj0 ut0 ub0 kt0 kb0 kp0 kk0 rc0 hb0 st0 bu0
	local sd1a sd2a sd1b sd2b sn0 sn1 rb0 rb1 c0 c1 sp ran2 ran1 ok2 ok1 note u i
	local fusers=
	for u in $(seq 0 9); do
		head -c 32 /dev/urandom >"$d/fu$u.hmac"
		chmod 600 "$d/fu$u.hmac"
		fusers+="[user:flood$u]
id = $((100 + u))
enabled = yes
hmac_file = $d/fu$u.hmac
actions = noop
"
	done
	DEFAULTS=1 start_daemon "${KFLOOD:-}" "$fusers"
	rm -f "$d/f2.bin" "$d/f1.bin"
	for ((i = 0; i < fknocks; i++)); do
		u=$((i % 10))
		rm -f "$d/k.bin"
		"$bin/tools/k2knock" --server-key "$d/server.pub.pem" --hmac-key "$d/fu$u.hmac" \
			--user $((100 + u)) --action 1 --bind "127.241.$i.1" --out "$d/k.bin"
		cat "$d/k.bin" >>"$d/f2.bin"
		rm -f "$d/k.bin"
		"$bin/tools/slcraft" --server-key "$d/server.pub.pem" --hmac-key "$d/fu$u.hmac" \
			--user $((100 + u)) --action 1 --out "$d/k.bin" >/dev/null
		cat "$d/k.bin" >>"$d/f1.bin"
	done
	note="kernel filter on"
	if [ -n "${KFLOOD:-}" ]; then
		note="kernel_filter = no"
	elif grep -q 'kernel filter not available' "$d/daemon.log"; then
		note="kernel filter NOT available$( [ "$(id -u)" -eq 0 ] || echo ': not root'), all drops in user space"
	fi
	snap
	a0=$(f accepted); k0=$(f k2_accepted); rs0=$(f rate_source); rp0=$(f rate_prefix)
	rg0=$(f rate_global); rj0=$(f rejected); ut0=$(f k2_unknown_tag)
	ub0=$(f k2_user_budget); kt0=$(f kernel_k2_unknown_tag); kb0=$(f kernel_rate_source)
	kp0=$(f kernel_passed); kk0=$(f kernel_k2_passed); rc0=$(f received); hb0=$(f handoff_busy)
	st0=$(f scripts_started runner); bu0=$(f busy runner)
	read -r sd1a sd2a < <(sock_drops)
	sn0=$(softnet_drops); rb0=$(udp_mib RcvbufErrors)
	c0=$(cpu_self)
	sp=$("$bin/bench/spoof" -t "$fsecs" -a "$fsources" -2 "$d/f2.bin" -1 "$d/f1.bin" 127.0.0.1 "$port")
	c1=$(cpu_self)
	settle received >/dev/null
	sleep 1
	snap
	read -r sd1b sd2b < <(sock_drops)
	sn1=$(softnet_drops); rb1=$(udp_mib RcvbufErrors)
	sv() { echo "$sp" | sed -n "s/.* $1=\([0-9.\/]*\).*/\1/p"; }
	ran2=$(grep 'SL101' "$d/daemon.log" | grep -o 'from 127\.241\.[0-9]*\.1\b' | sort -u | wc -l)
	ran1=$(grep 'SL101' "$d/daemon.log" | grep -o 'from 127\.242\.[0-9]*\.1\b' | sort -u | wc -l)
	ok2=$(grep 'SL100' "$d/daemon.log" | grep -o 'from 127\.241\.[0-9]*\.1 ' | sort -u | wc -l)
	ok1=$(grep 'SL100' "$d/daemon.log" | grep -o 'from 127\.242\.[0-9]*\.1 ' | sort -u | wc -l)
	echo "$1 ($note; otherwise as shipped: default budgets, $(nproc) decryption threads, max_scripts 16):"
	printf '  %-48s %s datagrams (%s of 256 and %s of 559 bytes) from %s addresses, each its own /24, in %s s: %.0f per second\n' \
	    "flood:" "$(sv sent)" "$(sv bytes256)" "$(sv bytes559)" "$(sv sources)" "$(sv seconds)" "$(sv rate)"
	printf '%-50s %d/%d (target %d/%d; authorized %d; sent during the flood %s)\n' \
	    "format-2 knocks from new addresses that ran:" "$ran2" "$fknocks" "$fknocks" "$fknocks" "$ok2" "$(sv knocks2)"
	printf '%-50s %d/%d (authorized %d; sent during the flood %s)\n' \
	    "format-1 knocks from new addresses that ran:" "$ran1" "$fknocks" "$ok1" "$(sv knocks1)"
	[ "$ran2" -lt "$fknocks" ] && printf '  %-48s%s\n' "format-2 knocks that did not run:" "$(missing SL101 241)"
	printf '  %-48s k2_accepted +%d, accepted - k2_accepted +%d; scripts started +%d, refused busy +%d (runner) +%d (hand-off)\n' \
	    "daemon counters:" $(($(f k2_accepted) - k0)) $(($(f accepted) - a0 - $(f k2_accepted) + k0)) \
	    $(($(f scripts_started runner) - st0)) $(($(f busy runner) - bu0)) $(($(f handoff_busy) - hb0))
	printf '  %-48s %d unknown-tag drops, %d penalised-source drops; passed %d + %d (256 + 559 bytes)\n' \
	    "kernel filter:" $(($(f kernel_k2_unknown_tag) - kt0)) $(($(f kernel_rate_source) - kb0)) \
	    $(($(f kernel_passed) - kp0)) $(($(f kernel_k2_passed) - kk0))
	printf '  %-48s format-1 socket %d, format-2 socket %d; input backlog %d (system-wide UDP RcvbufErrors +%d)\n' \
	    "socket queue full, dropped before siglatchd:" \
	    $((sd1b - sd1a - ($(f kernel_rate_source) - kb0))) \
	    $((sd2b - sd2a - ($(f kernel_k2_unknown_tag) - kt0))) \
	    $((sn1 - sn0)) $((rb1 - rb0))
	printf '  %-48s %d: rate_source %d, rate_prefix %d, rate_global %d, rejected after RSA %d; k2_unknown_tag %d, k2_user_budget %d\n' \
	    "read by siglatchd:" $(($(f received) - rc0)) $(($(f rate_source) - rs0)) $(($(f rate_prefix) - rp0)) \
	    $(($(f rate_global) - rg0)) $(($(f rejected) - rj0)) \
	    $(($(f k2_unknown_tag) - ut0)) $(($(f k2_user_budget) - ub0))
	awk -v c="$((c1 - c0))" -v t="$tck" -v s="$(sv seconds)" 'BEGIN {
		printf "  %-48s %.2f CPU-seconds in %s s of flood\n", "siglatchd network process:", c / t, s }'
}
if want flood; then
	if [ "$fknocks" -gt 256 ] || [ "$fsources" -gt 51200 ]; then
		echo "bench: FLOOD_KNOCKS <= 256 and FLOOD_SOURCES <= 51200" >&2
		exit 2
	fi
	flood_run "spoofed flood"
	if [ "$(id -u)" -eq 0 ]; then
		KFLOOD="kernel_filter = no" flood_run "same flood, kernel filter off"
	else
		echo "same flood, kernel filter off: that was it (not root: no kernel filter)"
	fi
fi

# --- the kernel filter --------------------------------------------------------------
# With kernel_filter = yes the drops happen in the kernel's receive path,
# charged to whoever runs it (on loopback: the sender), so siglatchd's own
# CPU says nothing.  bench/sockfilter.sh measures the whole machine's CPU
# per datagram for: sending alone, the user-space path, the eBPF filter and
# the cheapest possible in-kernel drop; "receiving and dropping alone" is
# the figure held against 1,000,000 per CPU-second.
if ! want kernel; then
	:
elif [ "$(id -u)" -eq 0 ] && [ -x "$bin/bench/sfsink" ]; then
	echo "kernel filter (bench/sockfilter.sh, $njunk datagrams, median of ${REPS:-3}):"
	BUILD=${BUILD:-build} bench/sockfilter.sh "$njunk" | sed 's/^/  /' ||
		echo "  kernel filter: measurement failed"
else
	echo "kernel filter: not measured (needs root and build/bench/sfsink)"
fi

# --- fwknopd, when installed (Debian: fwknop-server fwknop-client) ---------------
if ! want fwknopd; then
	:
elif command -v fwknopd >/dev/null 2>&1 && command -v fwknop >/dev/null 2>&1; then
	bench/fwknopd.sh "$bin/bench/flood" "$njunk" || echo "fwknopd: comparison failed"
else
	echo "fwknopd: not installed (apt-get install fwknop-server fwknop-client), no comparison"
fi

# --- fleets: the store's replay check against the local path (bench/fleetcost.c) --
# A redis-server of its own on a random loopback port, no persistence, an
# ACL user limited to the benchmark's keys, as docs/FLEET.md recommends.
if ! want fleet; then
	:
elif command -v redis-server >/dev/null 2>&1 && [ -x "$bin/bench/fleetcost" ]; then
	rport=$((20000 + RANDOM % 20000))
	mkdir -p "$d/redis"
	redis-server --port "$rport" --bind 127.0.0.1 --save '' --appendonly no \
	    --dir "$d/redis" --user default off \
	    --user bench on '>bench-pw' '~bench:*' -@all +set +get +xadd +xread +info +auth \
	    >"$d/redis/log" 2>&1 &
	rpid=$!
	for _ in $(seq 1 100); do
		"$bin/bench/fleetcost" 127.0.0.1 "$rport" bench bench-pw 100 >/dev/null 2>&1 && break
		sleep 0.05
	done
	echo "fleet replay check, 20000 knocks each (bench/fleetcost.c):"
	"$bin/bench/fleetcost" 127.0.0.1 "$rport" bench bench-pw 20000 | sed 's/^/  /' ||
		echo "  fleet: measurement failed"
	# knocks per second through one gateway, without and with the store:
	# FLEET_KNOCKS distinct format-2 knocks, one every 500 us, from the
	# first authorized to the last script started (from the log lines).
	# Each knock starts a script (/bin/true): where the runner cannot start
	# them that fast, it refuses the rest as busy and the figure is its
	# rate of starting scripts, with or without the store.
	fk=${FLEET_KNOCKS:-1000}
	echo "bench bench-pw" >"$d/fleet.pw"
	chmod 600 "$d/fleet.pw"
	rm -f "$d/fleetk.bin"
	"$bin/tools/k2knock" --server-key "$d/server.pub.pem" --hmac-key "$d/user.hmac" \
	    --user 1 --action 1 --count "$fk" --out "$d/fleetk.bin"
	for mode in local store; do
		sect=
		[ "$mode" = store ] && sect="[fleet]
store = redis://127.0.0.1:$rport/0
password_file = $d/fleet.pw
name = bench
prefix = bench:"
		start_daemon "ratelimit_user_budget = 100000" "$sect"
		[ "$mode" = store ] && for _ in $(seq 1 100); do
			grep -q 'SL400 fleet: store .* reachable' "$d/daemon.log" && break
			sleep 0.05
		done
		"$bin/bench/flood" -i 500 127.0.0.1 "$port" 559 "$fk" "$d/fleetk.bin" >/dev/null
		prev=-1
		for _ in $(seq 1 100); do
			n=$(grep -c 'SL101' "$d/daemon.log" || true)
			[ "$n" -ge "$fk" ] || [ "$n" = "$prev" ] && break
			prev=$n
			sleep 0.3
		done
		label="one gateway, local journal only:"
		[ "$mode" = store ] && label="one gateway, with the store (on_store_down = refuse):"
		grep -E 'SL100|SL101' "$d/daemon.log" | awk -v label="$label" -v sent="$fk" '
			{ split($1, a, "T"); split(a[2], b, ":");
			  t = b[1] * 3600 + b[2] * 60 + substr(b[3], 1, length(b[3]) - 1) }
			/SL100/ && !f { f = t; fs = 1 }
			/SL101/ { l = t; n++ }
			END { s = l - f; if (n == 0 || s <= 0) { printf "  %-56s too few measured\n", label; exit }
			      printf "  %-56s %6.0f knocks/s (%d of %d sent ran, in %.3f s)\n", label, n / s, n, sent, s }'
	done
	kill "$pid" 2>/dev/null; wait "$pid" 2>/dev/null || true
	pid=
	kill "$rpid" 2>/dev/null; wait "$rpid" 2>/dev/null || true
else
	echo "fleet: not measured (apt-get install redis-server)"
fi
