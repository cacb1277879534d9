#!/usr/bin/env bash
# libsiglatch as another program would use it: tests/tools/libknock, built
# from include/siglatch.h alone and linked against the shared library
# (soname libsiglatch.so.1), knocks the real siglatchd in both formats and
# opens its receipts; the shared library exports only siglatch_*; and
# "make install" puts the library, the header and siglatch.pc where
# pkg-config finds them and a program builds against the installed copy.
. "$(dirname "$0")/lib.sh"

L=$BIN/tools/libknock
setup_keys
pick_port
write_config
sed -i '/^logging = yes$/a receipt = yes' "$T/server.conf"
start_daemon || { notok "siglatchd starts"; exit 1; }
lk() { "$L" "$T/keys/server.pub.pem" "$T/keys/alice.hmac" 127.0.0.1 "$PORT" 10 "$@"; }

check "libknock needs libsiglatch.so.1 (the shared library)" sh -c "ldd '$L' | grep -q 'libsiglatch.so.1 => .*/libsiglatch.so.1 '"
check "the shared library's soname is libsiglatch.so.1" sh -c "readelf -d '$BIN/libsiglatch.so.1' | grep -q 'SONAME.*\[libsiglatch.so.1\]'"
check "it exports siglatch_* and nothing else" sh -c "[ \"\$(nm -D --defined-only '$BIN/libsiglatch.so.1' | awk '{print \$3}' | grep -vc '^siglatch_')\" = 0 ] && nm -D --defined-only '$BIN/libsiglatch.so.1' | grep -q ' T siglatch_knock2$'"

n=$(nruns)
o=$(lk 1 1 0 "lib format 1")
check "a format-1 knock built by the library: 256 bytes sent" sh -c "printf '%s\n' \"\$1\" | grep -qx 'sent=256'" _ "$o"
check "... and the daemon runs it" wait_runs $((n + 1))
r=$(latest_run)
check "... with its payload" test "$(sed -n 's/^argv\[8\]=//p' "$r" | base64 -d)" = "lib format 1"
fp=$("$BIN/siglatch-keygen" fingerprint "$T/keys/server.pub.pem" | cut -d' ' -f1)
check "... the library's fingerprint is the one siglatch-keygen prints ($fp)" sh -c "[ ${#fp} = 50 ] && printf '%s\n' \"\$1\" | grep -qxF 'fingerprint=$fp'" _ "$o"

n=$(nruns)
o=$(lk 1 2 5 "lib format 2")
rc=$?
check "a format-2 knock asking for a receipt: the library opens it (done)" sh -c "[ $rc = 0 ] && printf '%s\n' \"\$1\" | grep -qx 'sent=559' && printf '%s\n' \"\$1\" | grep -qx 'status=0 reason=0 value=0'" _ "$o"
check "... and the daemon ran it" wait_runs $((n + 1))
o=$(lk 6 2 5)
check "an action alice may not run: the receipt says refused, not permitted" sh -c "printf '%s\n' \"\$1\" | grep -qx 'status=2 reason=1 value=0'" _ "$o"

# --- make install ---------------------------------------------------------------------------
D=$T/destdir
if make -s -C "$TOP" B="${BUILD:-build}" install-lib DESTDIR="$D" PREFIX=/usr >"$T/install.log" 2>&1; then
	ok "make install-lib DESTDIR=... PREFIX=/usr"
else
	notok "make install-lib (log: $(tail -3 "$T/install.log"))"
fi
check "installs the header, the static library, the shared library with its links" sh -c "[ -f '$D/usr/include/siglatch.h' ] && [ -f '$D/usr/lib/libsiglatch.a' ] && [ -f '$D/usr/lib/libsiglatch.so.1.0.0' ] && [ \"\$(readlink '$D/usr/lib/libsiglatch.so.1')\" = libsiglatch.so.1.0.0 ] && [ \"\$(readlink '$D/usr/lib/libsiglatch.so')\" = libsiglatch.so.1 ]"
pc() { PKG_CONFIG_PATH=$D/usr/lib/pkgconfig PKG_CONFIG_SYSROOT_DIR=$D pkg-config "$@"; }
check "pkg-config finds siglatch" pc --exists siglatch
# a sanitizer build's library needs its runtime in the program too
USAN=
if ldd "$BIN/libsiglatch.so.1" | grep -q 'libasan'; then
	USAN="-fsanitize=address,undefined"
fi
cat >"$T/use.c" <<'C'
#include <stdio.h>
#include <siglatch.h>
int main(void) { printf("%d\n", siglatch_api_version()); return siglatch_api_version() != SIGLATCH_API_VERSION; }
C
check "a program builds with \$(pkg-config --cflags --libs siglatch) against the installed copy" \
	sh -c "${CC:-cc} $USAN -o '$T/use' '$T/use.c' \$(PKG_CONFIG_PATH='$D/usr/lib/pkgconfig' PKG_CONFIG_SYSROOT_DIR='$D' pkg-config --cflags --libs siglatch)"
check "... and runs against it" sh -c "[ \"\$(LD_LIBRARY_PATH='$D/usr/lib' '$T/use')\" = 1 ]"
check "... statically too (pkg-config --static)" \
	sh -c "${CC:-cc} $USAN -o '$T/use-static' '$T/use.c' -I'$D/usr/include' '$D/usr/lib/libsiglatch.a' \$(pkg-config --libs libcrypto) && '$T/use-static' >/dev/null"
