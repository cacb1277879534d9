#!/usr/bin/env bash
# README.md's Quick start, pasted: the shell lines between
# <!-- quickstart-server --> and <!-- /quickstart-server --> (on the
# server, as root, in the source tree) and between <!-- quickstart-client -->
# and <!-- /quickstart-client --> (on the user's machine) are run with
# bash -e, in a temporary root instead of /, then a knock must run the action.
#
# What is changed in those lines, and nothing else:
#   - make install: DESTDIR is $R (in the environment), so the programs land
#     in $R/usr/local/{bin,sbin}, which go first in PATH;
#   - the absolute paths /etc/siglatch, /var/lib/siglatch and /root become
#     $R/etc/siglatch, $R/var/lib/siglatch and $R/root;
#   - the server's name gw.example.org becomes 127.0.0.1, "port = 50000"
#     becomes a free port with "bind_ip = 127.0.0.1", and knocker gets
#     --port for it;
#   - "siglatchd -c FILE" (which daemonizes) gets -f and runs in the
#     background with its log in a file, so that the test can stop it;
#   - HOME is $R/home/alice for the client lines (their ~).
# $R starts with what a fresh Debian 12 has there: root, var/lib, home/alice.
#
# Then: make demo (examples/demo.sh) prints the [user:...] section after
# keygen's "add this to the server config:".
. "$(dirname "$0")/lib.sh"

README=${README:-$TOP/README.md}
R=$T/r
mkdir -p "$R/var/lib" "$R/home/alice"
install -d -m 0700 "$R/root"
chmod 755 "$R" "$R/var" "$R/var/lib" "$R/home"
pick_port
: >"$T/daemon.log"

# The lines of one marked block, without the code fences.
block() {
	sed -n "/^<!-- $1 -->\$/,/^<!-- \\/$1 -->\$/p" "$README" |
	    grep -v -e '^<!--' -e '^```'
}
rewrite() {
	sed -e "s#/etc/siglatch#$R/etc/siglatch#g" \
	    -e "s#/var/lib/siglatch#$R/var/lib/siglatch#g" \
	    -e "s#/root/#$R/root/#g" -e "s#/root\$#$R/root#" \
	    -e "s#gw\\.example\\.org#127.0.0.1#g" \
	    -e "s#^port = 50000\$#port = $PORT\\nbind_ip = 127.0.0.1#" \
	    -e "s#^\\(\\s*\\)knocker #\\1knocker --port $PORT #" \
	    -e "s#^siglatchd -c \\([^ ]*\\).*#siglatchd -f -c \\1 >\"$T/daemon.log\" 2>\\&1 \\& echo \$! >\"$T/daemon.pid\"#"
}

block quickstart-server >"$T/server.sh"
block quickstart-client >"$T/client.sh"
check "README.md has a quickstart-server block" test -s "$T/server.sh"
check "README.md has a quickstart-client block" test -s "$T/client.sh"
check "the server block starts siglatchd (siglatchd -c ...)" \
    grep -q '^siglatchd -c ' "$T/server.sh"
rewrite <"$T/server.sh" >"$T/server.run"
rewrite <"$T/client.sh" >"$T/client.run"

# Nothing outside the temporary root may be written: every absolute path
# left after the rewrite must be under $T, or one that is only read or
# named (programs, the PREFIX in a comment).  A new path in the Quick start
# belongs in the rewrite above, or here if it is only read.
outside=$(cat "$T/server.run" "$T/client.run" |
    grep -oE "(^|[ =>'\"])/[A-Za-z0-9_.+/-]*" | sed "s/^[ =>'\"]//" |
    grep -v -e "^$T/" -e '^/bin/[a-z]*$' -e '^/usr/bin/[a-z]*$' \
    -e '^/usr/local$' -e '^/usr/local/libexec/siglatch/[a-z-]*$' | sort -u)
if [ -n "$outside" ]; then
	notok "the Quick start names paths this test does not move into the temporary root:" $outside
	exit 1
fi
ok "every path the Quick start writes is moved into the temporary root"

# the Quick start's own environment: root's PATH with the installed programs
export PATH="$R/usr/local/sbin:$R/usr/local/bin:$PATH"
unset XDG_CONFIG_HOME MAKEFLAGS MAKELEVEL MFLAGS

(cd "$TOP" && DESTDIR=$R HOME=$R/root bash -e "$T/server.run") \
    >"$T/server.out" 2>&1
rc=$?
if [ "$rc" -eq 0 ]; then
	ok "the server lines ran with bash -e"
else
	notok "the server lines ran with bash -e (exit $rc); the end of their output:"
	tail -15 "$T/server.out" | sed 's/^/#   /'
fi
check "siglatchd -t said 'configuration OK'" \
    grep -qx 'configuration OK' "$T/server.out"
check "keygen does not announce a section on the terminal that went to the file" \
    sh -c "grep -q 'siglatch-keygen: copy the files' '$T/server.out' && ! grep -q 'add this to the server config:\$' '$T/server.out'"
check "make install put siglatchd, knocker and siglatch-keygen in the root" \
    test -x "$R/usr/local/sbin/siglatchd" -a -x "$R/usr/local/bin/knocker" \
    -a -x "$R/usr/local/sbin/siglatch-keygen"
check "no [user:alice] section twice in server.conf" \
    test "$(grep -c '^\[user:alice\]' "$R/etc/siglatch/server.conf" 2>/dev/null)" = 1

# the daemon the last server line started: wait until it listens
DPID=$(cat "$T/daemon.pid" 2>/dev/null)
for _ in $(seq 1 200); do
	grep -q SL003 "$T/daemon.log" 2>/dev/null && break
	[ -n "$DPID" ] && kill -0 "$DPID" 2>/dev/null || break
	sleep 0.05
done
if log_has SL003; then
	ok "siglatchd started from the temporary root listens"
else
	notok "siglatchd started from the temporary root listens"
	sed 's/^/#   /' "$T/daemon.log" 2>/dev/null | tail -10
fi

cp -r "$R/root/alice-bundle" "$R/home/alice/" 2>/dev/null  # "copied over"
(cd "$R/home/alice" && HOME=$R/home/alice bash -e "$T/client.run") \
    >"$T/client.out" 2>&1
rc=$?
if [ "$rc" -eq 0 ]; then
	ok "the client lines ran with bash -e (knocker exited 0)"
else
	notok "the client lines ran with bash -e (exit $rc):"
	tail -10 "$T/client.out" | sed 's/^/#   /'
fi
check "knocker --wait reported the action done" \
    grep -q '^knocker: done' "$T/client.out"
for _ in $(seq 1 100); do daemon_alive && ! log_has SL102 || break; sleep 0.05; done
check "the action ran for alice from 127.0.0.1 (its output is in the log)" \
    grep -q 'SL103 .*127\.0\.0\.1 1 alice 1 ' "$T/daemon.log"
stop_daemon

# make demo: the section keygen prints comes right after its announcement
if (cd "$TOP" && BUILD=${BUILD:-build} bash examples/demo.sh) >"$T/demo.out" 2>&1; then
	ok "make demo (examples/demo.sh) passes"
else
	notok "make demo (examples/demo.sh) passes:"
	tail -10 "$T/demo.out" | sed 's/^/#   /'
fi
after=$(grep -A1 'siglatch-keygen: copy the files' "$T/demo.out" | sed -n 2p)
check "make demo prints the [user:...] section after keygen's message about it" \
    sh -c 'printf "%s\n" "$1" | grep -q "^ *\(#\|\[user:\)"' _ "$after"
check "... the section itself" grep -q '^ *\[user:demo\]$' "$T/demo.out"

exit 0
