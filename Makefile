# ipmaildir — plain Makefile; libraries through pkg-config.
#
#   make            build build/ipmaildir
#   make deps       install (apt-get) everything build, tests and bench need
#   make check      unit + integration tests (prove)
#   make asan       the same suite under AddressSanitizer + UBSan (build-asan/)
#   make bench      benchmarks (bench/), side by side with the baselines
#   make install    PREFIX=/usr/local DESTDIR=
#   make clean

PREFIX  ?= /usr/local
DESTDIR ?=
BUILD   ?= build
CC      ?= cc
PKGS    := fuse3 libsodium libcurl jansson libxxhash libcrypto

PKG_CFLAGS := $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
PKG_LIBS   := $(shell pkg-config --libs $(PKGS) 2>/dev/null)

OPT      ?= -O2
CFLAGS   ?= $(OPT) -g
WARN     := -Wall -Wextra -Werror -Wshadow -Wstrict-prototypes -Wvla
ALL_CFLAGS = -std=c17 -D_GNU_SOURCE -D_FILE_OFFSET_BITS=64 \
	$(WARN) -I. $(PKG_CFLAGS) $(SAN_FLAGS) $(CFLAGS) -MMD -MP
LDLIBS   := $(PKG_LIBS) -lpthread

ifeq ($(SAN),1)
SAN_FLAGS := -fsanitize=address,undefined -fno-omit-frame-pointer \
	-fno-sanitize-recover=all
endif

MODULE_DIRS := crypto ipfs cache fs
LIB_SRC  := $(filter-out fs/main.c,$(wildcard $(addsuffix /*.c,$(MODULE_DIRS))))
LIB_OBJ  := $(LIB_SRC:%.c=$(BUILD)/%.o)
MAIN_OBJ := $(BUILD)/fs/main.o
BIN      := $(BUILD)/ipmaildir

UNIT_SRC := $(wildcard tests/unit/test_*.c)
UNIT_BIN := $(UNIT_SRC:tests/unit/%.c=$(BUILD)/tests/%)
TEST_LIB := $(BUILD)/tests/tap.o
# Standalone programs the integration scripts run (conformance, deliverers).
TOOL_SRC := $(wildcard tests/tools/*.c)
TOOL_BIN := $(TOOL_SRC:tests/tools/%.c=$(BUILD)/tests/tools/%)

BENCH_SRC := $(wildcard bench/*.c)
BENCH_BIN := $(BENCH_SRC:bench/%.c=$(BUILD)/bench/%)

.PHONY: all check unit integration asan bench bench-quick install clean deps
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
	$(CC) $(ALL_CFLAGS) -o $@ $< $(TEST_LIB) $(BUILD)/libipmaildir.a $(LDLIBS)

$(BUILD)/tests/tools/%: tests/tools/%.c
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -o $@ $< $(LDLIBS)

$(BUILD)/tests/tap.o: tests/tap.c
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -c -o $@ $<

$(BUILD)/bench/%: bench/%.c $(BUILD)/libipmaildir.a
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -o $@ $< $(BUILD)/libipmaildir.a $(LDLIBS)

# The suite: unit test binaries and integration scripts, all TAP, under prove.
check: $(BIN) $(UNIT_BIN) $(TOOL_BIN)
	BUILD=$(BUILD) tests/run

unit: $(UNIT_BIN)
	BUILD=$(BUILD) tests/run unit

integration: $(BIN) $(TOOL_BIN)
	BUILD=$(BUILD) tests/run integration

asan:
	$(MAKE) BUILD=build-asan SAN=1 OPT=-O1 check

bench: $(BIN) $(BENCH_BIN) $(TOOL_BIN)
	BUILD=$(BUILD) bench/run

bench-quick: $(BIN) $(BENCH_BIN) $(TOOL_BIN)
	BUILD=$(BUILD) bench/run --quick

install: $(BIN)
	install -d $(DESTDIR)$(PREFIX)/bin $(DESTDIR)$(PREFIX)/sbin \
		$(DESTDIR)$(PREFIX)/share/man/man1 \
		$(DESTDIR)$(PREFIX)/share/man/man5 \
		$(DESTDIR)$(PREFIX)/share/man/man8
	install -m 0755 $(BIN) $(DESTDIR)$(PREFIX)/bin/ipmaildir
	ln -sf ../bin/ipmaildir $(DESTDIR)$(PREFIX)/sbin/mount.ipmaildir
	for m in man/*.1; do [ -e "$$m" ] && install -m 0644 $$m $(DESTDIR)$(PREFIX)/share/man/man1/; done; true
	for m in man/*.5; do [ -e "$$m" ] && install -m 0644 $$m $(DESTDIR)$(PREFIX)/share/man/man5/; done; true
	for m in man/*.8; do [ -e "$$m" ] && install -m 0644 $$m $(DESTDIR)$(PREFIX)/share/man/man8/; done; true

# Idempotent: apt-get runs only when a package is missing.
deps:
	@.ci/deps

clean:
	rm -rf build build-asan

-include $(LIB_OBJ:.o=.d) $(MAIN_OBJ:.o=.d) $(UNIT_BIN:=.d) $(TOOL_BIN:=.d)
