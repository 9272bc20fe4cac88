# ipmaildir — plain Makefile; libraries through pkg-config.
#
#   make            build build/ipmaildir
#   make deps       install (apt-get) everything build, tests and bench need
#   make check      unit + integration tests (prove)
#   make asan       the same suite under AddressSanitizer + UBSan (build-asan/)
#   make bench      benchmarks (bench/), side by side with the baselines
#   make install    PREFIX=/usr/local DESTDIR=
#   make uninstall  the same PREFIX and DESTDIR: removes what install put
#   make clean

PREFIX  ?= /usr/local
DESTDIR ?=
# systemd's unit directory: $(PREFIX)/lib/systemd/system is
# /usr/lib/systemd/system when PREFIX=/usr.
UNITDIR ?= $(PREFIX)/lib/systemd/system
BUILD   ?= build
CC      ?= cc
PKGS    := fuse3 libsodium libcurl jansson libxxhash libcrypto libsystemd

# pkg-config runs when a compile or link first needs its answer, not when
# make reads this file: `make deps install` on a new machine parses the
# Makefile before `deps` has installed the -dev packages.  Each answer is
# computed once and kept (the eval replaces the variable by its value).
pkg_config = $(or $(shell pkg-config $(1) $(PKGS) 2>/dev/null),$(error \
	pkg-config finds no $(PKGS); run 'make deps' first (as root)))
PKG_CFLAGS = $(eval PKG_CFLAGS := $$(call pkg_config,--cflags))$(PKG_CFLAGS)
PKG_LIBS   = $(eval PKG_LIBS := $$(call pkg_config,--libs))$(PKG_LIBS)

OPT      ?= -O2
CFLAGS   ?= $(OPT) -g
WARN     := -Wall -Wextra -Werror -Wshadow -Wstrict-prototypes -Wvla
ALL_CFLAGS = -std=c17 -D_GNU_SOURCE -D_FILE_OFFSET_BITS=64 \
	$(WARN) -I. $(PKG_CFLAGS) $(SAN_FLAGS) $(CFLAGS) -MMD -MP
LDLIBS    = $(PKG_LIBS) -lpthread

ifeq ($(SAN),1)
SAN_FLAGS := -fsanitize=address,undefined -fno-omit-frame-pointer \
	-fno-sanitize-recover=all
endif
# libFuzzer builds (make fuzz): every object instrumented for coverage.
ifeq ($(SAN),fuzz)
SAN_FLAGS := -fsanitize=fuzzer-no-link,address,undefined \
	-fno-omit-frame-pointer -fno-sanitize-recover=all
endif

FS_ROOMS    := cli fuse model mount store tools
MODULE_DIRS := util crypto ipfs cache fs $(addprefix fs/,$(FS_ROOMS))
LIB_SRC  := $(filter-out fs/cli/main.c,$(wildcard $(addsuffix /*.c,$(MODULE_DIRS))))
LIB_OBJ  := $(LIB_SRC:%.c=$(BUILD)/%.o)
MAIN_OBJ := $(BUILD)/fs/cli/main.o
BIN      := $(BUILD)/ipmaildir

UNIT_SRC := $(wildcard tests/unit/test_*.c)
UNIT_BIN := $(UNIT_SRC:tests/unit/%.c=$(BUILD)/tests/%)
# Helpers the unit tests and the tools share (tests/dagstore.h).
TEST_SUPPORT := $(BUILD)/tests/dagstore.o
# What every unit test links: the TAP producer, the shared set-up
# (tests/unit/harness.h) and TEST_SUPPORT.
TEST_LIB := $(BUILD)/tests/tap.o $(BUILD)/tests/unit/harness.o \
	$(BUILD)/tests/unit/harness_tree.o $(TEST_SUPPORT)
# libfuse's replies, replaced (tests/unit/fuse_reply_stub.h): linked, as an
# object before libfuse, into the tests that drive the FUSE table only.
FUSE_STUB := $(BUILD)/tests/unit/fuse_reply_stub.o
FUSE_STUB_TESTS := $(BUILD)/tests/test_ops_entry $(BUILD)/tests/test_ops_tail \
	$(BUILD)/tests/test_ops_read \
	$(BUILD)/tests/test_ops_deliver $(BUILD)/tests/test_ops_prefetch
$(FUSE_STUB_TESTS): TEST_EXTRA := $(FUSE_STUB)
$(FUSE_STUB_TESTS): $(FUSE_STUB)
# Standalone programs the integration scripts run (conformance, deliverers).
TOOL_SRC := $(wildcard tests/tools/*.c)
TOOL_BIN := $(TOOL_SRC:tests/tools/%.c=$(BUILD)/tests/tools/%)

BENCH_SRC := $(wildcard bench/*.c)
BENCH_BIN := $(BENCH_SRC:bench/%.c=$(BUILD)/bench/%)

.PHONY: all check unit integration asan bench bench-quick install uninstall \
	clean deps
all: $(BIN)

$(BUILD)/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -c -o $@ $<

$(BUILD)/libipmaildir.a: $(LIB_OBJ)
	@mkdir -p $(dir $@)
	rm -f $@ && ar rcs $@ $^

$(BIN): $(MAIN_OBJ) $(BUILD)/libipmaildir.a
	$(CC) $(SAN_FLAGS) -o $@ $^ $(LDLIBS)

$(BUILD)/tests/%: tests/unit/%.c $(TEST_LIB) $(BUILD)/libipmaildir.a
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -o $@ $< $(TEST_EXTRA) $(TEST_LIB) \
		$(BUILD)/libipmaildir.a $(LDLIBS)

$(BUILD)/tests/tools/%: tests/tools/%.c $(TEST_SUPPORT) $(BUILD)/libipmaildir.a
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -o $@ $< $(TEST_SUPPORT) $(BUILD)/libipmaildir.a $(LDLIBS)

# A static pattern rule: these are targets of their own, which make keeps
# (a plain pattern rule would make them intermediate, deleted after a link).
$(TEST_LIB) $(FUSE_STUB): $(BUILD)/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -c -o $@ $<

$(BUILD)/bench/%: bench/%.c $(BUILD)/libipmaildir.a
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -o $@ $< $(BUILD)/libipmaildir.a $(LDLIBS)

# The suite: unit test binaries and integration scripts, all TAP, under prove.
check: $(BIN) $(UNIT_BIN) $(TOOL_BIN) $(BENCH_BIN)
	BUILD=$(BUILD) tests/run

unit: $(UNIT_BIN)
	BUILD=$(BUILD) tests/run unit

# 98-bench-quick.t runs bench/run, which runs $(BUILD)/bench/*.
integration: $(BIN) $(TOOL_BIN) $(BENCH_BIN)
	BUILD=$(BUILD) tests/run integration

# The same suite under ASan+UBSan, with the long loops shortened (sanitizers
# make each pass several times slower; the plain run keeps the full counts).
# The fuzzers always run sanitized, in `check`; they are not run twice.
ASAN_SCALE := IPMD_LDA_COUNT=250 IPMD_CRASH_ITERATIONS=12 IPMD_FUZZ_SECONDS=0 \
	IPMD_NODE_MSGS=100 IPMD_PARALLEL_PER=40 IPMD_REMOUNT_PER=30 \
	IPMD_BENCH_QUICK=0
asan:
	$(ASAN_SCALE) $(MAKE) BUILD=build-asan SAN=1 OPT=-O1 check

bench: $(BIN) $(BENCH_BIN) $(TOOL_BIN)
	BUILD=$(BUILD) bench/run

bench-quick: $(BIN) $(BENCH_BIN) $(TOOL_BIN)
	BUILD=$(BUILD) bench/run --quick

# What install puts where, and so what uninstall removes: nothing else.
MANDIR   := $(PREFIX)/share/man
MAN_SRC  := $(wildcard man/*.1 man/*.5 man/*.8)
# man/NAME.S goes to $(MANDIR)/manS/NAME.S.
MAN_DEST  = $(foreach m,$(MAN_SRC),$(MANDIR)/man$(subst .,,$(suffix $(m)))/$(notdir $(m)))
# mount(8) runs mount.fuse.ipmaildir for type fuse.ipmaildir: its page is
# mount.ipmaildir(8), under that name too.
MAN_LINK := $(MANDIR)/man8/mount.fuse.ipmaildir.8
HELPERS  := $(PREFIX)/sbin/mount.ipmaildir $(PREFIX)/sbin/mount.fuse.ipmaildir
COMPDIR  ?= $(PREFIX)/share/bash-completion/completions
INSTALLED = $(PREFIX)/bin/ipmaildir $(HELPERS) $(MAN_DEST) $(MAN_LINK) \
	$(UNITDIR)/ipmaildir@.service $(COMPDIR)/ipmaildir

install: $(BIN)
	install -d $(DESTDIR)$(PREFIX)/bin $(DESTDIR)$(PREFIX)/sbin \
		$(DESTDIR)$(MANDIR)/man1 $(DESTDIR)$(MANDIR)/man5 \
		$(DESTDIR)$(MANDIR)/man8 $(DESTDIR)$(UNITDIR) $(DESTDIR)$(COMPDIR)
	install -m 0755 $(BIN) $(DESTDIR)$(PREFIX)/bin/ipmaildir
	for h in $(HELPERS); do ln -sf ../bin/ipmaildir $(DESTDIR)$$h; done
	sed 's|@BINDIR@|$(PREFIX)/bin|g' docs/systemd/ipmaildir@.service \
		>$(DESTDIR)$(UNITDIR)/ipmaildir@.service
	chmod 0644 $(DESTDIR)$(UNITDIR)/ipmaildir@.service
	for m in $(MAN_SRC); do \
		install -m 0644 $$m $(DESTDIR)$(MANDIR)/man$${m##*.}/ || exit 1; \
	done
	ln -sf mount.ipmaildir.8 $(DESTDIR)$(MAN_LINK)
	install -m 0644 docs/bash-completion/ipmaildir $(DESTDIR)$(COMPDIR)/ipmaildir

# Exactly the files install made (directories stay: others may share
# them); one already gone is no error.
uninstall:
	rm -f $(addprefix $(DESTDIR),$(INSTALLED))

# Idempotent: apt-get runs only when a package is missing.
deps:
	@.ci/deps

# Fuzz targets (tests/fuzz/fuzz_*.c, libFuzzer with clang): `make fuzz`
# builds them into $(FUZZ_BUILD)/fuzz/; `make fuzz-run` runs each for
# FUZZ_SECONDS on a copy of its seed corpus (tests/fuzz/corpus/NAME/).
FUZZ_BUILD   ?= build-fuzz
FUZZ_SECONDS ?= 20
FUZZ_SRC := $(wildcard tests/fuzz/fuzz_*.c)
FUZZ_BIN := $(FUZZ_SRC:tests/fuzz/%.c=$(BUILD)/fuzz/%)

$(BUILD)/fuzz/%: tests/fuzz/%.c $(BUILD)/libipmaildir.a
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -fsanitize=fuzzer -o $@ $< $(BUILD)/libipmaildir.a $(LDLIBS)

.PHONY: fuzz fuzz-bins fuzz-run
fuzz:
	$(MAKE) BUILD=$(FUZZ_BUILD) CC=clang SAN=fuzz OPT=-O1 fuzz-bins
fuzz-bins: $(FUZZ_BIN)
fuzz-run: fuzz
	FUZZ_BUILD=$(FUZZ_BUILD) FUZZ_SECONDS=$(FUZZ_SECONDS) tests/fuzz/run

clean:
	rm -rf build build-asan build-fuzz

-include $(LIB_OBJ:.o=.d) $(MAIN_OBJ:.o=.d) $(UNIT_BIN:=.d) $(TOOL_BIN:=.d) \
	$(FUZZ_BIN:=.d) $(TEST_LIB:.o=.d) $(FUSE_STUB:.o=.d)
