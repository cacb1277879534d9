#!/usr/bin/env bash
# Installing and removing siglatch.
#  1. make install into a DESTDIR puts the programs, the unit (with the
#     installed paths), the logrotate file and the directories where they
#     belong, creates no user there, and make uninstall removes exactly what
#     it installed: configuration, keys and state stay.
#  2. With SIGLATCH_TEST_PACKAGE=1 (.ci/run sets it): make deb builds the
#     Debian package (lintian without errors), apt-get installs it into this
#     machine, the installed siglatch-keygen makes the keys for a config in
#     /etc/siglatch, the installed siglatchd runs on loopback as the user
#     the package created, the installed knocker knocks and the action runs;
#     then the package is purged.
. "$(dirname "$0")/lib.sh"

B=${BUILD:-build}
D=$T/root
had_user=0
getent passwd siglatch >/dev/null && had_user=1

out=$(make -s -C "$TOP" B="$B" DESTDIR="$D" PREFIX=/usr install 2>&1)
rc=$?
check "make install DESTDIR=... PREFIX=/usr (rc $rc)" test "$rc" -eq 0
[ "$rc" -eq 0 ] || printf '%s\n' "$out" | tail -5 | sed 's/^/#   /'
for f in usr/sbin/siglatchd usr/sbin/siglatch-keygen usr/bin/knocker \
    usr/libexec/siglatch/nft-grant usr/lib/systemd/system/siglatchd.service \
    etc/logrotate.d/siglatch usr/share/doc/siglatch/fail2ban/filter.d/siglatch.conf; do
	check "installed $f" test -f "$D/$f"
done
mode() { stat -c %a "$1" 2>/dev/null; }
check "/etc/siglatch is 0700" test "$(mode "$D/etc/siglatch")" = 700
check "/etc/siglatch/keys is 0700" test "$(mode "$D/etc/siglatch/keys")" = 700
check "/var/lib/siglatch is 0755, root's" sh -c "[ \"\$(stat -c '%a %u' '$D/var/lib/siglatch')\" = '755 0' ]"
U=$D/usr/lib/systemd/system/siglatchd.service
check "the installed unit starts /usr/sbin/siglatchd" grep -qx 'ExecStart=/usr/sbin/siglatchd -f -c /etc/siglatch/server.conf' "$U"
check "... and names no /usr/local path" sh -c "! grep -q /usr/local '$U'"
check "no user created with DESTDIR set" test "$(getent passwd siglatch >/dev/null && echo 1 || echo 0)" -eq "$had_user"

# what the administrator adds, which uninstall must keep
echo "# mine" >"$D/etc/siglatch/server.conf"
echo k >"$D/etc/siglatch/keys/alice.hmac.key"
echo s >"$D/var/lib/siglatch/replay.journal"
echo l >"$D/var/log/siglatch/siglatch.log"
out=$(make -s -C "$TOP" B="$B" DESTDIR="$D" PREFIX=/usr uninstall 2>&1)
rc=$?
check "make uninstall (rc $rc)" test "$rc" -eq 0
left=$(cd "$D" && find . ! -type d | sort | tr '\n' ' ')
check "uninstall left only the config, keys, state and log: $left" test "$left" = \
    "./etc/siglatch/keys/alice.hmac.key ./etc/siglatch/server.conf ./var/lib/siglatch/replay.journal ./var/log/siglatch/siglatch.log "
check "... and removed the directories it made" sh -c "[ ! -e '$D/usr/share/doc/siglatch' ] && [ ! -e '$D/usr/libexec/siglatch' ]"
rm -f "$D/etc/siglatch/server.conf" "$D/etc/siglatch/keys/alice.hmac.key" \
    "$D/var/lib/siglatch/replay.journal" "$D/var/log/siglatch/siglatch.log"
make -s -C "$TOP" B="$B" DESTDIR="$D" PREFIX=/usr uninstall >/dev/null 2>&1
check "a second uninstall removes the emptied directories" sh -c "[ ! -e '$D/etc/siglatch' ] && [ ! -e '$D/var/lib/siglatch' ] && [ ! -e '$D/var/log/siglatch' ]"

if [ "${SIGLATCH_TEST_PACKAGE:-0}" != 1 ]; then
	echo "ok - the Debian package # SKIP set SIGLATCH_TEST_PACKAGE=1 (installs it into this machine)"
	exit "$((NOK > 0))"
fi
if [ "$B" != build ]; then
	echo "ok - the Debian package # SKIP built and installed once, in the plain run (BUILD=$B)"
	exit "$((NOK > 0))"
fi
for t in dpkg-buildpackage dh lintian apt-get; do
	if ! command -v "$t" >/dev/null 2>&1; then
		notok "the Debian package: $t missing (scripts/packages.txt)"
		exit 1
	fi
done
# never over an installation that is not this test's
if [ -e /etc/siglatch ] || { [ -e /usr/sbin/siglatchd ] && ! dpkg -S /usr/sbin/siglatchd >/dev/null 2>&1; }; then
	echo "ok - the Debian package # SKIP /etc/siglatch or /usr/sbin/siglatchd already here"
	exit "$((NOK > 0))"
fi

out=$(cd "$TOP" && nice make deb 2>&1)
rc=$?
check "make deb (rc $rc)" test "$rc" -eq 0
lint=$(printf '%s\n' "$out" | grep -E '^[EWI]: ')
[ -n "$lint" ] && printf '%s\n' "$lint" | sed 's/^/# lintian: /'
check "lintian: no errors" sh -c "! printf '%s\n' \"\$1\" | grep -q '^E: '" _ "$lint"
DEB=$(ls "$TOP"/build/deb/siglatch_*_*.deb 2>/dev/null | head -1)
if [ "$rc" -ne 0 ] || [ -z "$DEB" ]; then
	printf '%s\n' "$out" | tail -20 | sed 's/^/#   /'
	exit 1
fi

PKGDAEMON=
purge() {
	if [ -n "$PKGDAEMON" ] && kill -0 "$PKGDAEMON" 2>/dev/null; then
		kill -TERM "$PKGDAEMON"
		wait "$PKGDAEMON" 2>/dev/null
	fi
	PKGDAEMON=
	DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=120 \
	    purge -y -q siglatch >"$T/purge.log" 2>&1
}
trap 'purge; [ "$had_user" -eq 1 ] || userdel siglatch 2>/dev/null; cleanup' EXIT

out=$(DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=120 \
    install -y -q --no-install-recommends "$DEB" 2>&1)
rc=$?
check "apt-get install $(basename "$DEB") (rc $rc)" test "$rc" -eq 0
[ "$rc" -eq 0 ] || { printf '%s\n' "$out" | tail -20 | sed 's/^/#   /'; exit 1; }
if [ "$had_user" -eq 0 ]; then
	check "the package created the system user siglatch" sh -c "getent passwd siglatch | grep -q ':/var/lib/siglatch:/usr/sbin/nologin$'"
else
	diag "the user siglatch was here before: postinst kept it"
fi
check "the user siglatch is a system user (uid below 1000)" sh -c "[ \"\$(id -u siglatch)\" -lt 1000 ]"
check "the unit is in /lib/systemd/system" grep -qx 'ExecStart=/usr/sbin/siglatchd -f -c /etc/siglatch/server.conf' /lib/systemd/system/siglatchd.service
if command -v systemd-analyze >/dev/null 2>&1; then
	vout=$(systemd-analyze verify /lib/systemd/system/siglatchd.service 2>&1 | grep -v "man siglatchd(8)\|Documentation=man:")
	check "systemd-analyze verify: the installed unit" test -z "$vout"
	[ -z "$vout" ] || printf '%s\n' "$vout" | sed 's/^/#   /'
fi
check "/etc/logrotate.d/siglatch is a conffile" sh -c "dpkg-query -W -f='\${Conffiles}' siglatch | grep -q /etc/logrotate.d/siglatch"
check "/etc/siglatch is 0700" test "$(mode /etc/siglatch)" = 700

# keys and a config made with the installed programs
/usr/sbin/siglatch-keygen server -o /etc/siglatch >"$T/keygen.out" 2>&1
check "siglatch-keygen server" test -f /etc/siglatch/server.priv.pem
/usr/sbin/siglatch-keygen user alice --id 7 --server-pub /etc/siglatch/server.pub.pem \
    --host 127.0.0.1 --key-dir /etc/siglatch/keys --bundle "$T/bundle" \
    --action touch=3 >"$T/stanza" 2>"$T/keygen.err"
check "siglatch-keygen user: a bundle and a [user:alice] section" grep -q '^\[user:alice\]' "$T/stanza"
pick_port
mkdir -p "$T/ran"
chmod 777 "$T/ran"
cat >"$T/touch.sh" <<EOF
#!/bin/sh
echo "\$@" >"$T/ran/touched"
EOF
chmod 755 "$T/touch.sh"
cat >/etc/siglatch/server.conf <<EOF
log_file = /var/log/siglatch/siglatch.log
state_dir = /var/lib/siglatch
run_as = siglatch

[server:main]
port = $PORT
bind_ip = 127.0.0.1
priv_key_path = /etc/siglatch/server.priv.pem
actions = touch

[action:touch]
id = 3
constructor = $T/touch.sh
run_as = nobody

EOF
cat "$T/stanza" >>/etc/siglatch/server.conf
chmod 600 /etc/siglatch/server.conf
out=$(/usr/sbin/siglatchd -t -c /etc/siglatch/server.conf 2>&1)
check "installed siglatchd -t: configuration OK" sh -c "printf '%s' \"\$1\" | grep -q 'configuration OK'" _ "$out"
[ -n "$out" ] && printf '%s\n' "$out" | sed 's/^/# -t: /'
/usr/sbin/siglatchd -f -c /etc/siglatch/server.conf >"$T/pkg.log" 2>&1 &
PKGDAEMON=$!
for _ in $(seq 1 200); do
	grep -q SL003 "$T/pkg.log" && break
	kill -0 "$PKGDAEMON" 2>/dev/null || break
	sleep 0.05
done
check "installed siglatchd listens" grep -q "SL003.*127.0.0.1:$PORT" "$T/pkg.log"
check "... its network process runs as siglatch" grep -q "(network process [0-9]*, uid $(id -u siglatch), in /var/lib/siglatch/net)" "$T/pkg.log"
mkdir -p "$T/cfg/siglatch/127.0.0.1"
cp "$T/bundle/"* "$T/cfg/siglatch/127.0.0.1/"
XDG_CONFIG_HOME=$T/cfg /usr/bin/knocker -p "$PORT" 127.0.0.1 alice touch hello >"$T/knock.out" 2>&1
check "installed knocker sent the knock" test $? -eq 0
for _ in $(seq 1 100); do
	[ -s "$T/ran/touched" ] && break
	sleep 0.05
done
check "the action ran" test -s "$T/ran/touched"
check "... for alice, from 127.0.0.1" grep -q '^127.0.0.1 7 alice 3 touch' "$T/ran/touched"
if [ "$NOK" -gt 0 ]; then
	sed 's/^/# daemon: /' "$T/pkg.log" | tail -20
	sed 's/^/# knocker: /' "$T/knock.out"
fi

purge
check "purged: the programs are gone" test ! -e /usr/sbin/siglatchd
check "purged: /etc/siglatch, /var/lib/siglatch and /var/log/siglatch are gone" \
    sh -c "[ ! -e /etc/siglatch ] && [ ! -e /var/lib/siglatch ] && [ ! -e /var/log/siglatch ]"
check "purged: dpkg knows no siglatch" sh -c "! dpkg -s siglatch >/dev/null 2>&1"

# make install without DESTDIR (every path under $T) creates the user,
# where there was none before this test
if [ "$had_user" -eq 0 ]; then
	userdel siglatch 2>/dev/null
	P=$T/sys
	make -s -C "$TOP" B="$B" PREFIX="$P/usr" SYSCONFDIR="$P/etc" \
	    STATEDIR="$P/var/lib/siglatch" LOGDIR="$P/var/log/siglatch" install >"$T/mi.out" 2>&1
	check "make install (no DESTDIR) created the system user siglatch" \
	    sh -c "getent passwd siglatch | grep -q ':$P/var/lib/siglatch:/usr/sbin/nologin$'"
	check "... a system user (uid below 1000)" sh -c "[ \"\$(id -u siglatch)\" -lt 1000 ]"
	make -s -C "$TOP" B="$B" PREFIX="$P/usr" SYSCONFDIR="$P/etc" \
	    STATEDIR="$P/var/lib/siglatch" LOGDIR="$P/var/log/siglatch" uninstall >/dev/null 2>&1
	check "... and uninstall left nothing under that root" test -z "$(find "$P" ! -type d)"
	userdel siglatch 2>/dev/null
fi
exit "$((NOK > 0))"
