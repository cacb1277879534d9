#!/usr/bin/env bash
# End to end, as root: the shipped firewall backends (firewall/nft-* with
# examples/firewall/nftables.conf, then firewall/ipset-* with
# examples/firewall/ipset-iptables.sh) driven by siglatchd's timed grants,
# checked with real TCP connects to port 22 between network namespaces.
#
# Each round builds its own namespaces: a server S and two clients, A and
# B, each joined to S by a veth pair:
#   A 10.200.1.2 fd00:200:1::2  <->  S 10.200.1.1 fd00:200:1::1
#   B 10.200.2.2 fd00:200:2::2  <->  S 10.200.2.1 fd00:200:2::1
# No traffic leaves these namespaces.  S runs siglatchd (state in $T), the
# ruleset under test and "tcpprobe listen 22"; A knocks, B never does.
# shellcheck source=tests/integration/lib.sh
. "$(dirname "$0")/lib.sh"

if [ "$(id -u)" -ne 0 ]; then
	ok "firewall end-to-end test needs root # SKIP"
	exit 0
fi

FW=$TOP/firewall
EX=$TOP/examples/firewall
PROBE=$BIN/tools/tcpprobe
K=5          # keepalive_interval, seconds
GRACE=60     # the scripts' kernel grace, seconds (GRACE in firewall/*-grant)
PORT=62201   # siglatchd's UDP port inside S
S4A=10.200.1.1 S6A=fd00:200:1::1 A4=10.200.1.2 A6=fd00:200:1::2
S4B=10.200.2.1 S6B=fd00:200:2::1 B4=10.200.2.2 B6=fd00:200:2::2
NSS="" NSA="" NSB="" LPID="" RPID=""

# --- cleanup: whatever happens ----------------------------------------------
ns_down() {
	local ns p
	if [ -n "$DPID" ]; then stop_daemon; fi
	[ -n "$RPID" ] && kill -KILL "$RPID" 2>/dev/null
	[ -n "$LPID" ] && kill -TERM "$LPID" 2>/dev/null
	for ns in $NSS $NSA $NSB; do
		# anything still running in our namespaces is ours
		for p in $(ip netns pids "$ns" 2>/dev/null); do
			kill -KILL "$p" 2>/dev/null
		done
		ip netns del "$ns" 2>/dev/null
	done
	[ -n "$LPID" ] && wait "$LPID" 2>/dev/null
	NSS="" NSA="" NSB="" LPID="" RPID=""
}
fw_cleanup() {
	ns_down
	cleanup
}
trap fw_cleanup EXIT
trap 'exit 1' INT TERM

# --- what we need --------------------------------------------------------------
# missing: a skip, or a failure in CI
missing() { # description
	if [ -n "${CI:-}" ]; then
		notok "$1"
	else
		ok "$1 # SKIP"
		diag "install: apt-get install nftables iptables ipset"
	fi
}
have() { command -v "$1" >/dev/null 2>&1; }
if [ ! -x "$PROBE" ]; then
	notok "$PROBE is built (make tests)"
	exit 1
fi
if ! have ip || ! ip netns add "slfw-probe-$$" 2>/dev/null; then
	missing "firewall end-to-end test needs network namespaces (ip netns)"
	exit 0
fi
ip netns del "slfw-probe-$$"

# --- helpers ---------------------------------------------------------------------
now_ms() { local t=${EPOCHREALTIME/[.,]/}; echo $((t / 1000)); }
sleep_until() { # epoch ms
	local d=$(($1 - $(now_ms)))
	[ "$d" -gt 0 ] && sleep "$((d / 1000)).$(printf '%03d' $((d % 1000)))"
	return 0
}
inS() { ip netns exec "$NSS" "$@"; }
quiet() { "$@" >/dev/null 2>&1; }

ns_up() { # round name
	local r=$1 ns
	NSS=slfw-$r-s-$$ NSA=slfw-$r-a-$$ NSB=slfw-$r-b-$$
	for ns in $NSS $NSA $NSB; do
		ip netns add "$ns" && ip -n "$ns" link set lo up || return 1
	done
	ip -n "$NSS" link add eth-a type veth peer name eth0 netns "$NSA" &&
	ip -n "$NSS" link add eth-b type veth peer name eth0 netns "$NSB" &&
	ip -n "$NSS" addr add "$S4A/24" dev eth-a &&
	ip -n "$NSS" addr add "$S6A/64" dev eth-a nodad &&
	ip -n "$NSS" addr add "$S4B/24" dev eth-b &&
	ip -n "$NSS" addr add "$S6B/64" dev eth-b nodad &&
	ip -n "$NSA" addr add "$A4/24" dev eth0 &&
	ip -n "$NSA" addr add "$A6/64" dev eth0 nodad &&
	ip -n "$NSB" addr add "$B4/24" dev eth0 &&
	ip -n "$NSB" addr add "$B6/64" dev eth0 nodad &&
	ip -n "$NSS" link set eth-a up && ip -n "$NSS" link set eth-b up &&
	ip -n "$NSA" link set eth0 up && ip -n "$NSB" link set eth0 up
}

# probe NS ADDR: a real TCP connect to ADDR port 22 from namespace NS
probe() { ip netns exec "$1" "$PROBE" connect "$2" 22 1000 >/dev/null 2>&1; }
closed() { ! probe "$@"; }
# two probes at once (a closed port costs the whole timeout): sets R1 R2
probe2() { # ns1 addr1 ns2 addr2
	local p
	probe "$1" "$2" &
	p=$!
	probe "$3" "$4"
	R2=$?
	wait "$p"
	R1=$?
}

# Seconds the kernel still keeps ADDR in its set; empty when it is not there.
left() { # addr
	local a=$1 fam=4
	case $a in *:*) fam=6 ;; esac
	if [ "$BK" = nft ]; then
		inS nft -j list set inet siglatch "granted$fam" 2>/dev/null |
		    grep -o "\"val\": \"$a\", \"timeout\": [0-9]*, \"expires\": [0-9]*" |
		    sed 's/.*: //'
	else
		inS ipset list "siglatch$fam" 2>/dev/null |
		    awk -v a="$a" '$1 == a && $2 == "timeout" { print $3 }'
	fi
}
in_set() { [ -n "$(left "$1")" ]; }
not_in_set() { [ -z "$(left "$1")" ]; }
set_elements() { # how many addresses both sets hold
	if [ "$BK" = nft ]; then
		inS nft -j list table inet siglatch | grep -o '"elem": {"val"' | wc -l
	else
		{ inS ipset list siglatch4; inS ipset list siglatch6; } |
		    grep -c ' timeout [0-9]*$'
	fi
}
# the firewall script by hand, in S, with a clean environment
script() { # grant|revoke timeout addr
	inS env -i PATH=/usr/bin:/bin ${2:+SIGLATCH_GRANT_TIMEOUT=$2} \
	    "$FW/$BK-$1" "$3"
}

load_ruleset() {
	if [ "$BK" = nft ]; then
		inS nft -c -f "$EX/nftables.conf" && inS nft -f "$EX/nftables.conf"
	else
		inS sh "$EX/ipset-iptables.sh" >/dev/null
	fi
}
ruleset() {
	if [ "$BK" = nft ]; then
		inS nft list ruleset
	else
		inS iptables -S
		inS ip6tables -S
		inS ipset list -n
	fi
}

# lines of the daemon log with this fixed string
logn() { grep -cF -- "$1" "$T/daemon.log"; }
# wait until the log has at least N lines with the string (up to S seconds)
wait_log() { # string n seconds
	local end=$(($(now_ms) + $3 * 1000))
	while [ "$(logn "$1")" -lt "$2" ]; do
		[ "$(now_ms)" -lt "$end" ] || return 1
		sleep 0.05
	done
}
# a counter of the network process (SIGUSR1 makes it log them, SL008)
counter() { # name
	local n
	n=$(logn 'SL008 received=')
	kill -USR1 "$DPID" 2>/dev/null
	wait_log 'SL008 received=' $((n + 1)) 3 || return 1
	grep -F 'SL008 received=' "$T/daemon.log" | tail -1 |
	    sed -n "s/.* $1=\([0-9]*\).*/\1/p"
}

write_fw_config() {
	mkdir -p "$T/state-$BK"
	cat >"$T/$BK.conf" <<CONF
# t_firewall.sh: round $BK
state_dir = $T/state-$BK
timestamp_window = 120
script_timeout = 10
ratelimit_source_budget = 100000
ratelimit_prefix_budget = 1000000

[server:main]
port = $PORT
secure = yes
priv_key_path = $T/keys/server.priv.pem
actions = ssh

[action:ssh]
id = 1
constructor = $FW/$BK-grant
destructor = $FW/$BK-revoke
keepalive_interval = $K
rerun_on_extend = yes

[user:alice]
id = 10
enabled = yes
hmac_file = $T/keys/alice.hmac
actions = ssh
CONF
}

# siglatchd -f in S, output appended to $T/daemon.log; waits until it listens
start_fw_daemon() {
	local n
	n=$(logn 'SL003')
	ip netns exec "$NSS" "$BIN/siglatchd" -f -c "$T/$BK.conf" \
	    >>"$T/daemon.log" 2>&1 &
	DPID=$!
	track "$DPID"
	if ! wait_log 'SL003' $((n + 1)) 10; then
		diag "siglatchd did not start:"
		tail -20 "$T/daemon.log" | sed 's/^/#   /'
		return 1
	fi
	RPID=$(netpid)
}

# A knocks: knocker, as a user would (to a server address)
knock_a() { # server-addr
	ip netns exec "$NSA" "$BIN/knocker" --port "$PORT" \
	    --server-key "$T/keys/server.pub.pem" --hmac-key "$T/keys/alice.hmac" \
	    "$1" 10 1 >/dev/null 2>&1
}
# slcraft from a namespace, with alice's keys
craft_from() { # ns server-addr slcraft-options...
	local ns=$1 host=$2
	shift 2
	ip netns exec "$ns" "$BIN/tools/slcraft" --host "$host" --port "$PORT" \
	    --server-key "$T/keys/server.pub.pem" --hmac-key "$T/keys/alice.hmac" \
	    --user 10 "$@" >/dev/null 2>&1
}

# --- one whole cycle with one backend -----------------------------------------
round() { # nft|ipset
	BK=$1
	local G="$BK-grant: " V="$BK-revoke: " t0 tg te tr l n bad before
	t0=$(now_ms)
	: >"$T/daemon.log"
	if ! ns_up "$BK"; then
		notok "$BK: the namespaces and veth pairs are set up"
		ns_down
		return
	fi

	# --- the example ruleset ---------------------------------------------
	if [ "$BK" = nft ]; then
		inS nft add table inet other '{ chain c { type filter hook input priority 10; policy accept; }; }'
	fi
	if ! load_ruleset; then
		notok "$BK: the example ruleset loads"
		ns_down
		return
	fi
	ok "$BK: the example ruleset loads in a fresh namespace"
	before=$(ruleset)
	load_ruleset
	check "$BK: loading it again changes nothing" test "$(ruleset)" = "$before"
	if [ "$BK" = nft ]; then
		check "nft: it leaves other tables alone" quiet inS nft list chain inet other c
	fi

	# --- the scripts by hand -----------------------------------------------
	bad=0
	for a in '' -1.2.3.4 10.200.1.2/32 ' 10.200.1.2' '10.200.1.2 ' 10.200.1 \
	    256.1.1.1 010.200.1.2 '10.200.1.2 }; flush ruleset' '10.200.1.2;' \
	    fe80::1%eth0 fd00::/64 1::2::3 1:2:3:4:5:6:7:8:9 12345::1 ::: 1::2:; do
		script grant 10 "$a" >/dev/null 2>&1
		[ $? -eq 2 ] || { diag "grant '$a' was not refused with 2"; bad=1; }
		script revoke 0 "$a" >/dev/null 2>&1
		[ $? -eq 2 ] || { diag "revoke '$a' was not refused with 2"; bad=1; }
	done
	for v in abc -5 '5 ' 0x10 ''; do
		inS env -i SIGLATCH_GRANT_TIMEOUT="$v" "$FW/$BK-grant" 192.0.2.7 >/dev/null 2>&1
		[ $? -eq 2 ] || { diag "SIGLATCH_GRANT_TIMEOUT '$v' was not refused with 2"; bad=1; }
	done
	check "$BK: the scripts refuse malformed addresses and timeouts (exit 2)" test "$bad" = 0
	check "$BK: ... and nothing reached the firewall" test "$(set_elements)" = 0
	check "$BK: the ruleset is intact" test "$(ruleset)" = "$before"
	script grant 10 192.0.2.7 >/dev/null
	l=$(left 192.0.2.7)
	check "$BK: grant: kernel timeout = SIGLATCH_GRANT_TIMEOUT + $GRACE s (${l:-none} s left)" \
	    test "${l:-0}" -gt $((10 + GRACE - 3)) -a "${l:-0}" -le $((10 + GRACE))
	script grant 600 192.0.2.7 >/dev/null
	l=$(left 192.0.2.7)
	check "$BK: granting again refreshes the timeout (${l:-none} s left)" \
	    test "${l:-0}" -gt $((600 + GRACE - 3)) -a "${l:-0}" -le $((600 + GRACE))
	script grant 20 192.0.2.7 >/dev/null
	l=$(left 192.0.2.7)
	check "$BK: ... also to a shorter one (${l:-none} s left)" \
	    test "${l:-0}" -gt $((20 + GRACE - 3)) -a "${l:-0}" -le $((20 + GRACE))
	script grant '' 2001:db8::7 >/dev/null
	l=$(left 2001:db8::7)
	check "$BK: without SIGLATCH_GRANT_TIMEOUT the grant lasts 300 s (${l:-none} s left)" \
	    test "${l:-0}" -gt $((300 + GRACE - 3)) -a "${l:-0}" -le $((300 + GRACE))
	check "$BK: revoke succeeds" quiet script revoke 0 192.0.2.7
	check "$BK: ... and again (idempotent)" quiet script revoke 0 192.0.2.7
	script revoke 0 2001:db8::7 >/dev/null
	check "$BK: the sets are empty again" test "$(set_elements)" = 0

	# --- siglatchd and the listener in S ---------------------------------
	inS "$PROBE" listen 22 >"$T/listen.out" 2>&1 &
	LPID=$!
	track "$LPID"
	write_fw_config
	for _ in $(seq 1 100); do
		grep -q listening "$T/listen.out" && break
		sleep 0.05
	done
	if ! grep -q listening "$T/listen.out" || ! start_fw_daemon; then
		notok "$BK: siglatchd and tcpprobe start in the server namespace"
		ns_down
		return
	fi

	# 1) nobody gets in before a knock
	probe2 "$NSA" "$S4A" "$NSB" "$S4B"
	check "$BK: before any knock, A cannot connect to port 22" test "$R1" -ne 0
	check "$BK: before any knock, B cannot connect to port 22" test "$R2" -ne 0

	# 2) a forged knock opens nothing
	n=$(logn SL201)
	craft_from "$NSA" "$S4A" --action 1 --bad-hmac
	check "$BK: a forged knock from A reaches siglatchd and is rejected (SL201)" \
	    wait_log SL201 $((n + 1)) 3
	check "$BK: ... and A still cannot connect" closed "$NSA" "$S4A"

	# 3) A's valid knock (kept for replay) opens port 22 for A only
	check "$BK: A sends a valid knock (saved for replays)" \
	    craft_from "$NSA" "$S4A" --action 1 --save "$T/a-$BK.knock"
	if wait_log "$G$A4 granted" 1 5; then
		ok "$BK: A's valid knock runs $BK-grant for $A4"
	else
		notok "$BK: A's valid knock runs $BK-grant for $A4"
	fi
	tg=$(now_ms)
	check "$BK: after the knock, A connects" probe "$NSA" "$S4A"
	l=$(left "$A4")
	check "$BK: the kernel timeout is keepalive_interval + $GRACE s (${l:-none} s left)" \
	    test "${l:-0}" -ge $((K - 1 + GRACE - 2)) -a "${l:-0}" -le $((K + GRACE))
	check "$BK: B still cannot connect" closed "$NSB" "$S4B"
	n=$(counter received)
	craft_from "$NSB" "$S4B" --send-file "$T/a-$BK.knock"
	sleep 0.3
	l=$(counter received)
	check "$BK: A's knock replayed from B reaches siglatchd (received ${n:-?} -> ${l:-?})" \
	    test "${l:-0}" -gt "${n:-0}"
	check "$BK: ... and B still cannot connect" closed "$NSB" "$S4B"
	check "$BK: ... and B is in no set" not_in_set "$B4"

	# 4) a new knock before the interval ends keeps A open past the original expiry
	sleep_until $((tg + 2000))
	te=$(now_ms)
	knock_a "$S4A"
	check "$BK: A's second knock reruns $BK-grant (extend)" wait_log "$G$A4 extended" 1 2
	sleep_until $((tg + K * 1000 + 700))
	check "$BK: A still connects $(((K * 1000 + 700) / 1000)) s after its first grant (it was extended)" \
	    probe "$NSA" "$S4A"

	# 5) no more knocks: the destructor closes it after the interval
	if wait_log "$V$A4 revoked" 1 $((K + 4)); then
		ok "$BK: without more knocks, the daemon runs $BK-revoke for A"
	else
		notok "$BK: without more knocks, the daemon runs $BK-revoke for A"
	fi
	tr=$(now_ms)
	check "$BK: ... not before the extended expiry ($((tr - te)) ms after the second knock)" \
	    test $((tr - te)) -ge $(((K - 1) * 1000))
	check "$BK: ... and A is gone from the set, long before the kernel grace ($((tr - te)) ms < $(((K + GRACE) * 1000)))" \
	    sh -c "[ -z \"\$1\" ] && [ $((tr - te)) -lt $(((K + GRACE) * 1000)) ]" _ "$(left "$A4")"
	check "$BK: A can no longer connect" closed "$NSA" "$S4A"
	n=$(logn "$G$A4")
	craft_from "$NSA" "$S4A" --send-file "$T/a-$BK.knock"
	sleep 0.3
	check "$BK: A's first knock replayed by A after the lapse: A still cannot connect" \
	    closed "$NSA" "$S4A"
	check "$BK: ... and it ran nothing" test "$(logn "$G$A4")" -eq "$n"

	# 6) the same over IPv6
	knock_a "$S6A"
	check "$BK: A's knock over IPv6 runs $BK-grant for $A6" wait_log "$G$A6 granted" 1 5
	check "$BK: A connects over IPv6" probe "$NSA" "$S6A"
	probe2 "$NSB" "$S6B" "$NSA" "$S4A"
	check "$BK: B still cannot connect over IPv6" test "$R1" -ne 0
	check "$BK: the IPv6 grant does not open IPv4 for A" test "$R2" -ne 0
	n=$(logn "$G$A4 granted")
	knock_a "$S4A"
	check "$BK: A knocks over IPv4 too: both addresses granted" \
	    wait_log "$G$A4 granted" $((n + 1)) 5
	tg=$(now_ms)
	probe2 "$NSA" "$S4A" "$NSA" "$S6A"
	check "$BK: A connects over IPv4 and IPv6" test "$R1$R2" = 00

	# 7) kill -9 while the grants are live; restart after they expired
	# the main process (the runner) first: it must not see the network
	# process go and revoke
	kill -KILL "$DPID" "$RPID" 2>/dev/null
	wait "$DPID" 2>/dev/null
	check "$BK: siglatchd and its network process are killed (-9)" wait_gone "$DPID" "$RPID"
	DPID="" RPID=""
	sleep_until $((tg + K * 1000 + 1500))
	check "$BK: with the daemon down and the grants expired, the kernel still holds both (grace)" \
	    sh -c "[ -n \"\$1\" ] && [ -n \"\$2\" ]" _ "$(left "$A4")" "$(left "$A6")"
	n=$(logn "$V$A4 revoked")
	if ! start_fw_daemon; then
		notok "$BK: siglatchd restarts"
		ns_down
		return
	fi
	check "$BK: at restart the expired IPv4 grant is revoked" wait_log "$V$A4 revoked" $((n + 1)) 5
	check "$BK: at restart the expired IPv6 grant is revoked" wait_log "$V$A6 revoked" 1 5
	check "$BK: the sets are empty, though the kernel grace has not run out" \
	    test "$(set_elements)" = 0
	probe2 "$NSA" "$S4A" "$NSA" "$S6A"
	check "$BK: A cannot connect over IPv4 after the restart" test "$R1" -ne 0
	check "$BK: A cannot connect over IPv6 after the restart" test "$R2" -ne 0
	check "$BK: B was never granted anything" \
	    test "$(grep -cF -e "$G$B4" -e "$G$B6" "$T/daemon.log")" = 0
	check "$BK: siglatchd is still running" daemon_alive
	stop_daemon
	ns_down
	diag "$BK round: $((($(now_ms) - t0) / 1000)) s"
	if [ "$NOK" -gt 0 ] || [ -n "${KEEP:-}" ]; then
		cp "$T/daemon.log" "/tmp/t_firewall.$BK.daemon.log" 2>/dev/null &&
		    diag "daemon log: /tmp/t_firewall.$BK.daemon.log"
	fi
}

# the stanzas of examples/firewall/server.conf.snippet, both variants, with
# the scripts where this tree has them
snippet_conf() { # nft|ipset
	cat <<CONF
state_dir = $T/state-snippet
[server:main]
port = $PORT
priv_key_path = $T/keys/server.priv.pem
actions = open_ssh
[user:alice]
id = 10
enabled = yes
hmac_file = $T/keys/alice.hmac
actions = open_ssh
CONF
	if [ "$1" = nft ]; then
		sed -n '/^\[action:/,/^$/p' "$EX/server.conf.snippet"
	else
		sed -n '/^# \[action:/,$s/^# //p' "$EX/server.conf.snippet"
	fi | sed "s|/usr/local/libexec/siglatch/|$FW/|"
}

snippet_ok() { # nft|ipset
	local c=$T/snippet-$1.conf
	snippet_conf "$1" >"$c"
	"$BIN/siglatchd" -t -c "$c" >/dev/null 2>&1 &&
	    grep -qx "constructor = $FW/$1-grant" "$c" &&
	    grep -qx "destructor = $FW/$1-revoke" "$c" &&
	    grep -qx "rerun_on_extend = yes" "$c"
}

setup_keys
check "server.conf.snippet (nftables) passes siglatchd -t" snippet_ok nft
check "server.conf.snippet (ipset) passes siglatchd -t" snippet_ok ipset
if have nft; then
	round nft
else
	missing "nftables round: nft is not installed"
fi
if have ipset && have iptables && have ip6tables && have iptables-restore &&
    have ip6tables-restore; then
	round ipset
else
	missing "ipset round: ipset/iptables are not installed"
fi
