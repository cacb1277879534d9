# siglatch - plain Makefile.  make; make check; make install PREFIX=/usr DESTDIR=...
PREFIX  ?= /usr/local
SBINDIR ?= $(PREFIX)/sbin
BINDIR  ?= $(PREFIX)/bin
MANDIR  ?= $(PREFIX)/share/man
DOCDIR  ?= $(PREFIX)/share/doc/siglatch
LIBEXECDIR ?= $(PREFIX)/libexec
SYSCONFDIR ?= /etc

CC      ?= cc
CSTD    ?= -std=c17
WARN    := -Wall -Wextra -Wshadow -Wmissing-prototypes -Wstrict-prototypes \
           -Wpointer-arith -Wformat=2 -Wcast-qual -Wvla -Wnull-dereference \
           -Wimplicit-fallthrough -Wno-format-truncation
ifdef CI
WERROR  ?= -Werror
endif
OPT     ?= -O2 -g
CPPFLAGS += -D_GNU_SOURCE -D_FORTIFY_SOURCE=2 -Isrc
CFLAGS  ?=
CFLAGS  += $(CSTD) $(OPT) $(WARN) $(WERROR) -pthread -fstack-protector-strong -fPIE -MMD -MP
LDFLAGS += -pie -Wl,-z,relro,-z,now
LIBS    := -lcrypto -linih -lhiredis -pthread

# quiet by default; make V=1 shows the commands
ifeq ($(V),1)
Q :=
else
Q := @
endif

B := build
MAINS   := src/siglatchd.c src/knocker.c src/keygen.c
LIBSRC  := $(filter-out $(MAINS),$(wildcard src/*.c))
LIBOBJ  := $(LIBSRC:src/%.c=$(B)/obj/%.o)
UNITSRC := $(wildcard tests/unit/test_*.c)
UNITBIN := $(UNITSRC:tests/unit/%.c=$(B)/tests/%)
TOOLSRC := $(filter-out tests/tools/fakeclock.c,$(wildcard tests/tools/*.c))
TOOLBIN := $(TOOLSRC:tests/tools/%.c=$(B)/tools/%) $(B)/tools/fakeclock.so
BENCHSRC := $(wildcard bench/*.c)
BENCHBIN := $(BENCHSRC:bench/%.c=$(B)/bench/%)
PROGS   := $(B)/siglatchd $(B)/knocker $(B)/siglatch-keygen

all: $(PROGS)

$(B)/obj/%.o: src/%.c
	@mkdir -p $(@D)
	@echo "  CC      $<"
	$(Q)$(CC) $(CPPFLAGS) $(CFLAGS) -c -o $@ $<

$(B)/libsl.a: $(LIBOBJ)
	@rm -f $@
	$(Q)$(AR) rcs $@ $^

$(B)/siglatchd: $(B)/obj/siglatchd.o $(B)/libsl.a
	@echo "  LD      $@"
	$(Q)$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $^ $(LIBS)
$(B)/knocker: $(B)/obj/knocker.o $(B)/libsl.a
	@echo "  LD      $@"
	$(Q)$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $^ $(LIBS)
$(B)/siglatch-keygen: $(B)/obj/keygen.o $(B)/libsl.a
	@echo "  LD      $@"
	$(Q)$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $^ $(LIBS)

$(B)/tests/%: tests/unit/%.c $(B)/libsl.a
	@mkdir -p $(@D)
	@echo "  TEST    $@"
	$(Q)$(CC) $(CPPFLAGS) $(CFLAGS) -Wno-missing-prototypes $(LDFLAGS) -o $@ $< $(B)/libsl.a $(LIBS) -lcmocka

$(B)/tools/%: tests/tools/%.c $(B)/libsl.a
	@mkdir -p $(@D)
	@echo "  LD      $@"
	$(Q)$(CC) $(CPPFLAGS) $(CFLAGS) $(LDFLAGS) -o $@ $< $(B)/libsl.a $(LIBS)

# The clock shim t_clock.sh preloads into siglatchd: a shared object, built
# without OPT's sanitizers (a sanitized binary loads its runtime first).
$(B)/tools/fakeclock.so: tests/tools/fakeclock.c
	@mkdir -p $(@D)
	@echo "  SO      $@"
	$(Q)$(CC) $(CSTD) -O2 -g $(WARN) $(WERROR) -D_GNU_SOURCE -fPIC -shared \
	    -o $@ $< -ldl

$(B)/bench/%: bench/%.c $(B)/libsl.a
	@mkdir -p $(@D)
	@echo "  LD      $@"
	$(Q)$(CC) $(CPPFLAGS) $(CFLAGS) $(LDFLAGS) -o $@ $< $(B)/libsl.a $(LIBS)

tests: $(PROGS) $(UNITBIN) $(TOOLBIN) $(BENCHBIN)

# The whole suite: unit tests, then integration tests against the real
# binaries on loopback.  Ends with "N passed, N failed".
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
	install -d -m 0700 $(DESTDIR)$(SYSCONFDIR)/siglatch
	install -m 0644 examples/server.conf $(DESTDIR)$(DOCDIR)/server.conf.example
	install -m 0644 examples/siglatchd.service $(DESTDIR)$(DOCDIR)/siglatchd.service
	install -d $(DESTDIR)$(LIBEXECDIR)/siglatch $(DESTDIR)$(DOCDIR)/firewall
	install -m 0755 firewall/nft-grant firewall/nft-revoke firewall/ipset-grant \
	    firewall/ipset-revoke $(DESTDIR)$(LIBEXECDIR)/siglatch/
	install -m 0644 examples/firewall/nftables.conf \
	    examples/firewall/server.conf.snippet $(DESTDIR)$(DOCDIR)/firewall/
	install -m 0755 examples/firewall/ipset-iptables.sh $(DESTDIR)$(DOCDIR)/firewall/

clean:
	rm -rf build build-asan build-fuzz

# libFuzzer harnesses: make fuzz (see fuzz/README.md)
-include fuzz/fuzz.mk

.PHONY: all tests check check-asan unit bench demo install clean
-include $(wildcard $(B)/obj/*.d $(B)/tests/*.d $(B)/tools/*.d $(B)/bench/*.d)
