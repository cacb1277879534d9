#!/usr/bin/env bash
# Timed grants on loopback, with recording scripts in place of a firewall
# (t_firewall.sh does it with nftables and ipset between namespaces): a
# grant is made when the constructor succeeds, extended by a knock before
# it lapses, revoked by the destructor when it lapses, a failed destructor
# is retried, grants survive kill -9 and a clean restart, revoke_on_exit
# revokes them all, grant_max_lifetime caps them, max_grants bounds them,
# and IPv4 and IPv6 sources get grants of their own.
. "$(dirname "$0")/lib.sh"

setup_keys
pick_port

# grant.sh / revoke.sh log "PHASE TIMEOUT [arg]..." one line per run;
# revoke.sh fails while $T/fail exists.
cat >"$T/grant.sh" <<'SH'
#!/bin/sh
d=$(dirname "$0")
line="$SIGLATCH_PHASE $SIGLATCH_GRANT_TIMEOUT"
for a in "$@"; do line="$line [$a]"; done
echo "$line" >>"$d/grants.log"
echo "granted $1"
SH
cat >"$T/revoke.sh" <<'SH'
#!/bin/sh
d=$(dirname "$0")
line="$SIGLATCH_PHASE $SIGLATCH_GRANT_TIMEOUT"
for a in "$@"; do line="$line [$a]"; done
echo "$line" >>"$d/revokes.log"
if [ -e "$d/fail" ]; then echo "cannot revoke $1" >&2; exit 1; fi
echo "revoked $1"
SH
chmod 755 "$T/grant.sh" "$T/revoke.sh"

# config with a timed action "open" (id 20): extra top-level lines in $1
grant_config() {
	write_config "$1"
	cat >>"$T/server.conf" <<CONF

[action:open]
id = 20
constructor = $T/grant.sh
destructor = $T/revoke.sh
keepalive_interval = ${INTERVAL:-2}
rerun_on_extend = yes
CONF
	sed -i 's/^actions = record, ascii_only, strip, hang, other, vec42, vec200$/&, open/' "$T/server.conf"
	sed -i '0,/^actions = record, ascii_only, strip, hang, unlisted$/s//&, open/' "$T/server.conf"
}

lines() { [ -f "$1" ] && grep -c -- "${2:-}" "$1" || echo 0; }
# wait_lines FILE N [SECONDS]: until FILE has at least N lines
wait_lines() {
	local i
	for i in $(seq 1 $((${3:-5} * 20))); do
		[ "$(lines "$1")" -ge "$2" ] && return 0
		sleep 0.05
	done
	: "$i"
	return 1
}
# wait_log PATTERN [SECONDS]
wait_log() {
	local i
	for i in $(seq 1 $((${2:-5} * 20))); do
		log_has "$1" && return 0
		sleep 0.05
	done
	: "$i"
	return 1
}
kill9() {
	local r
	r=$(netpid)
	kill -KILL "$DPID" 2>/dev/null
	[ -n "$r" ] && kill -KILL "$r" 2>/dev/null
	wait "$DPID" 2>/dev/null
	DPID=
	[ -n "$r" ] && wait_gone "$r"
}
b64() { printf '%s' "$1" | base64 | tr -d '\n'; }

grant_config ""
start_daemon || { notok "siglatchd starts"; exit 1; }

# ---- make, extend, lapse ----------------------------------------------
t0=$(date +%s%N)
knock alice 20 "hello" >/dev/null
wait_lines "$T/grants.log" 1
check "a knock for a timed action runs the constructor (phase grant, 1.0 argv)" \
	grep -qxF "grant 2 [127.0.0.1] [10] [alice] [20] [open] [1] [$(b64 hello)]" "$T/grants.log"
wait_log "SL107.*grant open for user alice from 127.0.0.1: open for 2 s"
check "the grant is logged with its lifetime" \
	log_has "grant open for user alice from 127.0.0.1: open for 2 s"
check "siglatchd --grants lists it as live" \
	bash -c "'$BIN/siglatchd' -c '$T/server.conf' --grants | grep -E '^live +main +alice +open +127\\.0\\.0\\.1 '"
check "the grants file is 0600 in a 0700 directory of the runner's user" \
	test "$(stat -c '%a %u' "$T/state/grants")" = "700 $(id -u)" -a \
	"$(stat -c '%a' "$T/state/grants/grants")" = 600

sleep 1
knock alice 20 "again" >/dev/null
wait_lines "$T/grants.log" 2
check "a knock before it lapses extends it and, with rerun_on_extend, runs the constructor again (phase extend)" \
	grep -qxF "extend 2 [127.0.0.1] [10] [alice] [20] [open] [1] [$(b64 again)]" "$T/grants.log"
check "the extension is logged" log_has "grant open for user alice from 127.0.0.1 extended"
# the first grant would have lapsed 2 s after t0; the extension holds it
while [ $(( ($(date +%s%N) - t0) / 1000000 )) -lt 2500 ]; do sleep 0.05; done
check "past the original expiry, the extended grant is still live (no destructor yet)" \
	test "$(lines "$T/revokes.log")" -eq 0
wait_lines "$T/revokes.log" 1 3
el=$(( ($(date +%s%N) - t0) / 1000000 ))
check "with no more knocks the destructor runs when it lapses (${el} ms after the first knock; due at ~3000)" \
	test "$el" -ge 2900 -a "$el" -lt 4500
check "the destructor gets the 1.0 argv with an empty payload (phase revoke)" \
	grep -qxF "revoke 0 [127.0.0.1] [10] [alice] [20] [open] [1] []" "$T/revokes.log"
wait_log "grant open for user alice from 127.0.0.1 revoked"
check "siglatchd --grants shows no grant afterwards" \
	bash -c "'$BIN/siglatchd' -c '$T/server.conf' --grants | grep -qx '0 grant(s)'"

# ---- IPv6 and per-source grants -----------------------------------------
knock alice 20 >/dev/null
HOST=::1 knock alice 20 >/dev/null
wait_lines "$T/grants.log" 4
check "an IPv6 source gets a grant of its own" \
	grep -qF "grant 2 [::1] [10] [alice] [20] [open] [1] []" "$T/grants.log"
check "both grants are listed" \
	bash -c "'$BIN/siglatchd' -c '$T/server.conf' --grants | grep -qx '2 grant(s)'"
wait_lines "$T/revokes.log" 3 4
check "both are revoked when they lapse" \
	grep -qxF "revoke 0 [::1] [10] [alice] [20] [open] [1] []" "$T/revokes.log"

# ---- a failing destructor is retried -------------------------------------
r0=$(lines "$T/revokes.log")
v0=$(lines "$T/daemon.log" "from 127.0.0.1 revoked")
touch "$T/fail"
knock alice 20 >/dev/null
wait_lines "$T/revokes.log" $((r0 + 1)) 5
wait_log "destructor failed (attempt 1); retry in 5 s"
check "a destructor that fails is logged with its retry" \
	log_has "SL108.*destructor failed (attempt 1); retry in 5 s"
check "siglatchd --grants shows it still owed, with its failed attempts" \
	bash -c "'$BIN/siglatchd' -c '$T/server.conf' --grants | grep -E '^revoke +main +alice +open +127\\.0\\.0\\.1 .* 1\$'"
rm -f "$T/fail"
wait_lines "$T/revokes.log" $((r0 + 2)) 8
sleep 0.3
check "it is retried after the backoff and then succeeds" \
	test "$(lines "$T/daemon.log" "grant open for user alice from 127.0.0.1 revoked")" -eq $((v0 + 1))
check "nothing is left afterwards" \
	bash -c "'$BIN/siglatchd' -c '$T/server.conf' --grants | grep -qx '0 grant(s)'"

# ---- kill -9 while live, restart past expiry ------------------------------
g0=$(lines "$T/grants.log")
r0=$(lines "$T/revokes.log")
knock alice 20 >/dev/null
wait_lines "$T/grants.log" $((g0 + 1))
wait_log "open for 2 s" 2
kill9
sleep 2.5
check "nothing revoked it while the daemon was dead" test "$(lines "$T/revokes.log")" -eq "$r0"
start_daemon || notok "siglatchd restarts after kill -9"
wait_lines "$T/revokes.log" $((r0 + 1)) 3
check "after kill -9 and a restart past its expiry, the grant is revoked at once" \
	test "$(lines "$T/revokes.log")" -eq $((r0 + 1))
check "the start says one grant lapsed while stopped" \
	wait_log "SL009.*0 live, 1 to revoke now (1 lapsed while stopped)"

# ---- a clean stop keeps live grants; the restart reschedules them ---------
r0=$(lines "$T/revokes.log")
g0=$(lines "$T/grants.log")
knock alice 20 >/dev/null
wait_lines "$T/grants.log" $((g0 + 1))
wait_log "open for 2 s" 2
stop_daemon
check "a clean stop keeps the grant (revoke_on_exit = no)" \
	test "$(lines "$T/revokes.log")" -eq "$r0"
check "and says so" log_has "1 grant(s) kept for the next start"
start_daemon || notok "siglatchd restarts"
check "the restart finds it live" wait_log "SL009.*1 live, 0 to revoke now"
wait_lines "$T/revokes.log" $((r0 + 1)) 4
check "and revokes it when it lapses" test "$(lines "$T/revokes.log")" -eq $((r0 + 1))
stop_daemon

# ---- revoke_on_exit, max_grants -----------------------------------------
# keepalive_interval 60 above grant_max_lifetime 30: the grant, and what
# the constructor is told, is 30 s
INTERVAL=60 grant_config "revoke_on_exit = yes
max_grants = 1
grant_max_lifetime = 30"
start_daemon || notok "siglatchd starts with revoke_on_exit"
r0=$(lines "$T/revokes.log")
g0=$(lines "$T/grants.log")
knock alice 20 >/dev/null
wait_lines "$T/grants.log" $((g0 + 1))
check "a keepalive_interval above grant_max_lifetime: the constructor is told the capped length" \
	test "$(tail -1 "$T/grants.log" | cut -d' ' -f1-2)" = "grant 30"
HOST=::1 knock alice 20 >/dev/null
wait_log "SL109" 3
check "max_grants bounds the table: a grant beyond it is refused and logged" \
	log_has "SL109.*grant open for user alice from ::1 refused: the grant table is full"
check "and its constructor never ran" test "$(lines "$T/grants.log")" -eq $((g0 + 1))
stop_daemon
check "revoke_on_exit = yes: the stop revokes the grant before it lapses, and says so" \
	log_has "grant open for user alice from 127.0.0.1: revoking 30 s before it lapses"
check "revoke_on_exit = yes: a clean stop runs the destructor of every live grant" \
	test "$(lines "$T/revokes.log" "\[127.0.0.1\]")" -ge 1 -a \
	"$(lines "$T/revokes.log")" -eq $((r0 + 1))
check "nothing is left on disk after it" \
	bash -c "'$BIN/siglatchd' -c '$T/server.conf' --grants | grep -qx '0 grant(s)'"

# ---- grant_max_lifetime caps extensions ------------------------------------
INTERVAL=2 grant_config "grant_max_lifetime = 3"
start_daemon || notok "siglatchd starts with grant_max_lifetime"
r0=$(lines "$T/revokes.log")
t0=$(date +%s%N)
knock alice 20 >/dev/null
sleep 1.2
knock alice 20 >/dev/null
sleep 1.2
knock alice 20 >/dev/null
wait_log "not extended: grant_max_lifetime (3 s) reached" 2
check "a knock past the cap does not extend the grant, and says so" \
	log_has "not extended: grant_max_lifetime (3 s) reached"
wait_lines "$T/revokes.log" $((r0 + 1)) 3
el=$(( ($(date +%s%N) - t0) / 1000000 ))
check "the grant ends at grant_max_lifetime (${el} ms; due at ~3000)" \
	test "$el" -ge 2900 -a "$el" -lt 4300
stop_daemon

# ---- configuration --------------------------------------------------------
cat >"$T/warn.conf" <<CONF
priv_key_path = $T/keys/server.priv.pem
[server:s]
actions = a
[action:a]
id = 1
constructor = /bin/true
destructor = /bin/true
CONF
check "a destructor without keepalive_interval is accepted with a warning naming file and line" \
	bash -c "'$BIN/siglatchd' -t -c '$T/warn.conf' 2>&1 | grep -qF \"$T/warn.conf:7: [action:a] key 'destructor': never runs, keepalive_interval is 0\""
chmod 755 "$T/state/grants"
out=$("$BIN/siglatchd" -f -c "$T/server.conf" 2>&1)
rc=$?
check "a grants directory others may enter stops siglatchd before it listens, with the fix in the message (rc=$rc)" \
	bash -c "[ $rc -ne 0 ] && printf '%s' \"\$1\" | grep -q 'chmod 700'" _ "$out"
chmod 700 "$T/state/grants"

exit $((NOK > 0))
