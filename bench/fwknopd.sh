#!/usr/bin/env bash
# fwknopd (fwknop-server) measured the same way as siglatchd: its CPU time
# from /proc/PID/stat per datagram it received (sent minus what the kernel
# dropped at its socket, from /proc/net/udp), for the same junk and for a
# valid SPA packet replayed.  UDP server mode (-U), test mode (-t: no
# firewall changes), loopback only.  Called by bench/run.sh.
#   bench/fwknopd.sh FLOOD_BIN COUNT
set -euo pipefail
flood=$1
n=$2
d=$(mktemp -d /tmp/fwknopd-bench.XXXXXX)
fpid=
cleanup() {
	[ -n "$fpid" ] && kill "$fpid" 2>/dev/null && wait "$fpid" 2>/dev/null || true
	rm -rf "$d"
}
trap cleanup EXIT
port=$((20000 + RANDOM % 20000))
key=$(head -c 32 /dev/urandom | base64 -w0)
hkey=$(head -c 64 /dev/urandom | base64 -w0)
mkdir -p "$d/run"
cat >"$d/fwknopd.conf" <<CONF
UDPSERV_PORT $port;
ENABLE_UDP_SERVER Y;
FIREWALL_EXE /bin/true;
ENABLE_DIGEST_PERSISTENCE N;
CONF
printf 'SOURCE ANY\nKEY_BASE64 %s\nHMAC_KEY_BASE64 %s\n' "$key" "$hkey" >"$d/access.conf"
chmod 600 "$d/fwknopd.conf" "$d/access.conf"
fwknopd -f -t -U -c "$d/fwknopd.conf" -a "$d/access.conf" -d "$d/digest.cache" \
	-p "$d/run/fwknopd.pid" -r "$d/run" >"$d/fwknopd.log" 2>&1 &
fpid=$!
for _ in $(seq 1 100); do grep -q 'UDP server' "$d/fwknopd.log" && break; sleep 0.05; done
sleep 0.2
# one valid SPA packet (sent once by the client, then replayed)
HOME=$d fwknop -A tcp/22 -a 127.0.0.1 -D 127.0.0.1 --server-proto udp \
	--server-port "$port" --key-base64-rijndael "$key" --key-base64-hmac "$hkey" \
	--use-hmac --save-packet "$d/spa.pkt" >/dev/null 2>&1
tr -d '\n' <"$d/spa.pkt" >"$d/spa.bin"

tck=$(getconf CLK_TCK)
cpu() { awk '{print $14 + $15}' "/proc/$fpid/stat"; }
drops() { # kernel drops at fwknopd's socket
	awk -v p="$(printf '%04X' "$port")" '$2 ~ ":"p"$" {print $NF}' /proc/net/udp | head -1
}
measure() { # label size [file]
	local c0 c1 d0 d1 got f
	c0=$(cpu); d0=$(drops)
	"$flood" -s 127.0.7.1 127.0.0.1 "$port" "$2" $((n / 2)) ${3:+"$3"} >/dev/null &
	f=$!
	"$flood" -s 127.0.8.1 127.0.0.1 "$port" "$2" $((n / 2)) ${3:+"$3"} >/dev/null
	wait "$f"
	sleep 1
	c1=$(cpu); d1=$(drops)
	got=$((n / 2 * 2 - (d1 - d0)))
	awk -v l="$1" -v n="$got" -v c="$((c1 - c0))" -v t="$tck" 'BEGIN {
		if (n <= 0 || c <= 0) { printf "%-50s too few measured\n", l ":"; exit }
		printf "%-50s %9.0f per CPU-second (%.2f us each)  [%d received]\n", l ":", n / (c / t), c / t / n * 1e6, n }'
}
measure "fwknopd: 100-byte junk" 100
measure "fwknopd: 256-byte junk" 256
measure "fwknopd: replays of one valid SPA packet" 0 "$d/spa.bin"
