#!/usr/bin/env bash
# A fleet behind a load balancer, end to end, as root, between network
# namespaces this test creates (docs/FLEET.md):
#
#   C 10.210.0.2 --- L 10.210.0.1 (load balancer, redis-server)
#                    L 10.210.I.1 --- G_I 10.210.I.2   (I = 1, 2, 3)
#
# L DNATs UDP and TCP for the service address 10.210.100.1 to the three
# gateways in turn (nftables numgen), without source NAT.  Each G_I runs
# siglatchd with the nftables backend (firewall/nft-grant, nft-revoke and
# examples/firewall/nftables.conf: port 22 closed but to granted
# addresses) and a TCP listener on port 22; the fleet's store is a
# redis-server in L.  One knock from C to the service address, and 20 new
# TCP connections from C to 10.210.100.1:22 all succeed, whichever gateway
# each lands on; once the grant has lapsed, none does.  No traffic leaves
# these namespaces.
# shellcheck source=tests/integration/lib.sh
. "$(dirname "$0")/lib.sh"

if [ "$(id -u)" -ne 0 ]; then
	ok "fleet load-balancer test needs root # SKIP"
	exit 0
fi
have() { command -v "$1" >/dev/null 2>&1; }
if ! have redis-server || ! have nft || ! have ip; then
	ok "fleet load-balancer test needs redis-server, nft and ip # SKIP"
	exit 0
fi

FW=$TOP/firewall
EX=$TOP/examples/firewall
PROBE=$BIN/tools/tcpprobe
K=4                  # keepalive_interval
PORT=62201           # siglatchd's UDP port in each gateway
RPORT=6390           # the store, in L
VIP=10.210.100.1
NSC=slfl-c-$$ NSL=slfl-l-$$
NSG=(x "slfl-g1-$$" "slfl-g2-$$" "slfl-g3-$$")
GPID=(x "" "" "")
LPIDS=""
RPID=""
RPW=lb-$RANDOM$RANDOM

lb_cleanup() {
	local ns p
	for i in 1 2 3; do
		[ -n "${GPID[$i]}" ] && kill -TERM "${GPID[$i]}" 2>/dev/null
	done
	for i in 1 2 3; do
		[ -n "${GPID[$i]}" ] && wait "${GPID[$i]}" 2>/dev/null
	done
	for ns in "$NSC" "$NSL" "${NSG[1]}" "${NSG[2]}" "${NSG[3]}"; do
		for p in $(ip netns pids "$ns" 2>/dev/null); do
			kill -KILL "$p" 2>/dev/null
		done
		ip netns del "$ns" 2>/dev/null
	done
	cleanup
}
trap lb_cleanup EXIT
trap 'exit 1' INT TERM

if ! ip netns add "$NSC" 2>/dev/null; then
	ok "fleet load-balancer test needs network namespaces # SKIP"
	exit 0
fi
setup_keys
echo "gw $RPW" >"$T/fleet.pw"
chmod 600 "$T/fleet.pw"
mkdir -p "$T/redis"

inL() { ip netns exec "$NSL" "$@"; }
inG() { local i=$1; shift; ip netns exec "${NSG[$i]}" "$@"; }

# --- the namespaces -----------------------------------------------------------
net_up() {
	local i
	ip netns add "$NSL" || return 1
	for i in 1 2 3; do ip netns add "${NSG[$i]}" || return 1; done
	for ns in "$NSC" "$NSL" "${NSG[1]}" "${NSG[2]}" "${NSG[3]}"; do
		ip -n "$ns" link set lo up || return 1
	done
	ip -n "$NSL" link add eth-c type veth peer name eth0 netns "$NSC" &&
	ip -n "$NSL" addr add 10.210.0.1/24 dev eth-c &&
	ip -n "$NSL" link set eth-c up &&
	ip -n "$NSC" addr add 10.210.0.2/24 dev eth0 &&
	ip -n "$NSC" link set eth0 up &&
	ip -n "$NSC" route add default via 10.210.0.1 || return 1
	for i in 1 2 3; do
		ip -n "$NSL" link add "eth-g$i" type veth peer name eth0 \
		    netns "${NSG[$i]}" &&
		ip -n "$NSL" addr add "10.210.$i.1/24" dev "eth-g$i" &&
		ip -n "$NSL" link set "eth-g$i" up &&
		ip -n "${NSG[$i]}" addr add "10.210.$i.2/24" dev eth0 &&
		ip -n "${NSG[$i]}" link set eth0 up &&
		ip -n "${NSG[$i]}" route add default via "10.210.$i.1" || return 1
	done
	inL sysctl -qw net.ipv4.ip_forward=1 || return 1
	# the load balancer: new flows to the service address, UDP and TCP,
	# to each gateway in turn; the client's address is kept
	inL nft -f - <<'NFT'
table ip lb {
	chain pre {
		type nat hook prerouting priority dstnat; policy accept;
		ip daddr 10.210.100.1 meta l4proto { tcp, udp } dnat to numgen inc mod 3 map { 0 : 10.210.1.2, 1 : 10.210.2.2, 2 : 10.210.3.2 }
	}
}
NFT
}
if ! net_up; then
	notok "the namespaces, veth pairs and the load balancer are set up"
	exit 1
fi

inL redis-server --port "$RPORT" --bind 0.0.0.0 --save '' --appendonly no \
    --dir "$T/redis" --user default off \
    --user gw on ">$RPW" resetkeys '~lb:*' resetchannels -@all \
    +set +get +xadd +xread +info +select +ping +auth +hello \
    >"$T/redis/log" 2>&1 &
RPID=$!

gw_up() { # I
	local i=$1 g=$T/g$1
	mkdir -p "$g/state"
	cat >"$g/server.conf" <<CONF
state_dir = $g/state
timestamp_window = 120
script_timeout = 10
ratelimit_source_budget = 100000
ratelimit_prefix_budget = 1000000

[fleet]
store = redis://10.210.$i.1:$RPORT/0
password_file = $T/fleet.pw
name = gw$i
prefix = lb:

[server:main]
port = $PORT
priv_key_path = $T/keys/server.priv.pem
actions = ssh

[action:ssh]
id = 1
constructor = $FW/nft-grant
destructor = $FW/nft-revoke
keepalive_interval = $K
rerun_on_extend = yes
fleet = yes

[user:alice]
id = 10
enabled = yes
hmac_file = $T/keys/alice.hmac
actions = ssh
CONF
	inG "$i" nft -f "$EX/nftables.conf" || return 1
	# new connections to port 22, counted before the siglatch table
	inG "$i" nft -f - <<'NFT' || return 1
table inet count {
	chain input {
		type filter hook input priority -10; policy accept;
		tcp dport 22 ct state new counter
	}
}
NFT
	inG "$i" "$PROBE" listen 22 >/dev/null 2>&1 &
	LPIDS="$LPIDS $!"
	: >"$g/daemon.log"
	inG "$i" "$BIN/siglatchd" -f -c "$g/server.conf" >>"$g/daemon.log" 2>&1 &
	GPID[$i]=$!
	for _ in $(seq 1 200); do
		grep -q 'SL400 fleet: store .* reachable' "$g/daemon.log" && return 0
		sleep 0.05
	done
	diag "gateway $i did not start or reach the store:"
	sed 's/^/#   /' "$g/daemon.log"
	return 1
}
all=1
for i in 1 2 3; do gw_up "$i" || all=0; done
check "three gateways, each in its namespace with the nftables backend, reach the store in the load balancer's namespace" \
	[ "$all" = 1 ]
[ "$all" = 1 ] || exit 1

# 20 new TCP connections from C to the service address at once; prints how
# many succeeded
connect20() {
	local i n=0 pids=()
	for i in $(seq 1 20); do
		ip netns exec "$NSC" "$PROBE" connect "$VIP" 22 1500 \
		    >"$T/probe.$i" 2>&1 &
		pids+=($!)
	done
	for i in $(seq 0 19); do
		wait "${pids[$i]}" && n=$((n + 1))
	done
	echo "$n"
}
in_set() { inG "$1" nft list set inet siglatch granted4 2>/dev/null | grep -q '10\.210\.0\.2'; }
news() { inG "$1" nft list table inet count | sed -n 's/.*counter packets \([0-9]*\).*/\1/p'; }

n=$(connect20)
check "before any knock, none of 20 connections to $VIP:22 succeeds (got $n)" [ "$n" -eq 0 ]

ip netns exec "$NSC" "$BIN/knocker" --port "$PORT" \
    --server-key "$T/keys/server.pub.pem" --hmac-key "$T/keys/alice.hmac" \
    "$VIP" 10 1 >/dev/null 2>&1
for _ in $(seq 1 60); do
	in_set 1 && in_set 2 && in_set 3 && break
	sleep 0.05
done
check "one knock to the service address opens port 22 for the client on all three gateways" \
	bash -c "$(declare -f in_set inG); NSG=(${NSG[*]}); in_set 1 && in_set 2 && in_set 3"
took=$(for i in 1 2 3; do grep -l 'SL100 user alice' "$T/g$i/daemon.log" 2>/dev/null; done | wc -l)
check "... from one knock that reached one gateway" [ "$took" -eq 1 ]
b1=$(news 1) b2=$(news 2) b3=$(news 3)
n=$(connect20)
a1=$(news 1) a2=$(news 2) a3=$(news 3)
diag "new connections per gateway: gw1 $((a1 - b1)), gw2 $((a2 - b2)), gw3 $((a3 - b3))"
check "after one knock, 20 new connections to $VIP:22 all succeed (got $n)" [ "$n" -eq 20 ]
check "... and they landed on all three gateways" \
	bash -c "[ $((a1 - b1)) -gt 0 ] && [ $((a2 - b2)) -gt 0 ] && [ $((a3 - b3)) -gt 0 ]"

# the grant lapses (keepalive_interval $K) and is revoked on all three
for _ in $(seq 1 $(((K + 5) * 20))); do
	in_set 1 || in_set 2 || in_set 3 || break
	sleep 0.05
done
check "the grant lapses and the address leaves all three sets" \
	bash -c "$(declare -f in_set inG); NSG=(${NSG[*]}); ! in_set 1 && ! in_set 2 && ! in_set 3"
n=$(connect20)
check "after the grant lapsed, none of 20 new connections succeeds (got $n)" [ "$n" -eq 0 ]

[ "$NOK" -eq 0 ] || for i in 1 2 3; do diag "--- gw$i"; tail -20 "$T/g$i/daemon.log" | sed 's/^/#   /'; done
exit $((NOK > 0))
