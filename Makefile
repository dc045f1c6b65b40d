# conform - one plain GNU Makefile. `make` builds, `make test` proves,
# `make demo` runs a local conformance run. Every goal first makes sure the
# Debian packages are present (scripts/deps.sh, a fast no-op when they are).
#   DEVELOPER=1                 warnings are errors
#   SANITIZE=address,undefined  sanitizer build (into build/san)

PKGS := grpc libprotobuf-c libcurl libmicrohttpd libcjson sqlite3 openssl ncursesw

ifneq ($(SANITIZE),)
BUILD ?= build/san
else
BUILD ?= build
endif
BIN := $(BUILD)/bin
OBJ := $(BUILD)/obj
GEN := $(BUILD)/gen

CC ?= cc
CFLAGS ?= -O2 -g
WARN := -Wall -Wextra -Wshadow -Wstrict-prototypes -Wmissing-prototypes -Wvla \
	-Wwrite-strings -Wformat=2
ifeq ($(DEVELOPER),1)
WARN += -Werror
endif
ALL_CFLAGS = -std=c11 -D_GNU_SOURCE -MMD -MP -Ilib -I$(GEN) $(PKG_CFLAGS) $(CFLAGS)
ALL_LDFLAGS = $(LDFLAGS)
ifneq ($(SANITIZE),)
ALL_CFLAGS += -fsanitize=$(SANITIZE) -fno-omit-frame-pointer -fno-sanitize-recover=all
ALL_LDFLAGS += -fsanitize=$(SANITIZE)
endif
LIBS = $(PKG_LIBS) -lpthread -lm

ifeq ($(V),1)
Q :=
say :=
else
Q := @
say = @echo "  $(1)	$(2)";
endif

LIB_SRCS := $(sort $(shell find lib -name "*.c"))
CONFORM_SRCS := $(sort $(wildcard cmd/conform/*.c))
CONFORMD_SRCS := $(sort $(wildcard cmd/conformd/*.c))
WORKLOAD_SRCS := $(sort $(wildcard workloads/*.c))
UNIT_SRCS := $(sort $(wildcard test/unit/test_*.c))
TOOL_SRCS := $(sort $(wildcard test/tools/*.c))
PROTO_C := $(GEN)/conform.pb-c.c

obj = $(patsubst %.c,$(OBJ)/%.o,$(1))
LIB_OBJS := $(call obj,$(LIB_SRCS)) $(OBJ)/gen/conform.pb-c.o
LIBA := $(BUILD)/libconform.a
PROGS := $(BIN)/conform $(BIN)/conformd $(BIN)/conform-workload
UNIT_BINS := $(patsubst test/unit/%.c,$(BUILD)/test/%,$(UNIT_SRCS))
TOOL_BINS := $(patsubst test/tools/%.c,$(BUILD)/test/tools/%,$(TOOL_SRCS))

.PHONY: all deps test unit e2e demo bench clean golden help fuzz fuzz-smoke
.SECONDARY:
all: deps $(PROGS)

# Goals that need no packages must not install any.
NODEPS_GOALS := clean help
ifneq ($(filter-out $(NODEPS_GOALS),$(or $(MAKECMDGOALS),all)),)
-include $(BUILD)/config.mk
endif

deps:
	@scripts/deps.sh

$(BUILD)/config.mk: Makefile scripts/deps.sh
	@scripts/deps.sh
	@mkdir -p $(BUILD)
	@{ echo "PKG_CFLAGS := $$(pkg-config --cflags $(PKGS))"; \
	   echo "PKG_LIBS := $$(pkg-config --libs $(PKGS))"; } > $@.tmp && mv $@.tmp $@

$(PROTO_C): proto/conform.proto | $(BUILD)/config.mk
	@mkdir -p $(GEN)
	$(call say,PROTOC,$<)protoc-c --proto_path=proto --c_out=$(GEN) $<
$(GEN)/conform.pb-c.h: $(PROTO_C)

# generated code: compiled without our stricter warnings
$(OBJ)/gen/conform.pb-c.o: $(PROTO_C)
	@mkdir -p $(dir $@)
	$(call say,CC,$@)$(CC) $(ALL_CFLAGS) -w -c -o $@ $<

$(OBJ)/%.o: %.c | $(GEN)/conform.pb-c.h
	@mkdir -p $(dir $@)
	$(call say,CC,$<)$(CC) $(ALL_CFLAGS) $(WARN) -c -o $@ $<

$(LIBA): $(LIB_OBJS)
	@rm -f $@
	$(call say,AR,$@)$(AR) rcs $@ $^

$(BIN)/conform: $(call obj,$(CONFORM_SRCS)) $(LIBA)
	@mkdir -p $(dir $@)
	$(call say,LINK,$@)$(CC) $(ALL_CFLAGS) -o $@ $^ $(ALL_LDFLAGS) $(LIBS)
$(BIN)/conformd: $(call obj,$(CONFORMD_SRCS)) $(LIBA)
	@mkdir -p $(dir $@)
	$(call say,LINK,$@)$(CC) $(ALL_CFLAGS) -o $@ $^ $(ALL_LDFLAGS) $(LIBS)
$(BIN)/conform-workload: $(call obj,$(WORKLOAD_SRCS)) $(LIBA)
	@mkdir -p $(dir $@)
	$(call say,LINK,$@)$(CC) $(ALL_CFLAGS) -o $@ $^ $(ALL_LDFLAGS) $(LIBS)

$(BUILD)/test/tools/%: $(OBJ)/test/tools/%.o $(LIBA)
	@mkdir -p $(dir $@)
	$(call say,LINK,$@)$(CC) $(ALL_CFLAGS) -o $@ $^ $(ALL_LDFLAGS) $(LIBS)
$(BUILD)/test/%: $(OBJ)/test/unit/%.o $(LIBA)
	@mkdir -p $(dir $@)
	$(call say,LINK,$@)$(CC) $(ALL_CFLAGS) -o $@ $^ $(ALL_LDFLAGS) $(LIBS)

# `make test`: unit tests then end-to-end tests; the last line is
# "N passed, N failed, N skipped". TESTS=pattern narrows it (e.g. TESTS=unit,
# TESTS=e2e/mesh). Runner knobs (test/run.sh): E2E_JOBS, TEST_TIMEOUT.
test: all $(UNIT_BINS) $(TOOL_BINS)
	@BUILD=$(BUILD) SANITIZE=$(SANITIZE) test/run.sh $(TESTS)

unit: all $(UNIT_BINS) $(TOOL_BINS)
	@BUILD=$(BUILD) test/run.sh unit

demo: all
	$(BIN)/conform run --duration 60s


clean:
	rm -rf build

help:
	@echo "make         build build/bin/{conform,conformd,conform-workload}"
	@echo "make test    unit + end-to-end tests (DEVELOPER=1, SANITIZE=address,undefined)"
	@echo "make demo    a 60 s local conformance run ending in a report"
	@echo "make bench   load benchmarks against wrk/h2load/nginx (~3 min), ending in ratio/figure lines"
	@echo "make fuzz-bench  1M executions per fuzz target under ASan/UBSan"
	@echo "make soak    10-minute soak (RSS/fd growth) and a 7-day history (report time, DB size)"
	@echo "make fuzz    libFuzzer targets for every parser of outside input (FUZZ_SECONDS=60)"
	@echo "make deps    install missing Debian packages"

# ---- soak (test/bench/soak.sh, test/tools/history7d.c): does a long run stay bounded ----
#   make soak [SOAK_SECONDS=600] [SOAK_DAYS=7]
#   1. a real run on the HAProxy mesh at 200 req/s per check, 10 s windows: RSS and
#      open fds of conformd, every workload and sidecar sampled every 5 s into the
#      run dir; fails when one grows beyond +-5 % after the warm-up (rule in soak.sh);
#      the database's size over time and per check-hour/day;
#   2. a synthetic SOAK_DAYS-day store: its size, report build and render times.
SOAK_SECONDS ?= 600
SOAK_DAYS ?= 7
.PHONY: soak
soak: all $(BUILD)/test/tools/history7d
	@BUILD=$(BUILD) SOAK_SECONDS=$(SOAK_SECONDS) test/bench/soak.sh; rc=$$?; \
	$(BUILD)/test/tools/history7d --days $(SOAK_DAYS) || rc=1; exit $$rc
# ---- end soak ----

# ---- fuzz (test/fuzz/): one libFuzzer target per parser of outside input ----
#   make fuzz [FUZZ_SECONDS=60]  run each target for a bounded time, print executions
#   make fuzz-smoke              each target for FUZZ_SMOKE_RUNS inputs (make test runs it)
# Needs clang and libclang-rt-dev (the default clang's libFuzzer runtime). Everything is built into $(BUILD)/fuzz with
# -fsanitize=fuzzer(-no-link),address,undefined; lib/ is compiled again that way.
FUZZ_CC ?= clang
FUZZ := $(BUILD)/fuzz
FUZZ_SECONDS ?= 60
FUZZ_SMOKE_RUNS ?= 20000
FUZZ_CFLAGS = -std=c11 -D_GNU_SOURCE -MMD -MP -g -O1 -Ilib -I$(GEN) $(PKG_CFLAGS) \
	-fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer \
	$(if $(shell grep -s -l collector_validate_batch lib/ingest/collector.h),-DFUZZ_HAVE_VALIDATE_BATCH)
FUZZ_TARGETS := $(patsubst test/fuzz/%.c,%,$(sort $(wildcard test/fuzz/fuzz_*.c)))
FUZZ_BINS := $(addprefix $(FUZZ)/,$(FUZZ_TARGETS))
FUZZ_LIBA := $(FUZZ)/libconform.a

$(FUZZ)/obj/gen/conform.pb-c.o: $(PROTO_C)
	@mkdir -p $(dir $@)
	$(call say,FUZZCC,$@)$(FUZZ_CC) $(FUZZ_CFLAGS) -fsanitize=fuzzer-no-link -w -c -o $@ $<
# lib/ is held to -Werror by the cc build; clang's extra warnings there only warn
$(FUZZ)/obj/lib/%.o: lib/%.c | $(GEN)/conform.pb-c.h
	@mkdir -p $(dir $@)
	$(call say,FUZZCC,$<)$(FUZZ_CC) $(FUZZ_CFLAGS) -fsanitize=fuzzer-no-link \
		$(filter-out -Werror,$(WARN)) -c -o $@ $<
$(FUZZ)/obj/test/fuzz/%.o: test/fuzz/%.c | $(GEN)/conform.pb-c.h
	@mkdir -p $(dir $@)
	$(call say,FUZZCC,$<)$(FUZZ_CC) $(FUZZ_CFLAGS) -fsanitize=fuzzer-no-link $(WARN) -c -o $@ $<
$(FUZZ_LIBA): $(patsubst %.c,$(FUZZ)/obj/%.o,$(LIB_SRCS)) $(FUZZ)/obj/gen/conform.pb-c.o
	@rm -f $@
	$(call say,AR,$@)$(AR) rcs $@ $^
$(FUZZ)/fuzz_%: $(FUZZ)/obj/test/fuzz/fuzz_%.o $(FUZZ_LIBA)
	$(call say,LINK,$@)$(FUZZ_CC) $(FUZZ_CFLAGS) -fsanitize=fuzzer -o $@ $^ $(LIBS)

fuzz: $(FUZZ_BINS)
	@FUZZ_DIR=$(FUZZ) test/fuzz/run.sh time $(FUZZ_SECONDS) $(FUZZ_TARGETS)
fuzz-smoke: $(FUZZ_BINS)
	@FUZZ_DIR=$(FUZZ) test/fuzz/run.sh runs $(FUZZ_SMOKE_RUNS) $(FUZZ_TARGETS)
-include $(shell find $(FUZZ)/obj -name '*.d' 2>/dev/null)
# ---- end fuzz ----

# bench and fuzz-bench: mk/perf.mk

-include $(shell find $(OBJ) -name '*.d' 2>/dev/null)
include mk/install.mk
include mk/linkerd.mk
include mk/kube.mk
include mk/image.mk
include mk/tests.mk
include mk/perf.mk
