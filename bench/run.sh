#!/usr/bin/env bash
# siglatch benchmark: prints figures per CPU-second of the daemon, measured
# from /proc/PID/stat (user+system time of siglatchd itself), side by side
# with the cost of one RSA-2048 private-key operation measured in the same
# run.  Traffic goes to 127.0.0.1 only, bounded in count.
#
#   bench/run.sh [VALID_KNOCKS] [JUNK_DATAGRAMS]
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
bin=$top/build
nvalid=${1:-3000}
njunk=${2:-300000}
d=$(mktemp -d /tmp/siglatch-bench.XXXXXX)
pid=
cleanup() {
	[ -n "$pid" ] && kill "$pid" 2>/dev/null && wait "$pid" 2>/dev/null || true
	rm -rf "$d"
}
trap cleanup EXIT
tck=$(getconf CLK_TCK)
port=$((40000 + RANDOM % 20000))

cp "$top/tests/vectors/server.priv.pem" "$top/tests/vectors/server.pub.pem" "$d/"
head -c 32 /dev/urandom >"$d/user.hmac"
chmod 600 "$d/server.priv.pem" "$d/user.hmac"
cat >"$d/server.conf" <<CONF
state_dir = $d/state
max_scripts = 1024
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

# CPU ticks (user + system) of the network process, of the runner process,
# and of the scripts the runner has reaped
cpu_self() { awk '{print $14 + $15}' "/proc/$pid/stat"; }
cpu_runner() { awk '{print $14 + $15}' "/proc/$rpid/stat"; }
cpu_kids() { awk '{print $16 + $17}' "/proc/$rpid/stat"; }
counter() { # name [runner]: latest value from an SL008 line
	local which="SL008 received="
	[ $# -gt 1 ] && which="SL008 runner:"
	kill -USR1 "$pid"
	sleep 0.2
	grep "$which" "$d/daemon.log" | tail -1 | sed -n "s/.* $1=\([0-9]*\).*/\1/p"
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

"$bin/siglatchd" -f -c "$d/server.conf" 2>"$d/daemon.log" &
pid=$!
for _ in $(seq 1 100); do grep -q SL003 "$d/daemon.log" && break; sleep 0.05; done
rpid=$(pgrep -P "$pid" | head -1)

rsa=$("$bin/bench/rsaop" "$d/server.priv.pem" "$d/server.pub.pem" 3000)
rsa_us=$(echo "$rsa" | sed -n 's/rsa_op_us=\([0-9.]*\).*/\1/p')

echo "siglatch benchmark on $(nproc) CPU(s), $(uname -m); CPU time from /proc/PID/stat"
echo "(network process $pid: receive, decrypt, verify, replay, authorize, hand-off;"
echo " runner process $rpid: starts and reaps the action scripts)"
printf '%-48s %s\n' "RSA-2048 private-key operation (same code path):" "$rsa_us us ($(echo "$rsa" | sed -n 's/.*ops_per_cpu_s=//p') per CPU-second)"

# 1. valid knocks with a no-op action (/bin/true).  "loaded": one knock
# every 300 us, about what two cores can run scripts for (the network
# process is then busy most of the time); "paced": one knock per
# millisecond, so the daemon sleeps and wakes for every knock.  The line
# after each says how many knocks ran their script and how many the runner
# refused (max_scripts reached or hand-off queue full): on this 2-core
# machine the scripts compete with the daemon for CPU.
valid_run() { # label pace_us count
	local a0 a1 c0 c1 r0 r1 k0 k1 s0 s1 b0 b1 h0 h1
	a0=$(counter accepted); h0=$(counter handoff_busy)
	s0=$(counter scripts_started runner); b0=$(counter busy runner)
	c0=$(cpu_self); r0=$(cpu_runner); k0=$(cpu_kids)
	"$bin/tools/slcraft" --host 127.0.0.1 --port "$port" \
		--server-key "$d/server.pub.pem" --hmac-key "$d/user.hmac" \
		--user 1 --action 1 --count "$3" --interval-us "$2" >/dev/null
	a1=$(settle accepted)
	sleep 0.5  # let the last scripts be reaped
	c1=$(cpu_self); r1=$(cpu_runner); k1=$(cpu_kids)
	h1=$(counter handoff_busy)
	s1=$(counter scripts_started runner); b1=$(counter busy runner)
	awk -v s="$((s1 - s0))" -v b="$((b1 - b0 + h1 - h0))" -v c="$((c1 - c0))" -v rr="$((r1 - r0))" -v k="$((k1 - k0))" \
	    -v n="$((a1 - a0))" -v t="$tck" -v r="$rsa_us" -v l="$1" 'BEGIN {
		if (n <= 0 || c <= 0) { print "valid knocks (" l "): too few measured"; exit }
		us = c / t / n * 1e6; rus = rr / t / n * 1e6; kus = k / t / n * 1e6;
		printf "%-48s %.0f per CPU-second (%.1f us each, %d knocks)\n", "valid knocks accepted, " l ":", n / (c / t), us, n;
		printf "%-48s %.2f (target <= 1.20)\n", "  network process cost / RSA-2048 private op:", us / r;
		printf "%-48s %.1f us per knock\n", "  runner process (spawn, reap, capture output):", rus;
		printf "%-48s %.2f x RSA op, %.0f knocks per CPU-second\n", "  both siglatchd processes together:", (us + rus) / r, n / ((c + rr) / t);
		printf "%-48s %.1f us per knock\n", "  the scripts themselves (/bin/true):", kus;
		printf "%-48s %d run, %d refused as busy\n", "  scripts:", s, b;
	}'
}
valid_run "loaded 1/300us" 300 "$nvalid"
valid_run "paced 1/ms" 1000 $((nvalid / 2))

# 2. wrong-size junk: dropped before any cryptography
b0=$(counter bad_length); c0=$(cpu_self)
# two senders, so the daemon sees a queue (as under a real flood)
"$bin/bench/flood" 127.0.0.1 "$port" 100 $((njunk / 2)) >/dev/null &
fpid=$!
"$bin/bench/flood" 127.0.0.1 "$port" 100 $((njunk / 2)) >/dev/null
wait "$fpid"
sleep 0.5
c1=$(cpu_self); b1=$(counter bad_length)
awk -v c="$((c1 - c0))" -v n="$((b1 - b0))" -v t="$tck" 'BEGIN {
	if (n == 0 || c == 0) { print "wrong-size datagrams: too few measured"; exit }
	printf "%-48s %.0f per CPU-second (%.2f us each, target < 2 us; %d received)\n",
	    "wrong-size datagrams dropped:", n / (c / t), c / t / n * 1e6, n;
}'
