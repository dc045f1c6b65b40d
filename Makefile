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

LIB_SRCS := $(sort $(wildcard lib/*.c lib/*/*.c))
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

.PHONY: all deps test unit e2e demo bench clean golden help
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
# "N passed, N failed". TESTS=pattern narrows it (e.g. TESTS=unit, TESTS=e2e_fault).
test: all $(UNIT_BINS) $(TOOL_BINS)
	@BUILD=$(BUILD) test/run.sh $(TESTS)

unit: all $(UNIT_BINS) $(TOOL_BINS)
	@BUILD=$(BUILD) test/run.sh unit

# Renderer golden files: regenerate after an intended change to a report.
golden: all $(UNIT_BINS)
	@UPDATE_GOLDEN=1 BUILD=$(BUILD) test/run.sh unit

demo: all
	$(BIN)/conform run --duration 60s

bench: all
	@BUILD=$(BUILD) test/bench/run.sh

clean:
	rm -rf build

help:
	@echo "make         build build/bin/{conform,conformd,conform-workload}"
	@echo "make test    unit + end-to-end tests (DEVELOPER=1, SANITIZE=address,undefined)"
	@echo "make demo    a 60 s local conformance run ending in a report"
	@echo "make bench   throughput benchmarks against wrk/h2load"
	@echo "make deps    install missing Debian packages"

-include $(shell find $(OBJ) -name '*.d' 2>/dev/null)
