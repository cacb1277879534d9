# fuzz/fuzz.mk - libFuzzer harnesses (see fuzz/README.md).  Included by the
# top-level Makefile (it also works alone: make -f fuzz/fuzz.mk fuzz).
# Needs clang and its compiler-rt (Debian: clang, libclang-rt-14-dev).
#   make fuzz-build               build build-fuzz/fuzz_*
#   make fuzz [FUZZ_SECONDS=60]   run each harness that long; any crash,
#                                 leak, sanitizer report or failed invariant
#                                 fails the run
#   make fuzz-knock2              one harness (fuzz/fuzz_knock2.c), the same
#                                 way; FUZZ_SECONDS applies
#   make fuzz-clean               remove build-fuzz/
# Objects are built apart from build/ and build-asan/, with clang, ASan,
# UBSan and libFuzzer's coverage instrumentation.  CI=1 makes warnings in
# the harnesses errors; src/ is held to -Werror by the gcc build, and clang
# warnings there (it ignores /* FALLTHROUGH */ comments) are only shown.

fuzz_saved_goal := $(.DEFAULT_GOAL)

FUZZ_CC      ?= clang
FUZZ_B       ?= build-fuzz
FUZZ_SECONDS ?= 60
FUZZ_SAN     := -fsanitize=address,undefined -fno-sanitize-recover=all \
                -fno-omit-frame-pointer
FUZZ_WARN    := -Wall -Wextra -Wshadow -Wmissing-prototypes \
                -Wstrict-prototypes -Wpointer-arith -Wformat=2 -Wcast-qual \
                -Wvla -Wnull-dereference -Wimplicit-fallthrough
FUZZ_CFLAGS  := -std=c17 -O1 -g -pthread $(FUZZ_SAN) $(FUZZ_WARN) \
                -D_GNU_SOURCE -Isrc/common -Isrc/daemon -Isrc/client \
                -Isrc/lib -Iinclude -MMD -MP
# the top-level LIBS when included, else the same list
FUZZ_LIBS     = $(if $(LIBS),$(LIBS),-lcrypto -linih -pthread)
FUZZ_TARGETS := $(patsubst fuzz/%.c,%,$(wildcard fuzz/fuzz_*.c))
FUZZ_LIBSRC  := $(filter-out src/daemon/siglatchd.c src/client/knocker.c, \
                $(wildcard src/common/*.c src/daemon/*.c src/client/*.c))
FUZZ_LIBOBJ  := $(FUZZ_LIBSRC:src/%.c=$(FUZZ_B)/obj/%.o)

$(FUZZ_B)/obj/%.o: src/%.c
	@mkdir -p $(@D)
	@echo "  FUZZCC  $<"
	$(Q)$(FUZZ_CC) $(FUZZ_CFLAGS) -fsanitize=fuzzer-no-link -c -o $@ $<

$(FUZZ_B)/libsl.a: $(FUZZ_LIBOBJ)
	@rm -f $@
	$(Q)ar rcs $@ $^

$(FUZZ_B)/fuzz_%: fuzz/fuzz_%.c $(FUZZ_B)/libsl.a
	@echo "  FUZZLD  $@"
	$(Q)$(FUZZ_CC) $(FUZZ_CFLAGS) $(if $(CI),-Werror) -fsanitize=fuzzer \
	    -o $@ $< \
	    $(FUZZ_B)/libsl.a $(FUZZ_LIBS)

fuzz-build: $(FUZZ_TARGETS:%=$(FUZZ_B)/%)

# Seeds are copied into $(FUZZ_B)/corpus/<harness>; fuzz/corpus stays as
# committed.  FUZZ_TARGETS="fuzz_b64" runs one.
fuzz: fuzz-build
	@FUZZ_B=$(FUZZ_B) FUZZ_SECONDS=$(FUZZ_SECONDS) fuzz/run.sh $(FUZZ_TARGETS)

# One harness by its short name: make fuzz-knock2, make fuzz-datagram.
# (fuzz-build and fuzz-clean are rules of their own, not harnesses.)
fuzz-%: $(FUZZ_B)/fuzz_%
	@FUZZ_B=$(FUZZ_B) FUZZ_SECONDS=$(FUZZ_SECONDS) fuzz/run.sh fuzz_$*

fuzz-clean:
	rm -rf $(FUZZ_B)

.PHONY: fuzz fuzz-build fuzz-clean
-include $(wildcard $(FUZZ_B)/obj/*/*.d $(FUZZ_B)/*.d)

# Included first or last, this file does not change the default goal.
.DEFAULT_GOAL := $(fuzz_saved_goal)
