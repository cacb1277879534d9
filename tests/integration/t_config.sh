#!/usr/bin/env bash
# siglatchd -t: the siglatch 1.0 sample configuration loads; broken
# configurations are refused with file, line and key, before anything listens.
. "$(dirname "$0")/lib.sh"

setup_keys
pick_port
hexkey >"$T/keys/root.hmac"
chmod 600 "$T/keys/root.hmac"
sed -e "s#/etc/siglatch/server_priv.pem#$T/keys/server.priv.pem#" \
    -e "s#/etc/siglatch/keys/root.hmac.key#$T/keys/root.hmac#" \
    -e "s#/tmp/siglatch.log#$T/sample.log#" \
    "$VEC/server.conf.1.0-sample" >"$T/sample.conf"
out=$("$BIN/siglatchd" -t -c "$T/sample.conf" 2>&1)
rc=$?
check "the 1.0 sample config (adapted paths) passes -t" test "$rc" -eq 0
check "-t prints 'configuration OK'" sh -c "printf '%s' '$out' | grep -qx 'configuration OK'"
check "its [deaddrop:*] sections are reported as ignored" sh -c "printf '%s' '$out' | grep -q 'deaddrop'"

# key permissions: refused at -t and at start, naming the file and the fix
chmod 640 "$T/keys/root.hmac"
out=$("$BIN/siglatchd" -t -c "$T/sample.conf" 2>&1)
rc=$?
check "a group-readable HMAC key is refused" test "$rc" -ne 0
check "... naming the file and the fix" sh -c "printf '%s' \"\$1\" | grep -q '$T/keys/root.hmac.*chmod 600'" _ "$out"
chmod 600 "$T/keys/root.hmac"
chmod 644 "$T/keys/server.priv.pem"
out=$("$BIN/siglatchd" -f -c "$T/sample.conf" 2>&1)
rc=$?
check "a world-readable private key stops the daemon before it listens" sh -c "[ $rc -ne 0 ] && ! printf '%s' \"\$1\" | grep -q SL003" _ "$out"
chmod 600 "$T/keys/server.priv.pem"

# broken configurations: each must name file:line and the key
base="log_file = $T/x.log
state_dir = $T/state
[server:s]
port = $PORT
priv_key_path = $T/keys/server.priv.pem
actions = a
[action:a]
id = 1
constructor = /bin/true
[user:u]
id = 1
enabled = yes
hmac_file = $T/keys/alice.hmac
actions = a"
i=0
while IFS='|' read -r desc sed_expr want; do
	[ -z "$desc" ] && continue
	i=$((i + 1))
	f="$T/bad$i.conf"
	printf '%s\n' "$base" | sed -e "$sed_expr" >"$f"
	out=$("$BIN/siglatchd" -t -c "$f" 2>&1)
	rc=$?
	want=${want//FILE/$f}
	if [ "$rc" -ne 0 ] && printf '%s' "$out" | grep -qF -- "$want"; then
		ok "broken config refused: $desc"
	else
		notok "broken config refused: $desc (rc=$rc, wanted '$want', got: $out)"
	fi
done <<'CASES'
port out of range|s/^port = .*/port = 70000/|FILE:4: [server:s] key 'port'
port not a number|s/^port = .*/port = 5x/|FILE:4: [server:s] key 'port'
unknown key|s/^id = 1$/id = 1\nbogus = 1/|key 'bogus'
unknown section|s/^\[action:a\]/[frobnicate:a]/|FILE:7
timestamp_window too big|1s/^/timestamp_window = 3601\n/|FILE:1: key 'timestamp_window'
timestamp_window zero|1s/^/timestamp_window = 0\n/|key 'timestamp_window'
max_scripts zero|1s/^/max_scripts = 0\n/|key 'max_scripts'
script_timeout zero|1s/^/script_timeout = 0\n/|key 'script_timeout'
bad boolean|s/^enabled = yes/enabled = perhaps/|FILE:12: [user:u] key 'enabled'
unknown action in a user list|s/^actions = a$/actions = a, nope/|nope
secure = no refused|s/^port = \(.*\)/port = \1\nsecure = no/|secure
bad allowed_ips|s/^id = 1$/id = 1\nallowed_ips = 10.0.0.0\/33/|key 'allowed_ips'
bad bind_ip|s/^port = \(.*\)/port = \1\nbind_ip = 1.2.3/|key 'bind_ip'
duplicate action id|$s/$/\n[action:b]\nid = 1\nconstructor = \/bin\/true/|key 'id'
missing hmac file|s#^hmac_file = .*#hmac_file = /nonexistent/k#|/nonexistent/k
CASES

out=$("$BIN/siglatchd" -t -c "$T/does-not-exist.conf" 2>&1)
rc=$?
check "a missing config file is refused, named" sh -c "[ $rc -ne 0 ] && printf '%s' \"\$1\" | grep -q does-not-exist.conf" _ "$out"
check "--version prints the version" sh -c "'$BIN/siglatchd' --version | grep -q '^siglatchd [0-9]'"
check "--help prints usage" sh -c "'$BIN/siglatchd' --help | grep -q -- '-t'"
