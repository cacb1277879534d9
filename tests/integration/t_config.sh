#!/usr/bin/env bash
# siglatchd -t: the siglatch 1.0 sample configuration loads; broken
# configurations are refused with file, line and key, before anything listens;
# files the configuration trusts are checked for owner and mode (as root).
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

# StrictModes: the configuration, the key files and the action scripts must
# belong to root (or to the user running siglatchd) and be writable by
# neither group nor others, and so must the directories above them (a
# sticky one such as /tmp excepted).  Each refusal names the file, exits
# non-zero, and comes before anything listens.
strict_modes() {
P=$T/perm
mkdir -m 755 "$P" "$P/scripts" "$P/keys"
cat >"$P/open.sh" <<'SH'
#!/bin/sh
exit 0
SH
chmod 755 "$P/open.sh"
cp "$P/open.sh" "$P/close.sh"
cp "$T/keys/alice.hmac" "$P/keys/u.hmac"
chmod 600 "$P/keys/u.hmac"
perm_conf() { # constructor [destructor]
	printf '%s\n' "log_file = $T/x.log" "state_dir = $T/state" \
	    "[server:s]" "port = $PORT" "priv_key_path = $T/keys/server.priv.pem" \
	    "actions = a" "[action:a]" "id = 1" "constructor = $1" \
	    ${2:+"destructor = $2" "keepalive_interval = 60"} \
	    "[user:u]" "id = 1" "enabled = yes" "hmac_file = $P/keys/u.hmac" \
	    "actions = a"
}
# refused "description" file-to-test grep-pattern: -t must fail naming it
refused() {
	local d=$1 f=$2 want=$3 out rc
	out=$("$BIN/siglatchd" -t -c "$f" 2>&1)
	rc=$?
	if [ "$rc" -ne 0 ] && printf '%s' "$out" | grep -q -- "$want" &&
	    ! printf '%s' "$out" | grep -q 'configuration OK'; then
		ok "$d"
	else
		notok "$d (rc=$rc, wanted '$want', got: $out)"
	fi
}
accepted() {
	local d=$1 f=$2 out rc
	out=$("$BIN/siglatchd" -t -c "$f" 2>&1)
	rc=$?
	if [ "$rc" -eq 0 ]; then ok "$d"; else notok "$d (rc=$rc: $out)"; fi
}
C=$P/server.conf
perm_conf "$P/open.sh" >"$C"
chmod 644 "$C"
accepted "a root-owned 0644 config in 0755 directories under sticky /tmp passes -t" "$C"

chmod 666 "$C"
chown nobody "$C"
refused "a world-writable config owned by nobody is refused" "$C" "$C: owned by uid $(id -u nobody)"
out=$(timeout 5 "$BIN/siglatchd" -f -c "$C" 2>&1)
rc=$?
check "... and stops the daemon before it listens" sh -c "[ $rc -ne 0 ] && ! printf '%s' \"\$1\" | grep -q SL003" _ "$out"
chown root "$C"
refused "a world-writable config is refused, with the fix" "$C" "$C: writable by group or others (mode 0666); fix with: chmod go-w $C"
chmod 664 "$C"
refused "a group-writable config is refused" "$C" "$C: writable by group or others"
chmod 644 "$C"
chown nobody "$C"
refused "a config owned by another user is refused" "$C" "$C: owned by uid $(id -u nobody), not by root; fix with: chown root $C"
chown root "$C"
ln -s "$C" "$T/link.conf"
chmod 646 "$C"
refused "a config reached through a symbolic link is checked where it is" "$T/link.conf" "$T/link.conf ($C): writable by group or others"
chmod 644 "$C"
chmod 777 "$P"
refused "a config in a directory others may write is refused" "$C" "$C: directory $P is writable by group or others (mode 0777); fix with: chmod go-w $P"
chmod 1777 "$P"
accepted "... but a sticky one, like /tmp, is fine" "$C"
chmod 755 "$P"
chown nobody "$P"
refused "a config in a directory another user owns is refused" "$C" "directory $P is owned by uid $(id -u nobody)"
chown root "$P"

# keys: the owner of the file, the directories above it
chown nobody "$P/keys/u.hmac"
refused "an HMAC key owned by another user is refused" "$C" "\[user:u\] key 'hmac_file': $P/keys/u.hmac: owned by uid $(id -u nobody)"
chown root "$P/keys/u.hmac"
chmod 777 "$P/keys"
refused "an HMAC key in a directory others may write is refused" "$C" "\[user:u\] key 'hmac_file': $P/keys/u.hmac: directory $P/keys is writable"
chmod 755 "$P/keys"
cp "$T/keys/server.priv.pem" "$P/keys/server.pem"
chmod 600 "$P/keys/server.pem"
chown nobody "$P/keys/server.pem"
sed "s#^priv_key_path = .*#priv_key_path = $P/keys/server.pem#" "$C" >"$P/k.conf"
refused "a private key owned by another user is refused" "$P/k.conf" "key 'priv_key_path': $P/keys/server.pem: owned by uid $(id -u nobody)"
rm -f "$P/keys/server.pem" "$P/k.conf"

# scripts: the program, an interpreter's script, a destructor
chmod 775 "$P/open.sh"
refused "a group-writable constructor is refused, naming the config line" "$C" "$C:9: \[action:a\] key 'constructor': $P/open.sh: writable by group or others (mode 0775)"
chmod 755 "$P/open.sh"
chown nobody "$P/open.sh"
refused "a constructor owned by another user is refused" "$C" "key 'constructor': $P/open.sh: owned by uid $(id -u nobody)"
chown root "$P/open.sh"
mv "$P/open.sh" "$P/scripts/open.sh"
perm_conf "$P/scripts/open.sh arg" >"$C"
chmod 757 "$P/scripts"
refused "a constructor in a directory others may write is refused" "$C" "key 'constructor': $P/scripts/open.sh: directory $P/scripts is writable"
chmod 755 "$P/scripts"
accepted "a constructor with an argument (exec_split) checks only the program" "$C"
printf '#!/bin/sh\n' >"$P/scripts/x.sh"
chmod 666 "$P/scripts/x.sh"
perm_conf "/bin/sh $P/scripts/x.sh" >"$C"
refused "the script an interpreter is given is checked too" "$C" "key 'constructor': $P/scripts/x.sh: writable by group or others"
chmod 644 "$P/scripts/x.sh"
accepted "... and passes when it is safe" "$C"
chmod 666 "$P/close.sh"
perm_conf "$P/scripts/open.sh" "$P/close.sh" >"$C"
refused "a world-writable destructor is refused" "$C" "$C:10: \[action:a\] key 'destructor': $P/close.sh: writable"
chmod 755 "$P/close.sh"
accepted "... and accepted once fixed" "$C"
perm_conf "$P/scripts/missing.sh" >"$C"
out=$("$BIN/siglatchd" -t -c "$C" 2>&1)
rc=$?
check "a constructor that does not exist yet, where only root can create it, passes with a warning" \
	sh -c "[ $rc -eq 0 ] && printf '%s' \"\$1\" | grep -q 'SL005.*missing.sh does not exist'" _ "$out"
mkdir -m 1777 "$P/pub"
perm_conf "$P/pub/missing.sh" >"$C"
refused "one that does not exist where anyone could create it is refused" "$C" "$P/pub/missing.sh: does not exist, and group or others may create it in $P/pub"

# -t checks that each script can be run by its run_as user, as the runner
# will start it: x on the program and on every directory on the way (the
# example notify action under a 0700 /etc/siglatch never could)
mkdir -m 700 "$P/private"
cp "$P/close.sh" "$P/private/notify.sh"
chmod 755 "$P/private/notify.sh"
ra_conf() { # constructor run_as
	perm_conf "$1" | sed "s#^constructor = .*#&\nrun_as = $2#"
}
ra_conf "$P/private/notify.sh" nobody >"$C"
refused "a script its run_as user cannot reach (0700 directory) is refused by -t" "$C" \
	"$C:9: \[action:a\] key 'constructor': run_as nobody (uid $(id -u nobody)) cannot execute $P/private/notify.sh: Permission denied"
chmod 755 "$P/private"
accepted "... and passes once the directory lets it through" "$C"
chmod 744 "$P/private/notify.sh"
refused "a script without x for its run_as user is refused by -t" "$C" "run_as nobody (uid $(id -u nobody)) cannot execute $P/private/notify.sh"
chmod 755 "$P/private/notify.sh"
printf 'exit 0\n' >"$P/private/body.sh"
chmod 600 "$P/private/body.sh"
ra_conf "/bin/sh $P/private/body.sh" nobody >"$C"
refused "the script an interpreter is given must be readable by run_as" "$C" "run_as nobody (uid $(id -u nobody)) cannot read $P/private/body.sh"
chmod 644 "$P/private/body.sh"
accepted "... and passes once it is" "$C"
ra_conf "$P/private/notify.sh" no-such-user-xyz >"$C"
refused "an unknown run_as user is refused by -t" "$C" "key 'run_as': no user 'no-such-user-xyz'"
}
if [ "$(id -u)" -eq 0 ]; then
	strict_modes
else
	ok "owner and mode checks need root (chown) # SKIP"
fi

# -t checks state_dir as the start will need it
sd_conf() { printf '%s\n' "$base" | sed "s#^state_dir = .*#state_dir = $1#"; }
sd_conf "$T/nope/deeper/state" >"$T/sd.conf"
out=$("$BIN/siglatchd" -t -c "$T/sd.conf" 2>&1)
rc=$?
check "-t refuses a state_dir whose parent does not exist, naming it" \
	sh -c "[ $rc -ne 0 ] && printf '%s' \"\$1\" | grep -q 'its parent $T/nope/deeper does not exist'" _ "$out"
mkdir -m 755 "$T/open"
chmod 777 "$T/open"
sd_conf "$T/open/state" >"$T/sd.conf"
out=$("$BIN/siglatchd" -t -c "$T/sd.conf" 2>&1)
rc=$?
check "-t refuses a state_dir in a world-writable parent" \
	sh -c "[ $rc -ne 0 ] && printf '%s' \"\$1\" | grep -q 'its parent $T/open is writable by others (mode 0777)'" _ "$out"
chmod 755 "$T/open"
out=$("$BIN/siglatchd" -t -c "$T/sd.conf" 2>&1)
rc=$?
check "... and passes once the parent is safe (state_dir made at start)" test "$rc" -eq 0
mkdir -m 700 "$T/open/state"
chmod 777 "$T/open/state"
out=$("$BIN/siglatchd" -t -c "$T/sd.conf" 2>&1)
rc=$?
check "-t refuses a world-writable state_dir, with the fix" \
	sh -c "[ $rc -ne 0 ] && printf '%s' \"\$1\" | grep -q 'writable by others (mode 0777); fix with: chmod 700'" _ "$out"

# ... and the files it opens for writing
printf '%s\n' "$base" | sed "s#^log_file = .*#log_file = $T/no-dir/x.log#" >"$T/lf2.conf"
out=$("$BIN/siglatchd" -t -c "$T/lf2.conf" 2>&1)
rc=$?
check "-t refuses a log_file in a directory that does not exist" \
	sh -c "[ $rc -ne 0 ] && printf '%s' \"\$1\" | grep -q \"key 'log_file': directory $T/no-dir: No such file\"" _ "$out"
printf '%s\n' "$base" | sed "s#^port = .*#&\nlog_file = $T#" >"$T/lf3.conf"
out=$("$BIN/siglatchd" -t -c "$T/lf3.conf" 2>&1)
rc=$?
check "-t refuses a server's log_file that is a directory" \
	sh -c "[ $rc -ne 0 ] && printf '%s' \"\$1\" | grep -q \"\[server:s\] key 'log_file': $T: not a regular file\"" _ "$out"

# -t warns about disabled users and about actions no one may run
{ printf '%s\n' "$base"
  printf '%s\n' "[action:lonely]" "id = 2" "constructor = /bin/true" \
      "[action:nowhere]" "id = 3" "constructor = /bin/true" \
      "[user:off]" "id = 2" "enabled = no" "actions = nowhere" \
      "[user:v]" "id = 3" "enabled = yes" "hmac_file = $T/keys/bob.hmac" \
      "actions = nowhere"
} >"$T/warn.conf"
out=$("$BIN/siglatchd" -t -c "$T/warn.conf" 2>&1)
rc=$?
check "-t passes a config with a disabled user" test "$rc" -eq 0
check "... warning about the disabled user, with its line" \
	sh -c "printf '%s' \"\$1\" | grep -q 'SL005 $T/warn.conf:[0-9]*: \[user:off\]: disabled (enabled = no)'" _ "$out"
check "... warning about an action no enabled user may run" \
	sh -c "printf '%s' \"\$1\" | grep -q 'SL005 .*\[action:lonely\]: no enabled user may run it'" _ "$out"
check "... and about one no server offers" \
	sh -c "printf '%s' \"\$1\" | grep -q 'SL005 .*\[action:nowhere\]: no enabled server offers it'" _ "$out"
check "... and not about an action a user may run" \
	sh -c "! printf '%s' \"\$1\" | grep -q '\[action:a\]: no'" _ "$out"

# log_format and metrics_file are checked like every key
printf '%s\n' "log_format = xml" "$base" >"$T/lf.conf"
out=$("$BIN/siglatchd" -t -c "$T/lf.conf" 2>&1)
check "log_format other than text or json is refused, with file and line" \
	sh -c "printf '%s' \"\$1\" | grep -q \"$T/lf.conf:1: key 'log_format': 'xml': expected text or json\"" _ "$out"
printf '%s\n' "metrics_file = $T/no-such-dir/siglatchd.prom" "$base" >"$T/mf.conf"
out=$("$BIN/siglatchd" -t -c "$T/mf.conf" 2>&1)
rc=$?
check "-t refuses a metrics_file in a directory that does not exist" \
	sh -c "[ $rc -ne 0 ] && printf '%s' \"\$1\" | grep -q \"key 'metrics_file': directory $T/no-such-dir\"" _ "$out"

out=$("$BIN/siglatchd" -t -c "$T/does-not-exist.conf" 2>&1)
rc=$?
check "a missing config file is refused, named" sh -c "[ $rc -ne 0 ] && printf '%s' \"\$1\" | grep -q does-not-exist.conf" _ "$out"
check "--version prints the version" sh -c "'$BIN/siglatchd' --version | grep -q '^siglatchd [0-9]'"
check "--help prints usage" sh -c "'$BIN/siglatchd' --help | grep -q -- '-t'"
