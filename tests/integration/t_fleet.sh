#!/usr/bin/env bash
# Fleets (docs/FLEET.md): three siglatchd on loopback share one real
# redis-server, started here on a random loopback port with an ACL user
# limited to the key prefix.  A knock on one gateway runs the fleet
# action's constructor on all three within a second; the same datagram
# (format 1 and format 2) replayed to another gateway is refused and the
# log names the gateway that saw it first; a grant lapses everywhere; a
# wrong password is reported by -t and at start; with the store killed,
# on_store_down = refuse refuses and = local accepts, and once the store is
# back everything resumes without a restart; a gateway killed with -9
# while grants change catches up when it starts again.
. "$(dirname "$0")/lib.sh"

if ! command -v redis-server >/dev/null || ! command -v redis-cli >/dev/null
then
	echo "ok - fleet # SKIP redis-server or redis-cli not installed"
	exit 0
fi

setup_keys
diag "directory $T"
RPW=fleet-test-$RANDOM$RANDOM
echo "gw $RPW" >"$T/fleet.pw"
echo "gw wrong-password" >"$T/wrong.pw"
chmod 600 "$T/fleet.pw" "$T/wrong.pw"
mkdir -p "$T/redis"

pick_port
RPORT=$PORT
RPID=
start_redis() {
	redis-server --port "$RPORT" --bind 127.0.0.1 --save '' \
	    --appendonly no --dir "$T/redis" --daemonize no \
	    --user default off \
	    --user gw on ">$RPW" resetkeys '~ft:*' resetchannels -@all \
	    +set +get +xadd +xread +info +select +ping +auth +hello \
	    --user admin on ">$RPW-admin" '~*' '&*' +@all \
	    >>"$T/redis/log" 2>&1 &
	RPID=$!
	for _ in $(seq 1 100); do
		rcli PING 2>/dev/null | grep -q PONG && return 0
		sleep 0.05
	done
	return 1
}
stop_redis() {
	[ -n "$RPID" ] && kill -KILL "$RPID" 2>/dev/null && wait "$RPID" 2>/dev/null
	RPID=
}
# the test looks at the store as an administrator, not as the gateways' user
rcli() { redis-cli -p "$RPORT" --user admin --pass "$RPW-admin" --no-auth-warning "$@"; }

# grant.sh / revoke.sh DIR ...: one line per run into DIR/grants.log or
# DIR/revokes.log: "PHASE TIMEOUT IP USER NANOSECONDS ACTION"
for s in grant revoke; do
	cat >"$T/$s.sh" <<SH
#!/bin/sh
d=\$1
echo "\$SIGLATCH_PHASE \$SIGLATCH_GRANT_TIMEOUT \$2 \$4 \$(date +%s%N) \$6" >>"\$d/${s}s.log"
SH
	chmod 755 "$T/$s.sh"
done

declare -a GPORT GPID
# gw_config N [on_store_down] [password file]
gw_config() {
	local n=$1 g=$T/g$1
	mkdir -p "$g/state" "$g/runs"
	chmod 777 "$g/runs"
	[ -n "${GPORT[$n]:-}" ] || { pick_port; GPORT[$n]=$PORT; }
	cat >"$g/server.conf" <<CONF
state_dir = $g/state
timestamp_window = 120
script_timeout = 5
ratelimit_source_budget = 100000
ratelimit_prefix_budget = 1000000

[fleet]
store = redis://127.0.0.1:$RPORT/0
password_file = ${3:-$T/fleet.pw}
name = gw$n
prefix = ft:
on_store_down = ${2:-refuse}
timeout_ms = 300

[server:main]
port = ${GPORT[$n]}
bind_ip = 127.0.0.1
priv_key_path = $T/keys/server.priv.pem
actions = record, fopen, flong

[action:record]
id = 1
constructor = $BIN/tools/slaction $g/runs

[action:fopen]
id = 20
constructor = $T/grant.sh $g
destructor = $T/revoke.sh $g
keepalive_interval = 4
fleet = yes

[action:flong]
id = 21
constructor = $T/grant.sh $g
destructor = $T/revoke.sh $g
keepalive_interval = 60
fleet = yes

[user:alice]
id = 10
enabled = yes
hmac_file = $T/keys/alice.hmac
actions = record, fopen, flong
CONF
	# gw3 also listens under a second server key: the same knock sealed
	# to it is still the same knock
	[ "$n" = 3 ] && cat >>"$g/server.conf" <<CONF

[server:alt]
port = $ALTPORT
bind_ip = 127.0.0.1
priv_key_path = $T/keys/server2.priv.pem
actions = record
CONF
	return 0
}
gw_start() {
	local n=$1 g=$T/g$1
	: >"$g/daemon.log"
	"$BIN/siglatchd" -f -c "$g/server.conf" >>"$g/daemon.log" 2>&1 &
	GPID[$n]=$!
	for _ in $(seq 1 200); do
		grep -q 'SL003' "$g/daemon.log" 2>/dev/null && return 0
		sleep 0.05
	done
	diag "gateway $n did not start:"
	sed 's/^/#   /' "$g/daemon.log"
	return 1
}
gw_stop() {
	local p=${GPID[$1]:-}
	[ -n "$p" ] || return 0
	kill -TERM "$p" 2>/dev/null
	for _ in $(seq 1 100); do kill -0 "$p" 2>/dev/null || break; sleep 0.05; done
	kill -KILL "$p" 2>/dev/null
	wait "$p" 2>/dev/null
	GPID[$1]=
}
# kill -9 the gateway's processes: network, runner and fleet
gw_kill9() {
	local p=${GPID[$1]} kids
	kids=$(pgrep -P "$p"; for c in $(pgrep -P "$p"); do pgrep -P "$c"; done)
	kill -KILL "$p" $kids 2>/dev/null
	wait "$p" 2>/dev/null
	GPID[$1]=
}
fleet_cleanup() {
	for n in 1 2 3 4; do gw_stop "$n"; done
	stop_redis
	cleanup
}
trap fleet_cleanup EXIT

glog() { grep -q -- "$2" "$T/g$1/daemon.log"; }
wait_glog() { # N PATTERN [SECONDS]
	for _ in $(seq 1 $((${3:-5} * 20))); do glog "$1" "$2" && return 0; sleep 0.05; done
	return 1
}
count() { [ -f "$1" ] && grep -c -- "${2:-}" "$1" || echo 0; }
# wait_count FILE PATTERN N [SECONDS]
wait_count() {
	for _ in $(seq 1 $((${4:-5} * 20))); do
		[ "$(count "$1" "$2")" -ge "$3" ] && return 0
		sleep 0.05
	done
	return 1
}
gknock() { # N action [knocker args]
	local n=$1 a=$2
	shift 2
	"$BIN/knocker" --port "${GPORT[$n]}" --server-key "$T/keys/server.pub.pem" \
	    --hmac-key "$T/keys/alice.hmac" 127.0.0.1 10 "$a" "$@"
}
k2() { # N [k2knock args]
	local n=$1
	shift
	"$BIN/tools/k2knock" --port "${GPORT[$n]}" --server-key \
	    "$T/keys/server.pub.pem" --hmac-key "$T/keys/alice.hmac" --user 10 "$@"
}
nruns_g() { find "$T/g$1/runs" -maxdepth 1 -name 'run.*' | wc -l; }

if ! start_redis; then
	notok "redis-server starts"
	sed 's/^/#   /' "$T/redis/log"
	exit 1
fi

openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 \
    -out "$T/keys/server2.priv.pem" 2>/dev/null
openssl pkey -in "$T/keys/server2.priv.pem" -pubout \
    -out "$T/keys/server2.pub.pem" 2>/dev/null
chmod 600 "$T/keys/server2.priv.pem"
pick_port
ALTPORT=$PORT
for n in 1 2 3; do gw_config "$n"; done
gw_config 2 local

# ---- siglatchd -t ---------------------------------------------------------
out=$("$BIN/siglatchd" -t -c "$T/g1/server.conf" 2>&1)
check "-t connects and reports the store's version" \
	grep -Eq '^fleet: gateway gw1, store redis://127.0.0.1:[0-9]+/0: redis [0-9]+\.' <<<"$out"
gw_config 4 refuse "$T/wrong.pw"
out=$("$BIN/siglatchd" -t -c "$T/g4/server.conf" 2>&1)
rc=$?
check "-t with a wrong password fails, saying the store refused the password" \
	bash -c "[ $rc -ne 0 ] && grep -q 'store refused the password (WRONGPASS' <<<'$out'"
chmod 644 "$T/wrong.pw"
out=$("$BIN/siglatchd" -t -c "$T/g4/server.conf" 2>&1)
check "-t refuses a password file others may read" \
	grep -q "\[fleet\] key 'password_file': .*readable or writable by group or others" <<<"$out"
chmod 600 "$T/wrong.pw"

# ---- three gateways --------------------------------------------------------
for n in 1 2 3; do gw_start "$n" || { notok "gateway $n starts"; exit 1; }; done
for n in 1 2 3; do wait_glog "$n" "SL400 fleet: store redis://127.0.0.1:$RPORT/0 reachable" 3; done
check "all three gateways reach the store" \
	bash -c "grep -q 'SL400 fleet: store .* reachable' $T/g1/daemon.log && grep -q 'SL400 fleet: store .* reachable' $T/g2/daemon.log && grep -q 'SL400 fleet: store .* reachable' $T/g3/daemon.log"

# a knock on gw1 runs the constructor on all three within a second,
# counted from before knocker starts to the time each constructor wrote
t0=$(date +%s%N)
gknock 1 20 >/dev/null 2>&1
all=1
last=0
for n in 1 2 3; do
	if wait_count "$T/g$n/grants.log" '^grant ' 1 3; then
		t=$(awk '/^grant /{print $5; exit}' "$T/g$n/grants.log")
		[ "$t" -gt "$last" ] && last=$t
	else
		all=0
		diag "gw$n: no grant"
	fi
done
ms=$(( (last - t0) / 1000000 ))
diag "constructor ran on all three gateways at most ${ms} ms after the knock was started"
check "a knock on gw1 runs the fleet action's constructor on all three within a second" \
	bash -c "[ '$all' = 1 ] && [ '$ms' -le 1000 ]"
check "... once on each gateway (the first gateway applies its own grant once)" \
	bash -c "[ \$(grep -c '^grant ' $T/g1/grants.log) = 1 ] && [ \$(grep -c '^grant ' $T/g2/grants.log) = 1 ] && [ \$(grep -c '^grant ' $T/g3/grants.log) = 1 ]"
check "siglatchd --grants on gw2 shows that gw1 took the knock" \
	bash -c "'$BIN/siglatchd' -c '$T/g2/server.conf' --grants | grep -Eq '^live +main +alice +fopen +127\\.0\\.0\\.1 .* gw1 +0\$'"
check "siglatchd --grants on gw1 shows gw1" \
	bash -c "'$BIN/siglatchd' -c '$T/g1/server.conf' --grants | grep -Eq '^live +main +alice +fopen +127\\.0\\.0\\.1 .* gw1 +0\$'"
# the grant lapses (keepalive_interval 4) on all three
check "the grant lapses and is revoked on all three" \
	bash -c "$(declare -f count wait_count); wait_count $T/g1/revokes.log '^revoke ' 1 7 && wait_count $T/g2/revokes.log '^revoke ' 1 3 && wait_count $T/g3/revokes.log '^revoke ' 1 3"

# ---- replay across gateways ------------------------------------------------
before1=$(nruns_g 1)
before3=$(nruns_g 3)
PORT=${GPORT[1]} craft alice --action 1 --save "$T/k1.bin" >/dev/null 2>&1
for _ in $(seq 1 100); do [ "$(nruns_g 1)" -gt "$before1" ] && break; sleep 0.05; done
check "a format-1 knock runs on gw1" [ "$(nruns_g 1)" -eq $((before1 + 1)) ]
PORT=${GPORT[3]} "$BIN/tools/slcraft" --host 127.0.0.1 --port "${GPORT[3]}" --send-file "$T/k1.bin" >/dev/null 2>&1
wait_glog 3 "SL401 fleet: user alice from 127.0.0.1: replayed knock refused: gateway gw1 saw it first" 3
check "the same format-1 datagram replayed to gw3 is refused, naming gw1" \
	glog 3 "SL401 fleet: user alice from 127.0.0.1: replayed knock refused: gateway gw1 saw it first"
sleep 0.3
check "... and runs nothing there" [ "$(nruns_g 3)" -eq "$before3" ]
key=$(rcli --scan --pattern 'ft:replay:10:*' | head -1)
val=$(rcli GET "$key")
pttl=$(rcli PTTL "$key")
diag "replay key $key = $val, PTTL $pttl ms"
check "the store holds the replay key, with the first gateway's name and a TTL of 2 x timestamp_window" \
	bash -c "[ -n '$key' ] && [ '$val' = gw1 ] && [ '$pttl' -gt 230000 ] && [ '$pttl' -le 240000 ]"

# the same knock (timestamp, challenge, payload, so the same HMAC) sealed
# once under gw1's server key and once under the second key gw3 also has
ts=$(date +%s)
same() { # port public-key
	"$BIN/tools/slcraft" --host 127.0.0.1 --port "$1" --server-key "$2" \
	    --hmac-key "$T/keys/alice.hmac" --user 10 --action 1 --ts "$ts" \
	    --challenge 424242 --payload same-knock >/dev/null 2>&1
}
before1=$(nruns_g 1)
before3=$(nruns_g 3)
seen3=$(grep -c 'replayed knock refused: gateway gw1 saw it first' "$T/g3/daemon.log")
same "${GPORT[1]}" "$T/keys/server.pub.pem"
for _ in $(seq 1 100); do [ "$(nruns_g 1)" -gt "$before1" ] && break; sleep 0.05; done
check "a knock sealed under the first server key runs on gw1" [ "$(nruns_g 1)" -eq $((before1 + 1)) ]
same "$ALTPORT" "$T/keys/server2.pub.pem"
for _ in $(seq 1 60); do
	[ "$(grep -c 'replayed knock refused: gateway gw1 saw it first' "$T/g3/daemon.log")" -gt "$seen3" ] && break
	sleep 0.05
done
check "the same knock sealed under a second server key, to gw3, is refused, naming gw1" \
	[ "$(grep -c 'replayed knock refused: gateway gw1 saw it first' "$T/g3/daemon.log")" -gt "$seen3" ]
sleep 0.3
check "... and runs nothing there" [ "$(nruns_g 3)" -eq "$before3" ]

before2=$(nruns_g 2)
k2 2 --action 1 --save "$T/k2.bin" >/dev/null 2>&1
for _ in $(seq 1 100); do [ "$(nruns_g 2)" -gt "$before2" ] && break; sleep 0.05; done
check "a format-2 knock runs on gw2" [ "$(nruns_g 2)" -eq $((before2 + 1)) ]
before1=$(nruns_g 1)
"$BIN/tools/k2knock" --port "${GPORT[1]}" --send-file "$T/k2.bin" >/dev/null 2>&1
wait_glog 1 "replayed knock refused: gateway gw2 saw it first" 3
check "the same format-2 datagram replayed to gw1 is refused, naming gw2" \
	glog 1 "SL401 fleet: user alice from 127.0.0.1: replayed knock refused: gateway gw2 saw it first"
sleep 0.3
check "... and runs nothing there" [ "$(nruns_g 1)" -eq "$before1" ]

# ---- kill -9 one gateway while grants change, then restart -----------------
g1=$(count "$T/g3/grants.log" '^grant ')
r3=$(count "$T/g3/revokes.log" '^revoke ')
gknock 1 20 >/dev/null 2>&1
wait_count "$T/g3/grants.log" '^grant ' $((g1 + 1)) 2
check "a new grant reaches gw3" [ "$(count "$T/g3/grants.log" '^grant ')" -eq $((g1 + 1)) ]
gw_kill9 3
# while gw3 is down: the grant for 127.0.0.1 lapses, and gw2 takes a
# knock for 127.0.0.2
rv1=$(count "$T/g1/revokes.log" '^revoke ')
wait_count "$T/g1/revokes.log" '^revoke ' $((rv1 + 1)) 7
k2 2 --action 20 --bind 127.0.0.2 >/dev/null 2>&1
wait_count "$T/g1/grants.log" '^grant .* 127.0.0.2 ' 1 3
check "while gw3 is down, gw2's grant for 127.0.0.2 reaches gw1" \
	[ "$(count "$T/g1/grants.log" '^grant .* 127.0.0.2 ')" -eq 1 ]
gw_start 3
check "after the restart gw3 revokes the grant that lapsed while it was down" \
	wait_count "$T/g3/revokes.log" '^revoke .* 127.0.0.1 ' $((r3 + 1)) 3
check "... and catches up: it opens gw2's grant for 127.0.0.2" \
	wait_count "$T/g3/grants.log" '^grant .* 127.0.0.2 ' 1 3
check "... once" bash -c "sleep 0.5; [ \$(grep -c '^grant .* 127.0.0.2 ' $T/g3/grants.log) = 1 ]"
check "gw3 records the last stream entry it applied in state_dir/grants/fleet.last" \
	grep -Eq '^[0-9]+-[0-9]+$' "$T/g3/state/grants/fleet.last"
check "the grant for 127.0.0.2 lapses on all three" \
	bash -c "$(declare -f count wait_count); wait_count $T/g1/revokes.log '127.0.0.2' 1 6 && wait_count $T/g2/revokes.log '127.0.0.2' 1 3 && wait_count $T/g3/revokes.log '127.0.0.2' 1 3"

# ---- the store goes away ---------------------------------------------------
stop_redis
before1=$(nruns_g 1)
gknock 1 1 >/dev/null 2>&1
wait_glog 1 "SL402 fleet: store unreachable: knock of user alice from 127.0.0.1 refused (on_store_down = refuse)" 3
check "store down, on_store_down = refuse: the knock is refused, and the log says why" \
	glog 1 "SL402 fleet: store unreachable: knock of user alice from 127.0.0.1 refused (on_store_down = refuse)"
sleep 0.3
check "... and nothing runs" [ "$(nruns_g 1)" -eq "$before1" ]
check "... the outage itself is logged" glog 1 "SL402 fleet: store redis://127.0.0.1:$RPORT/0 unreachable: "
before2=$(nruns_g 2)
gknock 2 1 >/dev/null 2>&1
for _ in $(seq 1 60); do [ "$(nruns_g 2)" -gt "$before2" ] && break; sleep 0.05; done
check "store down, on_store_down = local: the knock runs" [ "$(nruns_g 2)" -eq $((before2 + 1)) ]
check "... and the log says it was accepted on the local journal alone" \
	glog 2 "SL402 fleet: store unreachable: knock of user alice from 127.0.0.1 accepted on this gateway's replay journal alone (on_store_down = local)"
# a fleet grant taken on gw2 (local) while the store is down is held
gknock 2 21 >/dev/null 2>&1
check "store down, on_store_down = local: a fleet grant opens on the gateway that took the knock" \
	wait_count "$T/g2/grants.log" '^grant .* flong$' 1 3
check "the daemons stay up while the store is down" \
	bash -c "kill -0 ${GPID[1]} && kill -0 ${GPID[2]} && kill -0 ${GPID[3]}"

start_redis || notok "redis-server starts again"
n1=$(grep -c 'SL400 fleet: store .* reachable' "$T/g1/daemon.log")
for _ in $(seq 1 140); do
	[ "$(grep -c 'SL400 fleet: store .* reachable' "$T/g1/daemon.log")" -gt "$n1" ] && break
	[ "$(grep -c 'SL400 fleet: store .* reachable' "$T/g1/daemon.log")" -ge 2 ] && break
	sleep 0.05
done
check "after the store restarts, gw1 reconnects by itself within the 5 s backoff" \
	bash -c "[ \$(grep -c 'SL400 fleet: store .* reachable' $T/g1/daemon.log) -ge 2 ]"
g2=$(count "$T/g2/grants.log" '^grant ')
g3=$(count "$T/g3/grants.log" '^grant ')
before1=$(nruns_g 1)
gknock 1 1 >/dev/null 2>&1
for _ in $(seq 1 60); do [ "$(nruns_g 1)" -gt "$before1" ] && break; sleep 0.05; done
check "knocks run again on gw1 without a restart" [ "$(nruns_g 1)" -eq $((before1 + 1)) ]
check "the grant gw2 took while the store was down reaches gw1 and gw3 once the store is back" \
	bash -c "$(declare -f count wait_count); wait_count $T/g1/grants.log '^grant .* flong\$' 1 8 && wait_count $T/g3/grants.log '^grant .* flong\$' 1 3"
check "... and gw2 says so" \
	wait_glog 2 "SL400 fleet: grant news held while the store was down: 1 published, 0 lapsed meanwhile, 0 pushed out" 3
# gw3 (on_store_down = refuse) took no knock during the outage: its first
# one afterwards runs, on a connection made again, not refused
wait_glog 3 "SL402 fleet: store redis://127.0.0.1:$RPORT/0 unreachable: " 3
for _ in $(seq 1 140); do
	[ "$(grep -c 'SL400 fleet: store .* reachable' "$T/g3/daemon.log")" -ge 2 ] && break
	sleep 0.05
done
before3=$(nruns_g 3)
gknock 3 1 >/dev/null 2>&1
for _ in $(seq 1 60); do [ "$(nruns_g 3)" -gt "$before3" ] && break; sleep 0.05; done
check "a gateway idle during the outage runs its first knock after it (refuse mode)" \
	[ "$(nruns_g 3)" -eq $((before3 + 1)) ]
gknock 1 20 >/dev/null 2>&1
check "fleet grants reach gw2 and gw3 again" \
	bash -c "$(declare -f count wait_count); wait_count $T/g2/grants.log '^grant ' $((g2 + 1)) 7 && wait_count $T/g3/grants.log '^grant ' $((g3 + 1)) 7"

# ---- a wrong password at start ---------------------------------------------
gw_start 4
wait_glog 4 "store refused the password (WRONGPASS" 3
check "a wrong password is reported at start" \
	glog 4 "SL402 fleet: store redis://127.0.0.1:$RPORT/0 unreachable: store refused the password (WRONGPASS"
gw_stop 4

# only the fleet processes talk to the store (two connections each)
# (a stream connection may still be in its backoff after the restart)
for _ in $(seq 1 120); do
	conns=$(ss -Htnp state established "( dport = :$RPORT )" 2>/dev/null)
	[ "$(grep -c . <<<"$conns")" -ge 6 ] && break
	sleep 0.05
done
diag "connections to the store: $(echo "$conns" | grep -o 'users:(("[^"]*"' | sort | uniq -c | tr '\n' ' ')"
check "only siglatchd-fleet processes are connected to the store, two for each gateway" \
	bash -c "[ \$(grep -c . <<<'$conns') -eq 6 ] && ! grep -v 'users:((\"siglatchd-fleet\"' <<<'$conns' | grep -q ."

# the fleet process dies: the gateway stops, non-zero, for the service
# manager to restart it
fp=$(pgrep -P "${GPID[1]}" -x siglatchd-fleet | head -1)
if [ -n "$fp" ] && [ "$(cat /proc/$fp/comm 2>/dev/null)" = siglatchd-fleet ]; then
	kill -KILL "$fp"
	for _ in $(seq 1 100); do kill -0 "${GPID[1]}" 2>/dev/null || break; sleep 0.05; done
	wait "${GPID[1]}" 2>/dev/null
	rc=$?
	GPID[1]=
	check "when gw1's fleet process is killed, gw1 stops with a non-zero status (rc=$rc)" \
		bash -c "[ $rc -ne 0 ] && grep -q 'the fleet process is gone: stopping' $T/g1/daemon.log"
else
	notok "gw1's fleet process is found (a child of its main process)"
fi

for n in 1 2 3; do
	check "gw$n never applied its own stream entries a second time" \
		bash -c "! grep -q 'by gateway gw$n: applying' $T/g$n/daemon.log"
done
[ "$NOK" -eq 0 ] || for n in 1 2 3; do diag "--- gw$n"; sed 's/^/#   /' "$T/g$n/daemon.log" | tail -40; done
exit $((NOK > 0))
