# voxtrace build. `make` builds build/voxtrace; `make run` and `make test` are the README's two
# commands and install whatever is missing first (scripts/install-deps.sh).
#
#   make                  build/voxtrace
#   make run              build, then serve with SQLite in ./voxtrace-data (demo data on first start)
#   make test             unit tests (cmocka), the same under ASan+UBSan, integration tests, then
#                         the browser suites (headless Chromium against the UI)
#   make unit             unit tests only          make integration   node:test suites only
#   make browser          browser suites only (writes docs/screenshots/*.png)
#   make SANITIZE=1       build into build-san/ with AddressSanitizer and UBSan
#   make bench            the benchmarks: ingest (bench/README.md), then opening a 100,000-span trace
#   make fuzz             every libFuzzer driver for FUZZ_SECONDS (default 20) each (clang)

PKGS     := libmicrohttpd sqlite3 libprotobuf-c jansson zlib libsodium libcurl
CC       ?= cc
OPT      ?= -O2
WARN     := -Wall -Wextra -Werror -Wshadow -Wstrict-prototypes -Wmissing-prototypes \
            -Wno-missing-field-initializers
BASEFLAGS = -std=c11 -g $(OPT) -D_GNU_SOURCE -pthread -fno-strict-aliasing

ifeq ($(FUZZ),1)
BUILD    ?= build-fuzz
BASEFLAGS += -fsanitize=fuzzer-no-link,address,undefined -fno-omit-frame-pointer
else ifeq ($(SANITIZE),1)
BUILD    ?= build-san
BASEFLAGS += -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined
else
BUILD    ?= build
endif

PKG_CFLAGS = $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
PKG_LIBS   = $(shell pkg-config --libs $(PKGS) 2>/dev/null)
CFLAGS    += $(BASEFLAGS) $(PKG_CFLAGS) -I$(BUILD)/gen -Isrc
LDLIBS    += $(PKG_LIBS) -lm
LDFLAGS   += $(filter -fsanitize=%,$(BASEFLAGS)) -pthread

PROTOS   := $(shell find proto -name '*.proto' | sort)
GEN_C    := $(patsubst proto/%.proto,$(BUILD)/gen/%.pb-c.c,$(PROTOS))
GEN_H    := $(GEN_C:.c=.h)
GEN_OBJ  := $(GEN_C:.c=.o)

# The UI: every file under web/ (hidden ones excepted) is compiled into the binary as a byte
# array by tools/embed_web.c. The folders are prerequisites too, so adding or removing a file
# regenerates the table.
WEB_FILES := $(shell find web -type f ! -path '*/.*' 2>/dev/null | LC_ALL=C sort)
WEB_DIRS  := $(shell find web -type d ! -path '*/.*' 2>/dev/null)
EMBED_WEB := $(BUILD)/tools/embed_web
WEB_GEN   := $(BUILD)/gen/web_assets.c
WEB_OBJ   := $(BUILD)/gen/web_assets.o

SRCS     := $(shell find src -name '*.c' | sort)
OBJS     := $(patsubst src/%.c,$(BUILD)/obj/%.o,$(SRCS))
LIB_OBJS := $(filter-out $(BUILD)/obj/main.o,$(OBJS)) $(GEN_OBJ) $(WEB_OBJ)

UNIT_SRCS := $(wildcard tests/unit/test_*.c)
UNIT_BINS := $(patsubst tests/unit/%.c,$(BUILD)/tests/%,$(UNIT_SRCS))

.PHONY: all run test unit unit-san integration browser deps deps-test bench fuzz fuzz-run clean format lint
.DEFAULT_GOAL := all

all: $(BUILD)/voxtrace

deps:
	@scripts/install-deps.sh build

deps-test:
	@scripts/install-deps.sh test

$(BUILD)/voxtrace: $(OBJS) $(GEN_OBJ) $(WEB_OBJ)
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

# The generator is a plain host program: no sanitizers or fuzzing instrumentation, whatever the
# build, since it only runs during the build.
$(EMBED_WEB): tools/embed_web.c src/api/web_asset.h
	@mkdir -p $(dir $@)
	$(CC) -std=c11 -O2 $(WARN) -o $@ $<

$(WEB_GEN): $(EMBED_WEB) $(WEB_FILES) $(WEB_DIRS)
	@mkdir -p $(dir $@)
	$(EMBED_WEB) $@ web $(WEB_FILES)

$(WEB_OBJ): $(WEB_GEN) src/api/web_asset.h
	$(CC) $(CFLAGS) $(WARN) -c -o $@ $<

# Generated protobuf-c code, from the .proto files in proto/.
$(BUILD)/gen/%.pb-c.c $(BUILD)/gen/%.pb-c.h: proto/%.proto
	@mkdir -p $(BUILD)/gen
	protoc-c --proto_path=proto --c_out=$(BUILD)/gen $<

.SECONDARY: $(GEN_C) $(GEN_H)

# The generated code is not ours to fix, so it gets the warnings but not -Werror.
$(BUILD)/gen/%.pb-c.o: $(BUILD)/gen/%.pb-c.c $(GEN_H)
	$(CC) $(BASEFLAGS) $(PKG_CFLAGS) -I$(BUILD)/gen -w -c -o $@ $<

$(BUILD)/obj/%.o: src/%.c $(GEN_H)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(WARN) -MMD -MP -c -o $@ $<

-include $(OBJS:.o=.d)

# Unit tests: one cmocka binary per tests/unit/test_<module>.c, linked with everything but main.
$(BUILD)/tests/%: tests/unit/%.c $(LIB_OBJS)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(WARN) -Wno-missing-prototypes -o $@ $< $(LIB_OBJS) $(LDFLAGS) $(LDLIBS) $(shell pkg-config --libs cmocka)

unit: $(UNIT_BINS)
	@scripts/run-unit.sh $(UNIT_BINS)

unit-san:
	@$(MAKE) --no-print-directory SANITIZE=1 unit

integration: $(BUILD)/voxtrace
	@VOXTRACE_BIN=$(abspath $(BUILD)/voxtrace) node --test --test-concurrency=1 tests/integration/

# Headless Chromium (Debian's chromium, driven by playwright-core) against the real binary with demo
# data; the suites also take the README's screenshots.
browser: $(BUILD)/voxtrace
	@VOXTRACE_BIN=$(abspath $(BUILD)/voxtrace) node --test --test-concurrency=1 tests/browser/

test: deps-test
	@scripts/lint.sh
	@$(MAKE) --no-print-directory unit
	@$(MAKE) --no-print-directory unit-san
	@$(MAKE) --no-print-directory integration
	@$(MAKE) --no-print-directory browser
	@$(MAKE) --no-print-directory fuzz

run: deps
	@$(MAKE) --no-print-directory all
	$(BUILD)/voxtrace serve --demo

bench: deps-test all
	@bench/run.sh
	@VOXTRACE_BIN=$(abspath $(BUILD)/voxtrace) node bench/viewer.mjs

# Fuzzing: the library objects are built with clang and -fsanitize=fuzzer-no-link into
# build-fuzz/, each driver in tests/fuzz/ is linked with libFuzzer and run on a copy of its
# checked-in corpus for FUZZ_SECONDS.
FUZZ_SECONDS ?= 20
FUZZ_DRIVERS := $(patsubst tests/fuzz/%.c,%,$(wildcard tests/fuzz/fuzz_*.c))

fuzz:
	@$(MAKE) --no-print-directory CC=clang FUZZ=1 OPT=-O1 fuzz-run

fuzz-run: $(patsubst %,$(BUILD)/fuzzers/%,$(FUZZ_DRIVERS))
	@scripts/run-fuzz.sh $(BUILD) $(FUZZ_SECONDS) $(FUZZ_DRIVERS)

$(BUILD)/fuzzers/%: tests/fuzz/%.c $(LIB_OBJS)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -fsanitize=fuzzer -o $@ $< $(LIB_OBJS) $(LDLIBS)

clean:
	rm -rf build build-san build-fuzz

format:
	clang-format -i $(SRCS) $(shell find src tests/unit -name '*.h') $(UNIT_SRCS)

lint:
	@scripts/lint.sh
