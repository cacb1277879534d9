#!/usr/bin/env bash
# siglatch benchmark.  Prints, side by side in one run, what each kind of
# traffic costs siglatchd per CPU-second of its own processes (user+system
# time from /proc/PID/stat), next to the cost of one RSA-2048 private-key
# operation measured through the daemon's own code in the same run; and,
# when fwknopd is installed, the same junk and replay measures against it
# (bench/fwknopd.sh).  Traffic goes to loopback only, bounded in count.
#
#   bench/run.sh [VALID_KNOCKS] [JUNK_DATAGRAMS]
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
bin=$top/${BUILD:-build}
nvalid=${1:-3000}
njunk=${2:-300000}
d=$(mktemp -d /tmp/siglatch-bench.XXXXXX)
pid=
cleanup() {
	[ -n "$pid" ] && kill "$pid" 2>/dev/null && wait "$pid" 2>/dev/null || true
	rm -rf "$d"
}
trap cleanup EXIT
[ -n "${BENCH_KEEP:-}" ] && trap - EXIT
tck=$(getconf CLK_TCK)
port=$((40000 + RANDOM % 20000))

cp "$top/tests/vectors/server.priv.pem" "$top/tests/vectors/server.pub.pem" "$d/"
head -c 32 /dev/urandom >"$d/user.hmac"
chmod 600 "$d/server.priv.pem" "$d/user.hmac"

# start_daemon EXTRA-TOP-LEVEL-LINES: a fresh daemon with a no-op action
start_daemon() {
	[ -n "$pid" ] && { kill "$pid"; wait "$pid" 2>/dev/null || true; }
	rm -rf "$d/state"
	cat >"$d/server.conf" <<CONF
state_dir = $d/state
max_scripts = ${MAXS:-1024}
kernel_filter = ${KFILTER:-no}
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
settle() { # name: wait until the counter stops moving; print it
	local v prev=-1
	for _ in $(seq 1 120); do
		v=$(counter "$1")
		[ "$v" = "$prev" ] && break
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
rsa_us=$(echo "$rsa" | sed -n 's/rsa_op_us=\([0-9.]*\).*/\1/p')
printf '%-50s %s\n' "RSA-2048 private-key operation (same code path):" "$rsa_us us ($(echo "$rsa" | sed -n 's/.*ops_per_cpu_s=//p') per CPU-second)"

# --- valid knocks: network process cost next to the RSA operation -------------
# "loaded": one knock every 300 us; "paced": one per millisecond, so the daemon
# sleeps and wakes for each.  Decryption on the main thread (workers = 1).
valid_run() { # label pace_us count
	local a0 a1 c0 c1 r0 r1 k0 k1 s0 s1 b0 b1 h0 h1
	a0=$(counter accepted); h0=$(counter handoff_busy)
	s0=$(counter scripts_started runner); b0=$(counter busy runner)
	c0=$(cpu_self); r0=$(cpu_runner); k0=$(cpu_kids)
	"$bin/tools/slcraft" --host 127.0.0.1 --port "$port" \
		--server-key "$d/server.pub.pem" --hmac-key "$d/user.hmac" \
		--user 1 --action 1 --count "$3" --interval-us "$2" >/dev/null
	a1=$(settle accepted)
	sleep 0.5
	c1=$(cpu_self); r1=$(cpu_runner); k1=$(cpu_kids)
	h1=$(counter handoff_busy)
	s1=$(counter scripts_started runner); b1=$(counter busy runner)
	awk -v s="$((s1 - s0))" -v b="$((b1 - b0 + h1 - h0))" -v c="$((c1 - c0))" \
	    -v rr="$((r1 - r0))" -v k="$((k1 - k0))" -v n="$((a1 - a0))" \
	    -v t="$tck" -v r="$rsa_us" -v l="$1" 'BEGIN {
		if (n <= 0 || c <= 0) { print "valid knocks (" l "): too few measured"; exit }
		us = c / t / n * 1e6; rus = rr / t / n * 1e6; kus = k / t / n * 1e6;
		printf "%-50s %9.0f per CPU-second (%.1f us each, %d knocks)\n", "valid knocks accepted, " l ":", n / (c / t), us, n;
		printf "%-50s %.2f (target <= 1.20)\n", "  network process cost / RSA-2048 private op:", us / r;
		printf "%-50s %.1f us per knock\n", "  runner process (spawn, reap, capture output):", rus;
		printf "%-50s %.1f us per knock; %d run, %d refused as busy\n", "  the scripts themselves (/bin/true):", kus, s, b;
	}'
}
start_daemon "workers = 1
ratelimit_source_budget = 100000
ratelimit_prefix_budget = 1000000
max_decrypts_per_sec = 0"
valid_run "1 core, loaded 1/300us" 300 "$nvalid"
valid_run "1 core, paced 1/ms" 1000 $((nvalid / 2))

# --- junk ------------------------------------------------------------------------
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
	per_cpu "$1" $((b1 - b0)) $((c1 - c0)) "  [$((b1 - b0)) received]"
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
junk_run "exact-duplicate replays dropped (target >= 500,000)" duplicate 0 "$njunk" "$d/replay.bin"

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
throughput "knock path, 1 decryption thread" 1
one=$RATE
throughput "knock path, one thread per CPU ($(nproc))" 0
awk -v a="$one" -v b="$RATE" 'BEGIN {
	if (a > 0) printf "%-50s %.2f (target >= 1.5)\n", "  all cores / one core:", b / a }'

# --- the kernel filter --------------------------------------------------------------
# With kernel_filter = yes the drops happen in the kernel's receive path,
# charged to whoever runs it (on loopback: the sender), so siglatchd's own
# CPU says nothing.  bench/sockfilter.sh measures the whole machine's CPU
# per datagram for: sending alone, the user-space path, the eBPF filter and
# the cheapest possible in-kernel drop; "receiving and dropping alone" is
# the figure held against 1,000,000 per CPU-second.
if [ "$(id -u)" -eq 0 ] && [ -x "$bin/bench/sfsink" ]; then
	echo "kernel filter (bench/sockfilter.sh, $njunk datagrams, median of ${REPS:-3}):"
	BUILD=${BUILD:-build} bench/sockfilter.sh "$njunk" | sed 's/^/  /' ||
		echo "  kernel filter: measurement failed"
else
	echo "kernel filter: not measured (needs root and build/bench/sfsink)"
fi

# --- fwknopd, when installed (Debian: fwknop-server fwknop-client) ---------------
if command -v fwknopd >/dev/null 2>&1 && command -v fwknop >/dev/null 2>&1; then
	bench/fwknopd.sh "$bin/bench/flood" "$njunk" || echo "fwknopd: comparison failed"
else
	echo "fwknopd: not installed (apt-get install fwknop-server fwknop-client), no comparison"
fi
