#!/usr/bin/env bash
# What an administrator needs to tell failures apart: SL201 says what
# failed for format 1 (the network sees the same silence), with counters by
# reason beside the uniform one; SL204 names the action and the reason; key
# fingerprints from siglatch-keygen match what the daemon logs it loaded;
# messages that used to mislead (a public key given as the private key,
# keygen names knocker cannot send, the firewall hint's path).
. "$(dirname "$0")/lib.sh"

setup_keys
pick_port
KERNEL_FILTER=no write_config "stats_interval = 1"
start_daemon || { notok "siglatchd starts"; exit 1; }
ok "siglatchd starts and listens on port $PORT"

stat_of() { # name: from the stats file, wherever state_dir keeps it
	local f
	f=$(find "$T/state" -name siglatchd.stats 2>/dev/null | head -1)
	[ -n "$f" ] && sed -n "s/^$1=//p" "$f"
}
# wait until the stats file says name >= n
wait_stat() {
	for _ in $(seq 1 60); do
		[ "$(stat_of "$1")" -ge "$2" ] 2>/dev/null && return 0
		sleep 0.1
	done
	return 1
}
# send one datagram from a fresh socket; print how many bytes came back
# within 0.7 s (nothing, for every format-1 rejection)
send_wait() { # file
	python3 - "$1" "$PORT" <<'PY'
import socket, sys
data = open(sys.argv[1], 'rb').read()
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.settimeout(0.7)
s.sendto(data, ('127.0.0.1', int(sys.argv[2])))
try:
    print(len(s.recv(4096)))
except socket.timeout:
    print(0)
PY
}

# --- SL201 tells the reasons apart ------------------------------------------
mkdir -m 700 "$T/keys/other"
"$BIN/siglatch-keygen" server -o "$T/keys/other" >/dev/null 2>&1
check "a second server key pair is made" test -f "$T/keys/other/server.pub.pem"

n=0
for c in "decrypt|craft alice --action 1 --server-key $T/keys/other/server.pub.pem|did not decrypt with this server's key" \
	"unknown|craft alice --action 1 --user 999|unknown user id 999" \
	"disabled|craft bob --action 1|user bob (id 11) disabled" \
	"hmac|craft alice --action 1 --bad-hmac|HMAC mismatch for user alice (id 10)" \
	"version|craft alice --action 1 --version 2|bad version 2" \
	"malformed|craft alice --action 1 --plain-len 200|decrypted, but not a knock"; do
	IFS='|' read -r name cmd want <<<"$c"
	n=$((n + 1))
	# SL201 is flood-limited to 5 lines in 10 s: the sixth waits for the
	# next interval, or its line would be counted instead of written
	[ "$n" -eq 1 ] && first=$(date +%s%N)
	if [ "$n" -eq 6 ]; then
		left=$(( (first + 10500000000 - $(date +%s%N)) / 1000000 ))
		[ "$left" -gt 0 ] && sleep "$(printf '%d.%03d' $((left / 1000)) $((left % 1000)))"
	fi
	# shellcheck disable=SC2086
	if ! $cmd --out "$T/d.$name" >/dev/null 2>&1; then
		notok "$name: datagram crafted"
		continue
	fi
	got=$(send_wait "$T/d.$name")
	check "$name: nothing comes back to the sender" test "$got" = 0
	for _ in $(seq 1 40); do log_has "SL201 .*$want" && break; sleep 0.05; done
	check "$name: SL201 says '$want'" log_has "notice SL201 rejected packet from 127.0.0.1 on main: $want"
done
# (craft --user overrides the user; the last --server-key wins)
check "every rejection is one SL201 line, none at another code" \
	test "$(grep -c 'SL20[02-9]' "$T/daemon.log")" -eq 0

wait_stat rejected 6
check "the uniform counter counts them all (rejected=6)" test "$(stat_of rejected)" = 6
for r in decrypt unknown_user user_disabled hmac version malformed; do
	check "counter rejected_$r=1 beside it" test "$(stat_of "rejected_$r")" = 1
done
kill -USR1 "$DPID"
for _ in $(seq 1 40); do log_has 'SL008 .*rejected_hmac=' && break; sleep 0.05; done
check "the SL008 line carries the counters by reason" \
	log_has 'SL008 .*rejected=6 rejected_decrypt=1 rejected_malformed=1 rejected_version=1 rejected_unknown_user=1 rejected_user_disabled=1 rejected_hmac=1'

# flood-limited at notice, like before
before=$(log_count 'SL201')
craft alice --action 1 --bad-hmac --count 30 >/dev/null 2>&1
wait_stat rejected 36
sleep 0.2
after=$(log_count 'SL201')
check "a burst of 30 wrong-HMAC knocks logs at most 5 SL201 lines ($((after - before)))" \
	test $((after - before)) -le 5

# --- SL204: the action's name and the reason -------------------------------
d204() { # description craft-args want
	local d=$1 want=$3
	# shellcheck disable=SC2086
	craft alice $2 >/dev/null 2>&1
	for _ in $(seq 1 40); do log_has "SL204 .*$want" && break; sleep 0.05; done
	check "$d" log_has "SL204 user alice from 127.0.0.1: action $want"
}
d204 "SL204 names an action not in the user's list, and why" "--action 5" \
	"other not permitted on main: not in the user's actions"
d204 "SL204 names an action not offered by the server, and why" "--action 6" \
	"unlisted not permitted on main: not in the server's actions"
d204 "SL204 says when no action has the id" "--action 77" \
	"id 77 not permitted on main: no action has this id"

# --- fingerprints -------------------------------------------------------------
fp=$("$BIN/siglatch-keygen" fingerprint "$T/keys/server.pub.pem")
want="SHA256:$(openssl pkey -pubin -in "$T/keys/server.pub.pem" -outform DER |
	openssl dgst -sha256 -binary | base64 | tr -d '=')"
check "keygen fingerprint of a public key is SHA-256 of its DER SubjectPublicKeyInfo ($fp)" \
	test "$fp" = "$want"
check "... and the private key file gives the same" \
	test "$("$BIN/siglatch-keygen" fingerprint "$T/keys/server.priv.pem")" = "$fp"
check "the daemon logs the server key's fingerprint at start (SL002)" \
	log_has "SL002 server main: key $T/keys/server.priv.pem, $fp"
hfp=$("$BIN/siglatch-keygen" fingerprint "$T/keys/alice.hmac")
key=$(tr -d '\n ' <"$T/keys/alice.hmac")
check "an HMAC key's fingerprint is HMAC-SHA256:... ($hfp)" \
	sh -c "printf '%s' '$hfp' | grep -Eq '^HMAC-SHA256:[A-Za-z0-9+/]{43}$'"
plain=$(python3 -c 'import base64, hashlib, sys; print(base64.b64encode(hashlib.sha256(bytes.fromhex(sys.argv[1])).digest()).decode().rstrip("="))' "$key")
check "... and not a plain hash of the key" test "${hfp#HMAC-SHA256:}" != "$plain"
check "... nor does it show the key" sh -c "! printf '%s' '$hfp' | grep -qi '$key'"
check "two keys, two fingerprints" \
	test "$hfp" != "$("$BIN/siglatch-keygen" fingerprint "$T/keys/carol.hmac")"
check "the daemon logs each enabled user's HMAC key fingerprint (SL002)" \
	log_has "SL002 user alice (id 10): hmac_file $T/keys/alice.hmac, $hfp"
check "... and none for a disabled user" sh -c "! grep -q 'SL002 user bob' '$T/daemon.log'"
check "keygen fingerprint of a file that is no key fails" \
	sh -c "! '$BIN/siglatch-keygen' fingerprint '$T/server.conf' 2>/dev/null"
stop_daemon

# --- a public key given as priv_key_path ----------------------------------------
sed "s#^priv_key_path = .*#priv_key_path = $T/keys/server.pub.pem#" "$T/server.conf" >"$T/pub.conf"
chmod 644 "$T/keys/server.pub.pem"
out=$("$BIN/siglatchd" -t -c "$T/pub.conf" 2>&1)
check "a public key as priv_key_path: -t says it is a public key" \
	sh -c "printf '%s' \"\$1\" | grep -q 'server.pub.pem: this is a public key'" _ "$out"
check "... and not chmod 600 first" sh -c "! printf '%s' \"\$1\" | grep -q 'chmod 600'" _ "$out"

# --- keygen refuses names knocker would take for an id --------------------------
mkdir -m 700 "$T/kg"
out=$(cd "$T/kg" && "$BIN/siglatch-keygen" user 1alice --id 5 \
	--server-pub "$T/keys/server.pub.pem" --host h 2>&1)
rc=$?
check "keygen refuses the user name 1alice" sh -c "[ $rc -eq 2 ] && printf '%s' \"\$1\" | grep -q \"bad user name '1alice'\"" _ "$out"
check "... as knocker does (it takes 1alice for an id)" \
	sh -c "! '$BIN/knocker' --port $PORT --server-key '$T/keys/server.pub.pem' --hmac-key '$T/keys/alice.hmac' 127.0.0.1 1alice 1 2>/dev/null"
check "... and made no file" test -z "$(ls -A "$T/kg")"
out=$(cd "$T/kg" && "$BIN/siglatch-keygen" user alice1 --id 5 \
	--server-pub "$T/keys/server.pub.pem" --host h --action 2go=1 2>&1)
check "keygen refuses an action name starting with a digit" \
	sh -c "printf '%s' \"\$1\" | grep -q \"action '2go=1': bad name\"" _ "$out"
(cd "$T/kg" && "$BIN/siglatch-keygen" user alice1 --id 5 \
	--server-pub "$T/keys/server.pub.pem" --host h >/dev/null 2>&1)
check "keygen takes alice1" test -f "$T/kg/alice1.hmac.key"

# --- the firewall hint names the installed examples ------------------------------
if make -s -C "$TOP" install DESTDIR="$T/root" PREFIX=/opt/sl >/dev/null 2>&1; then
	g=$T/root/opt/sl/libexec/siglatch/nft-grant
	check "make install points nft-grant at the installed examples" \
		grep -qx 'EXAMPLES=/opt/sl/share/doc/siglatch/firewall' "$g"
	check "... and ipset-grant too" \
		grep -qx 'EXAMPLES=/opt/sl/share/doc/siglatch/firewall' "$T/root/opt/sl/libexec/siglatch/ipset-grant"
	check "... where nftables.conf is" test -f "$T/root/opt/sl/share/doc/siglatch/firewall/nftables.conf"
	if command -v nft >/dev/null && unshare -n true 2>/dev/null; then
		out=$(unshare -n sh "$g" 192.0.2.7 2>&1)
		check "nft-grant without the table names the installed nftables.conf" \
			sh -c "printf '%s' \"\$1\" | grep -q 'nft -f /opt/sl/share/doc/siglatch/firewall/nftables.conf'" _ "$out"
	else
		ok "nft-grant without the table # SKIP no nft or no unshare -n"
	fi
else
	notok "make install into a temporary root"
fi

[ "$NOK" -eq 0 ]
