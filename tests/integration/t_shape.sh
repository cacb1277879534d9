#!/usr/bin/env bash
# The shape of src/, as the Layout section of README.md describes it:
#   - each part includes only its own headers and those of the parts
#     below it: common/ nothing of daemon/ or client/, client/ and keygen/
#     nothing of daemon/, daemon/ nothing of client/ (the Makefile's
#     include paths refuse it too; this names the line);
#   - every file begins with a comment naming it (or its program) and
#     what it owns;
#   - no function is longer than 60 lines (from the line with its name to
#     its closing brace) unless the comment above it says why, with
#     "long:" in it.
#   - a build directory left from before the folders (its dependency
#     files name src/X.c) does not stop make.
# No daemon is started: it reads the source (and runs make -n).
. "$(dirname "$0")/lib.sh"

SRC=$TOP/src

# 1. includes across the parts
headers_of() { (cd "$1" 2>/dev/null && ls -- *.h 2>/dev/null); }
crossing() { # root, part, forbidden parts...: "FILE:HEADER(PART)" each
	local root=$1 part=$2 f h other bad=
	shift 2
	if [ ! -d "$root/$part" ]; then
		printf ' no %s/' "$part"
		return
	fi
	for f in "$root/$part"/*.[ch]; do
		for h in $(sed -n 's/^#include "\([^"]*\)".*/\1/p' "$f"); do
			for other in "$@"; do
				if headers_of "$root/$other" | grep -qxF "$h"; then
					bad="$bad ${f#"$root"/}:$h($other)"
				fi
			done
		done
	done
	printf '%s' "$bad"
}
for rule in "common daemon client" "client daemon" "keygen daemon" \
    "daemon client"; do
	# shellcheck disable=SC2086
	bad=$(crossing "$SRC" $rule)
	# shellcheck disable=SC2086
	set -- $rule
	part=$1
	shift
	if [ -z "$bad" ]; then
		ok "src/$part/ includes nothing of $*"
	else
		notok "src/$part/ includes nothing of $*:$bad"
	fi
done
# the check itself: a common/ file that includes a daemon/ header is found
mkdir -p "$T/src/common" "$T/src/daemon"
printf '#include "sl.h"\n' >"$T/src/common/ok.c"
printf '#include "config.h"\n' >"$T/src/common/bad.c"
: >"$T/src/daemon/config.h"
: >"$T/src/common/sl.h"
check "... the include check finds common/bad.c including daemon/config.h" \
	test "$(crossing "$T/src" common daemon)" = " common/bad.c:config.h(daemon)"

# 2. a first comment naming the file
bad=
for f in "$SRC"/*/*.[ch]; do
	b=$(basename "$f")
	head -3 "$f" | grep -q "^/\*" || { bad="$bad ${f#"$TOP"/}"; continue; }
	case $b in
	knocker.c) name=knocker ;;
	siglatchd.c) name=siglatchd ;;
	keygen.c) name=siglatch-keygen ;;
	*) name=$b ;;
	esac
	head -3 "$f" | grep -qF -- "$name" || bad="$bad ${f#"$TOP"/}"
done
if [ -z "$bad" ]; then
	ok "every file in src/ begins with a comment that names it"
else
	notok "every file in src/ begins with a comment that names it:$bad"
fi

# 3. function length: "FILE:NAME(LINES)" for each one too long
long_functions() { # files
	local f
	for f in "$@"; do
		awk -v F="${f#"$TOP"/}" '
		/^\/\*/ { cstart = NR; ctext = "" }
		cstart { ctext = ctext $0 "\n" }
		/\*\/$/ { cend = NR; cstart = 0 }
		/^[a-z_][a-z0-9_]*\(/ { name = $0; sub(/\(.*/, "", name)
			start = NR; why = (cend >= NR - 4 && ctext ~ /long:/) }
		/^}/ && start { if (NR - start > 60 && !why)
				printf " %s:%s(%d)", F, name, NR - start
			start = 0 }' "$f"
	done
}
long=$(long_functions "$SRC"/*/*.c)
if [ -z "$long" ]; then
	ok "no function in src/ over 60 lines without a reason (\"long:\")"
else
	notok "no function in src/ over 60 lines without a reason (\"long:\"):$long"
fi

# the check itself: 60 lines pass, 61 do not, 61 with a reason do
mk() { # lines of body, comment
	{ printf '%s' "$2"
	  printf 'static int\nf(void)\n{\n'
	  for _ in $(seq 1 "$1"); do printf '\t;\n'; done
	  printf '}\n'; } >"$T/f.c"
}
mk 58 ""; a=$(long_functions "$T/f.c")
mk 59 ""; b=$(long_functions "$T/f.c")
mk 59 "/* f - long: one table, written out */
"; c=$(long_functions "$T/f.c")
check "... the length check passes 60 lines, finds 61, takes a reason" \
	test -z "$a" -a -n "$b" -a -z "$c"

# 4. a build directory from before the folders: its dependency files
# (pic/X.d, obj/X.d) name sources that moved; make must not read them
mkdir -p "$T/stale/pic" "$T/stale/obj"
for d in pic obj; do
	printf '%s/%s/addr.o: src/addr.c src/addr.h\nsrc/addr.h:\n' \
	    "$T/stale" "$d" >"$T/stale/$d/addr.d"
done
if out=$(make -C "$TOP" -n B="$T/stale" all 2>&1 >/dev/null); then
	ok "a build directory from before the folders does not stop make"
else
	notok "a build directory from before the folders does not stop make: $(printf '%s' "$out" | head -2)"
fi
exit 0
