# siglatch - plain Makefile.  make; make check; make install PREFIX=/usr DESTDIR=...
PREFIX  ?= /usr/local
SBINDIR ?= $(PREFIX)/sbin
BINDIR  ?= $(PREFIX)/bin
MANDIR  ?= $(PREFIX)/share/man
DOCDIR  ?= $(PREFIX)/share/doc/siglatch
LIBEXECDIR ?= $(PREFIX)/libexec
SYSCONFDIR ?= /etc
UNITDIR ?= $(PREFIX)/lib/systemd/system
STATEDIR ?= /var/lib/siglatch
LOGDIR  ?= /var/log/siglatch

CC      ?= cc
CSTD    ?= -std=c17
WARN    := -Wall -Wextra -Wshadow -Wmissing-prototypes -Wstrict-prototypes \
           -Wpointer-arith -Wformat=2 -Wcast-qual -Wvla -Wnull-dereference \
           -Wimplicit-fallthrough
# gcc only: clang has no -Wformat-truncation and rejects the flag
ifeq ($(shell $(CC) -dM -E -x c /dev/null 2>/dev/null | grep -c __clang__),0)
WARN    += -Wno-format-truncation
endif
ifdef CI
WERROR  ?= -Werror
endif
OPT     ?= -O2 -g
# The flags the build needs are in SL_*; CPPFLAGS, CFLAGS and LDFLAGS are
# the user's (environment or command line: make CFLAGS=-O0), added after
# them, so they can add to or override OPT without dropping the rest.
CPPFLAGS ?=
CFLAGS  ?=
LDFLAGS ?=
SL_CPPFLAGS = -D_GNU_SOURCE -D_FORTIFY_SOURCE=2 $(CPPFLAGS)
# objects do not depend on where the tree is checked out
SL_CFLAGS = $(CSTD) $(OPT) $(WARN) $(WERROR) -pthread \
           -fstack-protector-strong -fPIE -MMD -MP \
           -ffile-prefix-map=$(CURDIR)=. $(CFLAGS)
SL_LDFLAGS = -pie -Wl,-z,relro,-z,now $(LDFLAGS)
LIBS    := -lcrypto -linih -lhiredis -pthread

# quiet by default; make V=1 shows the commands
ifeq ($(V),1)
Q :=
else
Q := @
endif

B := build

# src/ has a folder per part, and a part sees only its own headers and
# those of the parts below it (a header included across the line does not
# compile):
#   common/  wire formats, crypto, addresses, errors: every program
#   daemon/  siglatchd: receive stages, runner, privilege separation
#   client/  knocker and the bundle/profile code siglatch-keygen shares
#   keygen/  siglatch-keygen
#   lib/     libsiglatch (common/ plus its public API, include/siglatch.h)
INC_COMMON := -Isrc/common
INC_DAEMON := $(INC_COMMON) -Isrc/daemon
INC_CLIENT := $(INC_COMMON) -Isrc/client -Isrc/lib -Iinclude
INC_ALL    := $(INC_DAEMON) -Isrc/client -Isrc/lib -Iinclude
obj = $(patsubst src/%.c,$(B)/obj/%.o,$(1))

COMMONSRC := $(wildcard src/common/*.c)
DAEMONSRC := $(filter-out src/daemon/siglatchd.c,$(wildcard src/daemon/*.c))
CLIENTSRC := $(filter-out src/client/knocker.c,$(wildcard src/client/*.c))
# what the tests, tools and benchmarks link: every part but the mains
SLLIBS  := $(B)/libdaemon.a $(B)/libclient.a $(B)/libcommon.a
UNITSRC := $(wildcard tests/unit/test_*.c)
UNITBIN := $(UNITSRC:tests/unit/%.c=$(B)/tests/%)
TOOLSRC := $(filter-out tests/tools/fakeclock.c,$(wildcard tests/tools/*.c))
TOOLBIN := $(TOOLSRC:tests/tools/%.c=$(B)/tools/%) $(B)/tools/fakeclock.so
BENCHSRC := $(wildcard bench/*.c)
BENCHBIN := $(BENCHSRC:bench/%.c=$(B)/bench/%)
PROGS   := $(B)/siglatchd $(B)/knocker $(B)/siglatch-keygen

all: $(PROGS)

$(B)/obj/common/%.o: SL_INC := $(INC_COMMON)
$(B)/obj/daemon/%.o: SL_INC := $(INC_DAEMON)
$(B)/obj/client/%.o: SL_INC := $(INC_CLIENT)
$(B)/obj/keygen/%.o: SL_INC := $(INC_CLIENT)
$(B)/obj/%.o: src/%.c
	@mkdir -p $(@D)
	@echo "  CC      $<"
	$(Q)$(CC) $(SL_INC) $(SL_CPPFLAGS) $(SL_CFLAGS) -c -o $@ $<

$(B)/libcommon.a: $(call obj,$(COMMONSRC))
$(B)/libdaemon.a: $(call obj,$(DAEMONSRC))
$(B)/libclient.a: $(call obj,$(CLIENTSRC))
$(B)/libcommon.a $(B)/libdaemon.a $(B)/libclient.a:
	@rm -f $@
	$(Q)$(AR) rcs $@ $^

$(B)/siglatchd: $(B)/obj/daemon/siglatchd.o $(B)/libdaemon.a $(B)/libcommon.a
	@echo "  LD      $@"
	$(Q)$(CC) $(SL_CFLAGS) $(SL_LDFLAGS) -o $@ $^ $(LIBS)
$(B)/knocker: $(B)/obj/client/knocker.o $(B)/libclient.a $(B)/libsiglatch.a $(B)/libcommon.a
	@echo "  LD      $@"
	$(Q)$(CC) $(SL_CFLAGS) $(SL_LDFLAGS) -o $@ $^ $(LIBS)
$(B)/siglatch-keygen: $(B)/obj/keygen/keygen.o $(B)/libclient.a $(B)/libcommon.a
	@echo "  LD      $@"
	$(Q)$(CC) $(SL_CFLAGS) $(SL_LDFLAGS) -o $@ $^ $(LIBS)

$(B)/tests/%: tests/unit/%.c $(SLLIBS)
	@mkdir -p $(@D)
	@echo "  TEST    $@"
	$(Q)$(CC) $(INC_ALL) $(SL_CPPFLAGS) $(SL_CFLAGS) -Wno-missing-prototypes $(SL_LDFLAGS) -o $@ $< $(SLLIBS) $(LIBS) -lcmocka

$(B)/tools/%: tests/tools/%.c $(SLLIBS)
	@mkdir -p $(@D)
	@echo "  LD      $@"
	$(Q)$(CC) $(INC_ALL) $(SL_CPPFLAGS) $(SL_CFLAGS) $(SL_LDFLAGS) -o $@ $< $(SLLIBS) $(LIBS)

# The clock shim t_clock.sh preloads into siglatchd: a shared object, built
# without OPT's sanitizers (a sanitized binary loads its runtime first).
$(B)/tools/fakeclock.so: tests/tools/fakeclock.c
	@mkdir -p $(@D)
	@echo "  SO      $@"
	$(Q)$(CC) $(CSTD) -O2 -g $(WARN) $(WERROR) -D_GNU_SOURCE -fPIC -shared \
	    -ffile-prefix-map=$(CURDIR)=. \
	    -o $@ $< -ldl

$(B)/bench/%: bench/%.c $(SLLIBS)
	@mkdir -p $(@D)
	@echo "  LD      $@"
	$(Q)$(CC) $(INC_ALL) $(SL_CPPFLAGS) $(SL_CFLAGS) $(SL_LDFLAGS) -o $@ $< $(SLLIBS) $(LIBS)

tests: $(PROGS) $(UNITBIN) $(TOOLBIN) $(BENCHBIN)

# The whole suite: unit tests, then integration tests against the real
# binaries on loopback.  Ends with "N passed, N failed, N skipped".
check: tests
	@tests/run.sh

# The same suite built with AddressSanitizer and UndefinedBehaviorSanitizer
# (clang or gcc), in build-asan/; any report fails the run.
SAN := -fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer
check-asan:
	$(MAKE) B=build-asan OPT="-O1 -g $(SAN)" LDFLAGS="$(SAN)" tests
	ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1 \
	    BUILD=build-asan tests/run.sh

unit: $(UNITBIN)
	@tests/run.sh unit

# Mutation check (slow, not part of check or CI): each small bug listed in
# scripts/mutants.txt, applied in a copy of the tree, must make its test
# fail; prints the survivors and fails if there are any.
mutants:
	@scripts/mutants.sh

bench: $(PROGS) $(TOOLBIN) $(BENCHBIN)
	@bench/run.sh

demo: $(PROGS)
	@examples/demo.sh

install: $(PROGS)
	install -d $(DESTDIR)$(SBINDIR) $(DESTDIR)$(BINDIR) $(DESTDIR)$(DOCDIR)
	install -m 0755 $(B)/siglatchd $(DESTDIR)$(SBINDIR)/siglatchd
	install -m 0755 $(B)/siglatch-keygen $(DESTDIR)$(SBINDIR)/siglatch-keygen
	install -m 0755 $(B)/knocker $(DESTDIR)$(BINDIR)/knocker
	install -m 0644 README.md docs/*.md $(DESTDIR)$(DOCDIR)/
	install -d $(DESTDIR)$(MANDIR)/man1 $(DESTDIR)$(MANDIR)/man5 $(DESTDIR)$(MANDIR)/man8
	install -m 0644 $(MAN1) $(DESTDIR)$(MANDIR)/man1/
	install -m 0644 $(MAN5) $(DESTDIR)$(MANDIR)/man5/
	install -m 0644 $(MAN8) $(DESTDIR)$(MANDIR)/man8/
	install -d -m 0700 $(DESTDIR)$(SYSCONFDIR)/siglatch
	install -m 0644 examples/server.conf $(DESTDIR)$(DOCDIR)/server.conf.example
	install -m 0644 examples/siglatchd.service $(DESTDIR)$(DOCDIR)/siglatchd.service
	install -d $(DESTDIR)$(LIBEXECDIR)/siglatch $(DESTDIR)$(DOCDIR)/firewall
	install -m 0755 firewall/nft-grant firewall/nft-revoke firewall/ipset-grant \
	    firewall/ipset-revoke $(DESTDIR)$(LIBEXECDIR)/siglatch/
	install -m 0644 examples/firewall/nftables.conf \
	    examples/firewall/server.conf.snippet $(DESTDIR)$(DOCDIR)/firewall/
	install -m 0755 examples/firewall/ipset-iptables.sh $(DESTDIR)$(DOCDIR)/firewall/
	install -d -m 0700 $(DESTDIR)$(SYSCONFDIR)/siglatch/keys
	install -d -m 0755 $(DESTDIR)$(STATEDIR)
	install -d -m 0750 $(DESTDIR)$(LOGDIR)
	install -d $(DESTDIR)$(UNITDIR) $(DESTDIR)$(SYSCONFDIR)/logrotate.d \
	    $(DESTDIR)$(DOCDIR)/fail2ban/filter.d $(DESTDIR)$(DOCDIR)/fail2ban/jail.d
	sed -e 's#/usr/local/sbin/#$(SBINDIR)/#g' \
	    -e 's#/usr/local/share/doc/siglatch/#$(DOCDIR)/#g' \
	    examples/siglatchd.service >$(DESTDIR)$(UNITDIR)/siglatchd.service
	chmod 0644 $(DESTDIR)$(UNITDIR)/siglatchd.service
	install -m 0644 examples/logrotate/siglatch $(DESTDIR)$(SYSCONFDIR)/logrotate.d/siglatch
	install -m 0644 examples/fail2ban/filter.d/siglatch.conf $(DESTDIR)$(DOCDIR)/fail2ban/filter.d/
	install -m 0644 examples/fail2ban/jail.d/siglatch.conf $(DESTDIR)$(DOCDIR)/fail2ban/jail.d/
	sed -i 's|^EXAMPLES=.*|EXAMPLES=$(DOCDIR)/firewall|' \
	    $(DESTDIR)$(LIBEXECDIR)/siglatch/nft-grant \
	    $(DESTDIR)$(LIBEXECDIR)/siglatch/ipset-grant
	@if [ -z "$(DESTDIR)" ] && ! getent passwd siglatch >/dev/null; then \
	    echo "useradd --system siglatch"; \
	    useradd --system --user-group --no-create-home \
	        --home-dir $(STATEDIR) --shell /usr/sbin/nologin \
	        --comment "siglatch daemon" siglatch; \
	fi

# Removes what install installed; keeps configuration, keys, state and
# logs (their directories go only when empty) and the user siglatch.
UNINSTALL_MAN := man8/siglatchd.8 man5/siglatchd.conf.5 man1/knocker.1 \
    man1/siglatch-keygen.1
uninstall:
	rm -f $(DESTDIR)$(SBINDIR)/siglatchd $(DESTDIR)$(SBINDIR)/siglatch-keygen \
	    $(DESTDIR)$(BINDIR)/knocker
	rm -f $(addprefix $(DESTDIR)$(DOCDIR)/,README.md $(notdir $(wildcard docs/*.md)) \
	    server.conf.example siglatchd.service firewall/nftables.conf \
	    firewall/server.conf.snippet firewall/ipset-iptables.sh \
	    fail2ban/filter.d/siglatch.conf fail2ban/jail.d/siglatch.conf)
	rm -f $(addprefix $(DESTDIR)$(LIBEXECDIR)/siglatch/,nft-grant nft-revoke \
	    ipset-grant ipset-revoke)
	rm -f $(DESTDIR)$(UNITDIR)/siglatchd.service \
	    $(DESTDIR)$(SYSCONFDIR)/logrotate.d/siglatch
	rm -f $(addprefix $(DESTDIR)$(MANDIR)/,$(UNINSTALL_MAN) $(addsuffix .gz,$(UNINSTALL_MAN)))
	rmdir $(DESTDIR)$(LIBEXECDIR)/siglatch $(DESTDIR)$(DOCDIR)/firewall \
	    $(DESTDIR)$(DOCDIR)/fail2ban/filter.d $(DESTDIR)$(DOCDIR)/fail2ban/jail.d \
	    $(DESTDIR)$(DOCDIR)/fail2ban $(DESTDIR)$(DOCDIR) 2>/dev/null || true
	rmdir $(DESTDIR)$(SYSCONFDIR)/siglatch/keys $(DESTDIR)$(SYSCONFDIR)/siglatch \
	    $(DESTDIR)$(STATEDIR) $(DESTDIR)$(LOGDIR) 2>/dev/null || true

# A Debian package (debian/): dpkg-buildpackage in a copy of the tree in
# build/deb/src, so that the .deb, .changes and .buildinfo land in
# build/deb/, then lintian
deb:
	rm -rf build/deb
	mkdir -p build/deb/src
	tar -cf - --exclude=./build --exclude=./build-asan --exclude=./build-fuzz \
	    --exclude=./.git . | tar -xf - -C build/deb/src
	cd build/deb/src && dpkg-buildpackage -us -uc -b -jauto
	rm -rf build/deb/src
	@ls build/deb/*.deb
	@if command -v lintian >/dev/null; then \
	    echo "lintian build/deb/*.changes"; lintian build/deb/*.changes; fi

# Manual pages (mdoc(7) source in man/): make man checks them with mandoc
MAN1 := man/knocker.1 man/siglatch-keygen.1
MAN5 := man/siglatchd.conf.5
MAN8 := man/siglatchd.8
man:
	mandoc -T lint -W warning $(MAN1) $(MAN5) $(MAN8)

clean:
	rm -rf build build-asan build-fuzz build-clang

# libFuzzer harnesses: make fuzz (see fuzz/README.md)
-include fuzz/fuzz.mk

.PHONY: all tests check check-asan unit bench demo install clean
.PHONY: man uninstall deb mutants
-include $(wildcard $(B)/obj/*/*.d $(B)/tests/*.d $(B)/tools/*.d $(B)/bench/*.d)

# --- libsiglatch: the client library (include/siglatch.h) ------------------
# Static and shared (soname libsiglatch.so.$(LIBSIG_MAJOR)), with a
# pkg-config file; only the siglatch_* functions are exported.  knocker
# links the static one.
LIBDIR     ?= $(PREFIX)/lib
INCLUDEDIR ?= $(PREFIX)/include
PKGCONFIGDIR ?= $(LIBDIR)/pkgconfig
LIBSIG_MAJOR := 1
LIBSIG_VER   := $(LIBSIG_MAJOR).0.0
# the library is common/ and its own API: nothing of the daemon or knocker
LIBSIG_SRC   := src/lib/libsiglatch.c $(COMMONSRC)
LIBSIG_OBJ   := $(patsubst src/%.c,$(B)/pic/%.o,$(LIBSIG_SRC))
LIBSIG_SO    := $(B)/libsiglatch.so.$(LIBSIG_VER)

$(B)/pic/common/%.o: src/common/%.c
	@mkdir -p $(@D)
	@echo "  CC      $@"
	$(Q)$(CC) $(INC_COMMON) $(SL_CPPFLAGS) $(SL_CFLAGS) -fPIC -fvisibility=hidden -c -o $@ $<
$(B)/pic/lib/%.o: src/lib/%.c
	@mkdir -p $(@D)
	@echo "  CC      $@"
	$(Q)$(CC) $(INC_COMMON) -Isrc/lib -Iinclude $(SL_CPPFLAGS) $(SL_CFLAGS) -fPIC -fvisibility=hidden -c -o $@ $<

$(B)/libsiglatch.a: $(LIBSIG_OBJ)
	@rm -f $@
	$(Q)$(AR) rcs $@ $^
$(LIBSIG_SO): $(LIBSIG_OBJ)
	@echo "  SO      $@"
	$(Q)$(CC) $(SL_CFLAGS) -shared -Wl,-soname,libsiglatch.so.$(LIBSIG_MAJOR) \
	    -Wl,-z,relro,-z,now -Wl,--no-undefined -o $@ $^ -lcrypto
	$(Q)ln -sf libsiglatch.so.$(LIBSIG_VER) $(B)/libsiglatch.so.$(LIBSIG_MAJOR)
	$(Q)ln -sf libsiglatch.so.$(LIBSIG_MAJOR) $(B)/libsiglatch.so
# the .pc names PREFIX: written at build time for the default, and again
# by install-lib for the PREFIX given there
SIGLATCH_PC = printf '%s\n' 'prefix=$(PREFIX)' 'libdir=$(LIBDIR)' \
	    'includedir=$(INCLUDEDIR)' '' 'Name: siglatch' \
	    'Description: siglatch client library: build and seal knocks, open receipts' \
	    'Version: $(SL_VERSION_MK)' 'Requires.private: libcrypto' \
	    'Cflags: -I$${includedir}' 'Libs: -L$${libdir} -lsiglatch'
$(B)/siglatch.pc: Makefile src/common/sl.h
	@mkdir -p $(@D)
	$(Q)$(SIGLATCH_PC) >$@

SL_VERSION_MK := $(shell sed -n 's/^\#define SL_VERSION "\(.*\)"/\1/p' src/common/sl.h)
LIBSIG := $(B)/libsiglatch.a $(LIBSIG_SO) $(B)/siglatch.pc
all: $(LIBSIG)
tests: $(LIBSIG)

# the unit test of the library sees only the public header
$(B)/tests/test_libsiglatch: tests/unit/test_libsiglatch.c $(B)/libsiglatch.a
	@mkdir -p $(@D)
	@echo "  TEST    $@"
	$(Q)$(CC) -D_GNU_SOURCE -Iinclude $(SL_CFLAGS) $(SL_LDFLAGS) -o $@ $< \
	    $(B)/libsiglatch.a -lcrypto -lcmocka
# a client program linked against the shared library, as others would
$(B)/tools/libknock: tests/tools/libknock.c $(LIBSIG_SO)
	@mkdir -p $(@D)
	@echo "  LD      $@"
	$(Q)$(CC) -D_GNU_SOURCE -Iinclude $(SL_CFLAGS) $(SL_LDFLAGS) -o $@ $< \
	    -L$(B) -lsiglatch -Wl,-rpath,'$$ORIGIN/..'

install: install-lib
install-lib: $(LIBSIG)
	install -d $(DESTDIR)$(LIBDIR) $(DESTDIR)$(INCLUDEDIR) $(DESTDIR)$(PKGCONFIGDIR)
	install -m 0644 $(B)/libsiglatch.a $(DESTDIR)$(LIBDIR)/libsiglatch.a
	install -m 0755 $(LIBSIG_SO) $(DESTDIR)$(LIBDIR)/libsiglatch.so.$(LIBSIG_VER)
	ln -sf libsiglatch.so.$(LIBSIG_VER) $(DESTDIR)$(LIBDIR)/libsiglatch.so.$(LIBSIG_MAJOR)
	ln -sf libsiglatch.so.$(LIBSIG_MAJOR) $(DESTDIR)$(LIBDIR)/libsiglatch.so
	install -m 0644 include/siglatch.h $(DESTDIR)$(INCLUDEDIR)/siglatch.h
	$(SIGLATCH_PC) >$(DESTDIR)$(PKGCONFIGDIR)/siglatch.pc
	chmod 0644 $(DESTDIR)$(PKGCONFIGDIR)/siglatch.pc

.PHONY: install-lib
-include $(wildcard $(B)/pic/*/*.d)

uninstall: uninstall-lib
uninstall-lib:
	rm -f $(DESTDIR)$(LIBDIR)/libsiglatch.a \
	    $(DESTDIR)$(LIBDIR)/libsiglatch.so.$(LIBSIG_VER) \
	    $(DESTDIR)$(LIBDIR)/libsiglatch.so.$(LIBSIG_MAJOR) \
	    $(DESTDIR)$(LIBDIR)/libsiglatch.so \
	    $(DESTDIR)$(INCLUDEDIR)/siglatch.h $(DESTDIR)$(PKGCONFIGDIR)/siglatch.pc
	rmdir $(DESTDIR)$(PKGCONFIGDIR) $(DESTDIR)$(INCLUDEDIR) \
	    $(DESTDIR)$(LIBDIR) 2>/dev/null || true
.PHONY: uninstall-lib
