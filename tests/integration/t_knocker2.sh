#!/usr/bin/env bash
# knocker's format 2 against k2responder (tests/tools/k2responder.c), a
# stand-in server that checks and opens each knock, records its fields and
# answers with the receipt it is told to: what the datagram carries and
# which address it names, --save, the receipt outcomes and their exit
# statuses, resends, the format chosen from the bundle's formats file, and
# siglatch-keygen --formats.  The daemon's own format-2 path and receipts
# are tested elsewhere.
. "$(dirname "$0")/lib.sh"

setup_keys
R=$BIN/tools/k2responder
K=$BIN/siglatch-keygen
export HOME=$T/home
unset XDG_CONFIG_HOME
mkdir -p "$HOME/.config/siglatch"

# knocker with alice's keys (user 10): kn [options] HOST USER ACTION [PAYLOAD]
kn() {
	"$BIN/knocker" --server-key "$T/keys/server.pub.pem" \
	    --hmac-key "$T/keys/alice.hmac" "$@"
}
field() { sed -n "s/^$2=//p" "$1"; }
hexof() { printf '%s' "$1" | od -An -tx1 -v | tr -d ' \n'; }
# open a saved datagram: opened FILE -> fields in FILE.txt
opened() {
	"$R" --check "$1" --server-key "$T/keys/server.priv.pem" \
	    --hmac-key "${RKEY:-$T/keys/alice.hmac}" --out "$1.txt" 2>>"$T/responder.log"
}

# The responder in the background on a free port (RPORT, RPID).
rstart() {
	rm -f "$T/rport" "$T/rout"
	"$R" --server-key "$T/keys/server.priv.pem" \
	    --hmac-key "${RKEY:-$T/keys/alice.hmac}" --port-file "$T/rport" \
	    --out "$T/rout" "$@" 2>>"$T/responder.log" &
	RPID=$!
	track "$RPID"
	for _ in $(seq 1 100); do
		[ -s "$T/rport" ] && break
		sleep 0.05
	done
	RPORT=$(cat "$T/rport" 2>/dev/null)
	[ -n "$RPORT" ]
}
rwait() { wait "$RPID"; RSTATUS=$?; RPID=; }
rkill() {
	[ -n "$RPID" ] && kill "$RPID" 2>/dev/null
	[ -n "$RPID" ] && wait "$RPID" 2>/dev/null
	RPID=
}

# --- what a format-2 knock carries --------------------------------------------
out=$(kn --format 2 -n --save "$T/k1" 127.0.0.1 10 1 hello)
check "--format 2 --dry-run --save writes a 559-byte datagram" test "$(stat -c %s "$T/k1")" = 559
check "... a new file, mode 0600" test "$(stat -c %a "$T/k1")" = 600
check "... which the server key and alice's key open" opened "$T/k1"
check "... user 10, action 1, payload 'hello'" sh -c "[ '$(field "$T/k1.txt" user_id)' = 10 ] && [ '$(field "$T/k1.txt" action_id)' = 1 ] && [ '$(field "$T/k1.txt" payload_hex)' = '$(hexof hello)' ]"
check "... naming the loopback address by default" test "$(field "$T/k1.txt" address)" = 127.0.0.1
check "... asking for no receipt without --wait" test "$(field "$T/k1.txt" receipt)" = no
check "... the fields the dry run printed are the saved datagram's" sh -c "printf '%s\n' \"\$1\" | grep -qx 'nonce=$(field "$T/k1.txt" nonce)' && printf '%s\n' \"\$1\" | grep -qx 'datagram_len=559' && printf '%s\n' \"\$1\" | grep -qx 'format=2'" _ "$out"
now=$(date +%s)
ts=$(field "$T/k1.txt" timestamp)
check "... with the current time" test $((ts - now)) -le 1 -a $((now - ts)) -le 5

kn --format 2 -n --allow-ip 198.51.100.7 --save "$T/k2" 127.0.0.1 10 2 >/dev/null
check "--allow-ip names the address given" sh -c "'$R' --check '$T/k2' --server-key '$T/keys/server.priv.pem' --hmac-key '$T/keys/alice.hmac' | grep -qx 'address=198.51.100.7'"
kn --format 2 -n --allow-ip ::ffff:198.51.100.7 --save "$T/k3" 127.0.0.1 10 2 >/dev/null
opened "$T/k3"
check "--allow-ip with a v4-mapped IPv6 address names it as IPv4" test "$(field "$T/k3.txt" address)" = 198.51.100.7
kn --format 2 -n --allow-ip 2001:db8::5 --save "$T/k4" 127.0.0.1 10 2 >/dev/null
opened "$T/k4"
check "--allow-ip names an IPv6 address" test "$(field "$T/k4.txt" address)" = 2001:db8::5
kn --format 2 -n --no-address --save "$T/k5" no-such-host.invalid 10 2 >/dev/null
rc=$?
opened "$T/k5"
check "--no-address names none (and a dry run then needs no HOST lookup)" sh -c "[ $rc = 0 ] && [ '$(field "$T/k5.txt" address)' = none ]"
kn --format 2 -n --wait --save "$T/k6" 127.0.0.1 10 2 >/dev/null
opened "$T/k6"
check "--wait sets the receipt flag" test "$(field "$T/k6.txt" receipt)" = yes
big=$(head -c 199 /dev/zero | tr '\0' 'y')
kn --format 2 -n --save "$T/k7" 127.0.0.1 10 2 "$big" >/dev/null
opened "$T/k7"
check "a 199-byte payload is carried whole" test "$(field "$T/k7.txt" payload_len)" = 199
printf 'from stdin' | kn --format 2 -n --stdin --save "$T/k8" 127.0.0.1 10 2 >/dev/null
opened "$T/k8"
check "--stdin works for format 2" test "$(field "$T/k8.txt" payload_hex)" = "$(hexof 'from stdin')"
if ip -6 addr show dev lo 2>/dev/null | grep -q '::1'; then
	kn --format 2 -n --save "$T/k9" ::1 10 2 >/dev/null
	opened "$T/k9"
	check "knocking ::1 names ::1" test "$(field "$T/k9.txt" address)" = ::1
else
	ok "# SKIP knocking ::1 names ::1 (no IPv6 loopback)"
fi

# --- --save ---------------------------------------------------------------------
kn --format 1 -n --save "$T/v1" 127.0.0.1 10 1 hi >/dev/null
check "--save with format 1 writes the 256-byte datagram" test "$(stat -c %s "$T/v1")" = 256
kn --format 2 -n --save "$T/k1" 127.0.0.1 10 1 again >/dev/null
opened "$T/k1"
check "--save replaces an existing file" test "$(field "$T/k1.txt" payload_hex)" = "$(hexof again)"
ln -s "$T/save-target" "$T/save-link"
check "--save never writes through a symlink" sh -c "! '$BIN/knocker' --server-key '$T/keys/server.pub.pem' --hmac-key '$T/keys/alice.hmac' --format 2 -n --save '$T/save-link' 127.0.0.1 10 1 >/dev/null 2>&1 && [ ! -e '$T/save-target' ]"

# --- usage errors: exit 2 -----------------------------------------------------------
usage() { # description expected-text knocker-options...
	local d=$1 want=$2 o rc
	shift 2
	o=$(kn "$@" 2>&1 </dev/null)
	rc=$?
	if [ "$rc" -ne 2 ]; then
		notok "$d (exit $rc: $o)"
	elif ! printf '%s' "$o" | grep -q -- "$want"; then
		notok "$d (message: $o)"
	else
		ok "$d"
	fi
}
usage "--allow-ip with --format 1 is refused" "format 1 cannot carry it" --format 1 --allow-ip 192.0.2.1 -n 127.0.0.1 10 1
usage "--wait with --format 1 is refused" "format 1 cannot carry it" --format 1 --wait -n 127.0.0.1 10 1
usage "--allow-ip with --no-address is refused" "not both" --allow-ip 192.0.2.1 --no-address -n 127.0.0.1 10 1
usage "a bad --allow-ip is refused" "not an IPv4 or IPv6" --format 2 --allow-ip 192.0.2.0/24 -n 127.0.0.1 10 1
usage "--wait=0 is refused" "1-300" --format 2 --wait=0 -n 127.0.0.1 10 1
usage "--wait=301 is refused" "1-300" --format 2 --wait=301 -n 127.0.0.1 10 1
usage "--format 3 is refused" "1 or 2" --format 3 -n 127.0.0.1 10 1
check "--help lists the exit statuses" sh -c "'$BIN/knocker' --help | grep -Eq '6 +no receipt'"

# --- receipts: one line and one exit status per outcome -------------------------------
outcome() { # description exit text responder-options...
	local d=$1 want=$2 text=$3 o rc
	shift 3
	if ! rstart --timeout 10 "$@"; then
		notok "$d (responder did not start)"
		return
	fi
	o=$(kn --format 2 --wait=5 --port "$RPORT" 127.0.0.1 10 1 hi 2>&1)
	rc=$?
	rwait
	if [ "$rc" -ne "$want" ]; then
		notok "$d (exit $rc, want $want: $o)"
	elif ! printf '%s\n' "$o" | grep -qx -- "knocker: $text"; then
		notok "$d (output: $o)"
	elif [ "$RSTATUS" -ne 0 ] || [ "$(field "$T/rout" answered)" != 1 ]; then
		notok "$d (responder exit $RSTATUS)"
	else
		ok "$d"
	fi
}
outcome "done with a grant: exit 0" 0 "done: access granted for 300 s" --status done --value 300
outcome "done without a grant: exit 0" 0 "done: the action ran" --status done --value 0
outcome "the action failed: exit 3" 3 "the action failed (exit status 3)" --status failed --value 3
outcome "the action was killed: exit 3" 3 "the action failed (killed by signal 9)" --status failed --value 265
outcome "refused, not permitted: exit 4" 4 "refused by the server: not permitted" --status refused --reason 1
outcome "refused, payload: exit 4" 4 "refused by the server: payload refused" --status refused --reason 2
outcome "server busy: exit 5" 5 "server busy, try again" --status busy
outcome "datagrams that are not the receipt are ignored" 0 "done: access granted for 60 s" --status done --value 60 --junk
outcome "a server clock 100 s ahead is reported" 0 "note: the server's clock is 100 s ahead of this machine's" --status done --value 1 --clock-offset 100
outcome "a server clock 100 s behind is reported" 0 "note: the server's clock is 100 s behind this machine's" --status done --value 1 --clock-offset -100
rstart --timeout 10 --status done --value 1 --clock-offset 20
o=$(kn --format 2 --wait=5 --port "$RPORT" 127.0.0.1 10 1 hi 2>&1)
rwait
check "a clock 20 s off is not reported" sh -c "! printf '%s' \"\$1\" | grep -q clock" _ "$o"

# no receipt: exit 6 at the deadline, after one resend
rstart --timeout 10 --status none
t0=$(date +%s%N)
o=$(kn --format 2 --wait=2 --port "$RPORT" 127.0.0.1 10 1 hi 2>&1)
rc=$?
t1=$(date +%s%N)
ms=$(((t1 - t0) / 1000000))
check "no receipt: exit 6" test "$rc" = 6
check "... at the deadline (2 s; took $ms ms)" test "$ms" -ge 1900 -a "$ms" -lt 3500
check "... saying so" sh -c "printf '%s' \"\$1\" | grep -q 'knocker: no receipt within 2 s (the knock may still have worked'" _ "$o"
check "... after sending the same datagram again at 1 s (2 copies)" sh -c "[ '$(field "$T/rout" copies)' = 2 ] && [ '$(field "$T/rout" different)' = 0 ]"
rkill

# a resend that is answered; nothing more is sent after the receipt
rstart --timeout 15 --status done --value 30 --answer-copy 2 --linger 2500
t0=$(date +%s%N)
o=$(kn --format 2 --wait=5 --port "$RPORT" 127.0.0.1 10 1 hi 2>&1)
rc=$?
t1=$(date +%s%N)
ms=$(((t1 - t0) / 1000000))
rwait
check "a receipt for the resent copy is taken: exit 0" sh -c "[ $rc = 0 ] && printf '%s' \"\$1\" | grep -qx 'knocker: done: access granted for 30 s'" _ "$o"
check "... the copy came at about 1 s ($ms ms)" test "$ms" -ge 900 -a "$ms" -lt 2500
check "... the same datagram, and no copy after the receipt" sh -c "[ $RSTATUS = 0 ] && [ '$(field "$T/rout" copies)' = 2 ] && [ '$(field "$T/rout" different)' = 0 ]"

rstart --timeout 15 --status done --value 30 --answer-copy 3 --linger 500
o=$(kn --format 2 --wait=5 --port "$RPORT" 127.0.0.1 10 1 hi 2>&1)
rc=$?
rwait
check "resends go at 1 s and 2 s: the third copy is answered" sh -c "[ $rc = 0 ] && [ '$(field "$T/rout" copies)' = 3 ]"

# without --wait: sent once, no receipt asked for, exit 0 at once
rstart --timeout 3 --status done
kn --format 2 --port "$RPORT" 127.0.0.1 10 1 hi
rc=$?
rwait
check "without --wait: exit 0, one copy, no receipt asked or sent" sh -c "[ $rc = 0 ] && [ '$(field "$T/rout" copies)' = 1 ] && [ '$(field "$T/rout" receipt)' = no ] && [ '$(field "$T/rout" answered)' = 0 ]"
check "... the knock the server saw names its source" sh -c "[ '$(field "$T/rout" address)' = '$(field "$T/rout" source)' ] && [ '$(field "$T/rout" source)' = 127.0.0.1 ]"

if ip -6 addr show dev lo 2>/dev/null | grep -q '::1'; then
	rstart --timeout 10 --bind ::1 --status refused --reason 1
	o=$(kn --format 2 --wait=3 --port "$RPORT" ::1 10 1 hi 2>&1)
	rc=$?
	rwait
	check "over IPv6: exit 4, the knock names ::1" sh -c "[ $rc = 4 ] && [ '$(field "$T/rout" address)' = ::1 ]"
else
	ok "# SKIP receipts over IPv6 (no IPv6 loopback)"
fi

# --- the format from the bundle ---------------------------------------------------------
D=$HOME/.config/siglatch/127.0.0.1
stanza=$("$K" user erin --id 30 --server-pub "$T/keys/server.pub.pem" --host 127.0.0.1 \
	--key-dir "$T/keys" --bundle "$D" --action record=1 2>/dev/null)
check "keygen writes the bundle's formats file: 1,2 by default" test "$(cat "$D/formats")" = 1,2
check "... mode 0644" test "$(stat -c %a "$D/formats")" = 644
check "... and the stanza hint mentions format2" sh -c "printf '%s' \"\$1\" | grep -q '^# .*format2 = yes'" _ "$stanza"
bundle_format() { "$BIN/knocker" -n 127.0.0.1 erin record "$@" 2>/dev/null | sed -n 's/^datagram_len=//p'; }
check "a bundle listing 2 gives format 2" test "$(bundle_format)" = 559
check "... unless --format 1" test "$(bundle_format --format 1)" = 256
printf '1\n' >"$D/formats"
check "a bundle listing 1 only gives format 1" test "$(bundle_format)" = 256
check "... and --wait then says to add --format 2 (exit 2)" sh -c "'$BIN/knocker' -n --wait 127.0.0.1 erin record 2>&1; [ \$? = 2 ]"
check "... with the hint" sh -c "'$BIN/knocker' -n --wait 127.0.0.1 erin record 2>&1 | grep -q 'add --format 2'"
printf '# formats\n2\n' >"$D/formats"
check "a bundle listing 2 only gives format 2" test "$(bundle_format)" = 559
printf 'two\n' >"$D/formats"
check "a malformed formats file is an error naming it (exit 1)" sh -c "'$BIN/knocker' -n 127.0.0.1 erin record 2>&1 | grep -q '$D/formats:1'; '$BIN/knocker' -n 127.0.0.1 erin record >/dev/null 2>&1; [ \$? = 1 ]"
rm "$D/formats"
check "a bundle without a formats file (siglatch 1.0) gives format 1" test "$(bundle_format)" = 256
check "... where --allow-ip is a usage error (exit 2)" sh -c "'$BIN/knocker' -n --allow-ip 192.0.2.1 127.0.0.1 erin record >/dev/null 2>&1; [ \$? = 2 ]"
printf '1,2\n' >"$D/formats"
RKEY=$T/keys/erin.hmac.key rstart --timeout 10 --status done --value 120
o=$("$BIN/knocker" --wait --port "$RPORT" 127.0.0.1 erin record "by name" 2>&1)
rc=$?
rwait
check "the bundle's names and keys knock format 2 with --wait: exit 0" sh -c "[ $rc = 0 ] && [ '$(field "$T/rout" user_id)' = 30 ] && [ '$(field "$T/rout" action_id)' = 1 ] && [ '$(field "$T/rout" payload_hex)' = '$(hexof 'by name')' ]"

# --- keygen --formats ----------------------------------------------------------------
mkdir -m 700 "$T/gen"
s1=$("$K" user f1 --id 41 --server-pub "$T/keys/server.pub.pem" --host h --key-dir "$T/gen" --bundle "$T/gen/f1" --formats 1 2>/dev/null)
check "keygen --formats 1 writes 1" test "$(cat "$T/gen/f1/formats")" = 1
check "... and the hint names format1, not format2" sh -c "printf '%s' \"\$1\" | grep -q 'format1 = yes' && ! printf '%s' \"\$1\" | grep -q format2" _ "$s1"
"$K" user f2 --id 42 --server-pub "$T/keys/server.pub.pem" --host h --key-dir "$T/gen" --bundle "$T/gen/f2" --formats 2 >/dev/null 2>&1
check "keygen --formats 2 writes 2" test "$(cat "$T/gen/f2/formats")" = 2
"$K" user f3 --id 43 --server-pub "$T/keys/server.pub.pem" --host h --key-dir "$T/gen" --bundle "$T/gen/f3" --formats 2,1 >/dev/null 2>&1
check "keygen --formats 2,1 writes 1,2" test "$(cat "$T/gen/f3/formats")" = 1,2
"$K" user f4 --id 44 --server-pub "$T/keys/server.pub.pem" --host h --key-dir "$T/gen" --bundle "$T/gen/f4" --formats 3 >/dev/null 2>&1
rc=$?
check "keygen --formats 3 is a usage error that writes nothing" sh -c "[ $rc = 2 ] && [ ! -e '$T/gen/f4' ] && [ ! -e '$T/gen/f4.hmac.key' ]"
rkill
