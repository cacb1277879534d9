#!/usr/bin/env bash
# What dropping junk costs in all, per datagram, these ways:
#   A  user   the user-space path: siglatchd's socket, recvmmsg, length
#             check, then the real rate limiter (256 bytes) or a tag
#             lookup (559 bytes) in user space (bench/sfsink user)
#   B  ebpf   the sockfilter eBPF program (src/daemon/sockfilter.c) attached, the
#             senders' addresses blocked, tag filtering on with 10240 tags
#             in the map (bench/sfsink ebpf)
#   P  pair   B on the two sockets of a server that takes both formats
#             (one reuseport group, a classic BPF program steering 559-byte
#             datagrams to the second): B plus the steering
#   C  cbpf   a classic BPF "ret #0" attached: the cheapest in-kernel drop,
#             i.e. the unavoidable cost of sending and receiving
# for COUNT wrong-size (100-byte) datagrams, for COUNT 256-byte datagrams
# from a penalised (A) / blocked (B) source, and for COUNT 559-byte
# (format-2) datagrams of random bytes, so of unknown tags.  bench/flood
# sends the first two; it stops at 512 bytes, so bench/sfsink send (the
# same loop) sends the 559-byte ones, and their S row too.
#
# With a filter the receiver never wakes for a dropped datagram: the cost
# moves into the kernel's receive path, which on loopback runs in softirq
# context on the sending CPU and, without CONFIG_IRQ_TIME_ACCOUNTING, is
# charged to the sending process (or to ksoftirqd when it takes over).  So
# "total" is senders (bash `times` of the two flood processes) + receiver
# (its getrusage since it was ready) + ksoftirqd/* (/proc/PID/stat) for
# the run.  The system-wide busy time (/proc/stat, all processes on the
# machine) is shown next to it as a cross-check: anything else running on
# the machine inflates that column only.
#
# S  send   the same floods with no receive path at all: to 127.0.9.9,
#             routed out of a veth whose peer is down (the driver drops
#             them).  X - S is then what receiving and dropping costs in
#             set-up X, wherever it is charged: the figure to hold against
#             "1,000,000 drops per CPU-second".
#
# Everything runs in a private network namespace made for the run (its own
# loopback; no firewall rules of the host's on the path), removed on exit.
# Two senders, 127.0.7.1 and 127.0.8.1 -> 127.0.0.1, bounded counts; each
# case runs REPS times (default 3), interleaved, and the median is
# reported.  Needs root (the eBPF program, the namespace).
#
#   bench/sockfilter.sh [COUNT]        (BUILD=build-bpf for another tree)
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
bin=$top/${BUILD:-build}
n=${1:-1000000}
reps=${REPS:-3}
tck=$(getconf CLK_TCK)
for b in sfsink flood; do
	if [ ! -x "$bin/bench/$b" ]; then
		echo "sockfilter.sh: $bin/bench/$b missing (make B=${BUILD:-build} $bin/bench/$b)" >&2
		exit 2
	fi
done
if [ "$(id -u)" -ne 0 ]; then
	echo "sockfilter.sh: needs root (loading the eBPF program)" >&2
	exit 2
fi
d=$(mktemp -d /tmp/siglatch-sfbench.XXXXXX)
ns=slsfbench$$
sink=
cleanup() {
	if [ -n "$sink" ]; then
		kill "$sink" 2>/dev/null || true
		wait "$sink" 2>/dev/null || true
	fi
	ip netns del "$ns" 2>/dev/null || true
	rm -rf "$d"
}
trap cleanup EXIT
ip netns add "$ns"
ip -n "$ns" link set lo up
# the send-only floor: 127.0.9.0/24 out of v0, whose peer v1 stays down
ip -n "$ns" link add v0 type veth peer name v1
ip -n "$ns" link set v0 up
ip netns exec "$ns" sysctl -qw net.ipv4.conf.all.route_localnet=1 \
	net.ipv4.conf.v0.route_localnet=1
ip -n "$ns" route add 127.0.9.0/24 dev v0
ip -n "$ns" neigh add 127.0.9.9 lladdr 02:00:00:00:00:09 dev v0 nud permanent

# CPU ticks of all ksoftirqd threads
ksoft() {
	local p t=0 v
	for p in $(pgrep -x 'ksoftirqd/[0-9]+' || true); do
		v=$(awk '{print $14 + $15}' "/proc/$p/stat" 2>/dev/null || echo 0)
		t=$((t + v))
	done
	echo "$t"
}
# busy ticks of the whole machine (all but idle and iowait)
busy() { awk '/^cpu / {print $2 + $3 + $4 + $7 + $8 + $9; exit}' /proc/stat; }
# field NAME of the sink's result line
field() { sed -n "s/.*\\b$1=\\([0-9]*\\).*/\\1/p" "$d/sink.out" | tail -1; }
# flood SRC DST PORT SIZE COUNT (inside the namespace)
flood() {
	if [ "$4" -gt 512 ]; then
		ip netns exec "$ns" "$bin/bench/sfsink" send "$@" >/dev/null
	else
		ip netns exec "$ns" "$bin/bench/flood" -s "$1" "$2" "$3" "$4" "$5" >/dev/null
	fi
}

# one_run MODE SIZE: prints "total_us send_us recv_us ksoft_us busy_us
# received sock_drops filter_drops"
one_run() {
	local mode=$1 size=$2 port k0 k1 b0 b1 snd rc fl fb ft dst=127.0.0.1
	port=$((40000 + RANDOM % 20000))
	: >"$d/sink.out"
	if [ "$mode" = send ]; then
		dst=127.0.9.9
		echo "cpu_us=0 received=0" >"$d/sink.out"
	else
		# no function or subshell here: $! must be sfsink itself
		# (ip netns exec execs it), for the kill below
		ip netns exec "$ns" "$bin/bench/sfsink" "$mode" "$port" 127.0.7.1 127.0.8.1 \
		    >"$d/sink.out" 2>"$d/sink.err" &
		sink=$!
		for _ in $(seq 1 100); do
			grep -q ready "$d/sink.out" && break
			kill -0 "$sink" 2>/dev/null || break
			sleep 0.05
		done
		if ! grep -q ready "$d/sink.out"; then
			rc=0
			wait "$sink" || rc=$?
			sink=
			echo "FAIL rc=$rc $(cat "$d/sink.err")"
			return 0
		fi
	fi
	k0=$(ksoft)
	b0=$(busy)
	# the two floods' CPU: the subshell's children's times (2nd line)
	snd=$( (
		flood 127.0.7.1 "$dst" "$port" "$size" $((n / 2)) &
		flood 127.0.8.1 "$dst" "$port" "$size" $((n - n / 2))
		wait
		times
	) | tail -1)
	if [ -n "$sink" ]; then
		sleep 0.3   # let the receiver drain its queue
		kill -TERM "$sink"
		wait "$sink" || true
		sink=
	fi
	k1=$(ksoft)
	b1=$(busy)
	fl=$(field f_length)
	fb=$(field f_blocked)
	ft=$(field f_tag)
	awk -v s="$snd" -v r="$(field cpu_us)" -v k="$((k1 - k0))" \
	    -v b="$((b1 - b0))" -v t="$tck" -v rx="$(field received)" \
	    -v dr="$(field sock_drops)" \
	    -v f="$((${fl:-0} + ${fb:-0} + ${ft:-0}))" 'BEGIN {
		split(s, a, /[ ms]+/)   # "0m1.234s 0m0.567s"
		su = (a[1] * 60 + a[2] + a[3] * 60 + a[4]) * 1e6
		ku = k / t * 1e6; bu = b / t * 1e6
		printf "%.0f %.0f %.0f %.0f %.0f %d %d %d\n", su + r + ku, su, r, ku, bu, rx, dr, f
	}'
}

median() { sort -n | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }

echo "sockfilter benchmark: $(nproc) CPU(s), kernel $(uname -r), bpf_jit_enable=$(cat /proc/sys/net/core/bpf_jit_enable 2>/dev/null || echo '?'), $n datagrams per run, median of $reps"
echo "CPU per datagram = senders + receiver + ksoftirqd; system-wide busy shown as a cross-check"
declare -A res
kinds=${KINDS:-length blocked k2tag}
for kind in $kinds; do
	case $kind in
	length) size=100 ;;
	blocked) size=256 ;;
	k2tag) size=559 ;;
	*) echo "sockfilter.sh: unknown kind $kind (KINDS: length blocked k2tag)" >&2; exit 2 ;;
	esac
	for ((i = 1; i <= reps; i++)); do
		for mode in send user ebpf pair cbpf; do
			line=$(one_run "$mode" "$size")
			case $line in FAIL*)
				echo "$mode: $line"
				case $mode in ebpf | pair)
					echo "  (the kernel refused the eBPF program: no CAP_BPF or too old)" ;;
				esac
				continue ;;
			esac
			res[$kind.$mode]+="$line"$'\n'
		done
	done
done

summary() { # kind mode label
	local rows=${res[$1.$2]:-}
	if [ -z "$rows" ]; then
		printf '  %-38s no result\n' "$3"
		return
	fi
	local tot snd rcv ks bz rx dr fd
	tot=$(printf '%s' "$rows" | awk '{print $1}' | median)
	snd=$(printf '%s' "$rows" | awk '{print $2}' | median)
	rcv=$(printf '%s' "$rows" | awk '{print $3}' | median)
	ks=$(printf '%s' "$rows" | awk '{print $4}' | median)
	bz=$(printf '%s' "$rows" | awk '{print $5}' | median)
	rx=$(printf '%s' "$rows" | awk '{print $6}' | median)
	dr=$(printf '%s' "$rows" | awk '{print $7}' | median)
	fd=$(printf '%s' "$rows" | awk '{print $8}' | median)
	echo "$tot" >"$d/tot.$1.$2"
	awk -v l="$3" -v n="$n" -v t="$tot" -v s="$snd" -v r="$rcv" -v k="$ks" \
	    -v b="$bz" -v rx="$rx" -v dr="$dr" -v fd="$fd" -v m="$2" \
	    -v f="$(cat "$d/tot.$1.send" 2>/dev/null || echo 0)" 'BEGIN {
		printf "  %-36s %8.3f us each (senders %.3f + receiver %.3f + ksoftirqd %.3f; system-wide %.3f)\n",
		    l ":", t / n, s / n, r / n, k / n, b / n
		if (m == "send") {
			printf "  %-36s %8.0f per CPU-second\n", "", n / (t / 1e6)
			exit
		}
		printf "  %-36s %8.0f per CPU-second all in; receiving and dropping alone (X - S): %.3f us, %.0f per CPU-second\n",
		    "", n / (t / 1e6), (t - f) / n, (t > f ? n / ((t - f) / 1e6) : 0)
		printf "  %-36s received by the process %d, socket drops %d, eBPF drops %d (of %d)\n", "", rx, dr, fd, n
	}'
}

for kind in $kinds; do
	case $kind in
	length) echo "wrong-size (100-byte) junk:" ;;
	blocked) echo "256-byte junk from a penalised/blocked source:" ;;
	k2tag) echo "559-byte (format-2) junk of unknown tags, tag filtering on:" ;;
	esac
	summary "$kind" send "S send only (no receive path)"
	summary "$kind" user "A user space (recvmmsg + checks)"
	summary "$kind" ebpf "B eBPF sockfilter"
	summary "$kind" pair "P eBPF sockfilter, format pair"
	summary "$kind" cbpf "C classic BPF ret #0 (floor)"
	if [ -s "$d/tot.$kind.ebpf" ] && [ -s "$d/tot.$kind.cbpf" ] && [ -s "$d/tot.$kind.user" ]; then
		awk -v a="$(cat "$d/tot.$kind.user")" -v b="$(cat "$d/tot.$kind.ebpf")" \
		    -v c="$(cat "$d/tot.$kind.cbpf")" -v n="$n" 'BEGIN {
			printf "  %-36s B - C = %+.3f us per datagram; A - C = %+.3f us; A / B (all in) = %.2f\n",
			    "marginal cost:", (b - c) / n, (a - c) / n, a / b }'
	fi
	if [ -s "$d/tot.$kind.ebpf" ] && [ -s "$d/tot.$kind.pair" ]; then
		awk -v b="$(cat "$d/tot.$kind.ebpf")" -v p="$(cat "$d/tot.$kind.pair")" \
		    -v n="$n" 'BEGIN {
			printf "  %-36s P - B = %+.3f us per datagram\n",
			    "reuseport steering:", (p - b) / n }'
	fi
done

# The program's own cost, without the receive path around it: the kernel
# runs it (and a two-instruction "return 0") on crafted packets
echo "the eBPF program alone (BPF_PROG_TEST_RUN, ns per run, incl. ~the return0 figure of loop overhead):"
"$bin/bench/sfsink" testrun 2000000 | sed 's/^/  /'
