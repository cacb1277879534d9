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

# self CPU ticks and reaped children's CPU ticks of the daemon
cpu_self() { awk '{print $14 + $15}' "/proc/$pid/stat"; }
cpu_kids() { awk '{print $16 + $17}' "/proc/$pid/stat"; }
counter() { # name: latest value from an SL008 line
	kill -USR1 "$pid"
	sleep 0.2
	grep SL008 "$d/daemon.log" | tail -1 | sed -n "s/.* $1=\([0-9]*\).*/\1/p"
}
wait_counter() { # name target
	for _ in $(seq 1 300); do
		[ "$(counter "$1")" -ge "$2" ] && return 0
		sleep 0.1
	done
	echo "bench: timed out waiting for $1 >= $2" >&2
	return 1
}

"$bin/siglatchd" -f -c "$d/server.conf" 2>"$d/daemon.log" &
pid=$!
for _ in $(seq 1 100); do grep -q SL003 "$d/daemon.log" && break; sleep 0.05; done

rsa=$("$bin/bench/rsaop" "$d/server.priv.pem" "$d/server.pub.pem" 3000)
rsa_us=$(echo "$rsa" | sed -n 's/rsa_op_us=\([0-9.]*\).*/\1/p')

echo "siglatch benchmark on $(nproc) CPU(s), $(uname -m); daemon CPU from /proc/$pid/stat"
printf '%-48s %s\n' "RSA-2048 private-key operation (same code path):" "$rsa_us us ($(echo "$rsa" | sed -n 's/.*ops_per_cpu_s=//p') per CPU-second)"

# 1. valid knocks with a no-op action (/bin/true), paced so none is dropped
a0=$(counter accepted); c0=$(cpu_self); k0=$(cpu_kids)
"$bin/tools/slcraft" --host 127.0.0.1 --port "$port" \
	--server-key "$d/server.pub.pem" --hmac-key "$d/user.hmac" \
	--user 1 --action 1 --count "$nvalid" --interval-us 500 >/dev/null
wait_counter accepted $((a0 + nvalid))
sleep 0.5  # let the last scripts be reaped
c1=$(cpu_self); k1=$(cpu_kids); a1=$(counter accepted)
acc=$((a1 - a0))
awk -v c="$((c1 - c0))" -v k="$((k1 - k0))" -v n="$acc" -v t="$tck" -v r="$rsa_us" 'BEGIN {
	us = c / t / n * 1e6; kus = k / t / n * 1e6;
	printf "%-48s %.0f per CPU-second (%.1f us each)\n", "valid knocks accepted, no-op action:", n / (c / t), us;
	printf "%-48s %.2f (target <= 1.20)\n", "valid knock cost / RSA-2048 private-key op:", us / r;
	printf "%-48s %.1f us per knock (fork/exec of /bin/true, not in the figure above)\n", "  the scripts themselves (children CPU):", kus;
}'

# 2. wrong-size junk: dropped before any cryptography
b0=$(counter bad_length); c0=$(cpu_self)
"$bin/bench/flood" 127.0.0.1 "$port" 100 "$njunk" >/dev/null
sleep 0.5
c1=$(cpu_self); b1=$(counter bad_length)
awk -v c="$((c1 - c0))" -v n="$((b1 - b0))" -v t="$tck" 'BEGIN {
	if (n == 0 || c == 0) { print "wrong-size datagrams: too few measured"; exit }
	printf "%-48s %.0f per CPU-second (%.2f us each, target < 2 us; %d received)\n",
	    "wrong-size datagrams dropped:", n / (c / t), c / t / n * 1e6, n;
}'
