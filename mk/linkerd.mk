# ---- linkerd (lib/mesh/linkerd/): the Linkerd adapter's observation formats ----
# The top Makefile compiles every lib/**/*.c; the adapter's tap decoder also
# needs proto/linkerd/tap.proto compiled by protoc-c (into $(GEN)/linkerd/,
# never committed), before its objects and into both archives (cc and fuzz).
LINKERD_SRCS := $(sort $(wildcard lib/mesh/linkerd/*.c))
LINKERD_PROTO_C := $(GEN)/linkerd/tap.pb-c.c
LINKERD_PROTO_H := $(GEN)/linkerd/tap.pb-c.h
LINKERD_OBJS := $(call obj,$(LINKERD_SRCS)) $(OBJ)/gen/linkerd/tap.pb-c.o
LINKERD_FUZZ_OBJS := $(patsubst %.c,$(FUZZ)/obj/%.o,$(LINKERD_SRCS)) \
	$(FUZZ)/obj/gen/linkerd/tap.pb-c.o

$(LINKERD_PROTO_C): proto/linkerd/tap.proto | $(BUILD)/config.mk
	@mkdir -p $(GEN)/linkerd
	$(call say,PROTOC,$<)protoc-c --proto_path=proto --c_out=$(GEN) $<
$(LINKERD_PROTO_H): $(LINKERD_PROTO_C)

# generated code: compiled without our stricter warnings
$(OBJ)/gen/linkerd/tap.pb-c.o: $(LINKERD_PROTO_C)
	@mkdir -p $(dir $@)
	$(call say,CC,$@)$(CC) $(ALL_CFLAGS) -w -c -o $@ $<
$(FUZZ)/obj/gen/linkerd/tap.pb-c.o: $(LINKERD_PROTO_C)
	@mkdir -p $(dir $@)
	$(call say,FUZZCC,$@)$(FUZZ_CC) $(FUZZ_CFLAGS) -fsanitize=fuzzer-no-link -w -c -o $@ $<

$(filter-out %.pb-c.o,$(LINKERD_OBJS) $(LINKERD_FUZZ_OBJS)): | $(LINKERD_PROTO_H)
# the API server double answers the tap API and the adapter's test encodes
# tap streams: both include the generated header
$(OBJ)/test/tools/kubedouble.o $(OBJ)/test/unit/test_linkerd.o: | $(LINKERD_PROTO_H)
$(LIBA): $(LINKERD_OBJS)
$(FUZZ_LIBA): $(LINKERD_FUZZ_OBJS)

# `make test-cluster`: Linkerd on a real cluster (kind + linkerd install),
# every check green and every fault caught. Needs kind, linkerd and a
# reachable cluster; without them it says so and skips (exit 0), so the
# offline suite (`make test`) stays the gate here.
.PHONY: test-cluster
test-cluster: all
	@missing=""; for t in kind linkerd kubectl; do command -v $$t >/dev/null 2>&1 || missing="$$missing $$t"; done; \
	if [ -n "$$missing" ]; then \
		echo "test-cluster: skipped: missing$$missing (needs kind, the linkerd CLI and a cluster; see docs/linkerd.md)"; exit 0; fi; \
	if ! kubectl version >/dev/null 2>&1; then \
		echo "test-cluster: skipped: no reachable cluster (kubectl version failed)"; exit 0; fi; \
	echo "test-cluster: the cluster scenario needs the kubernetes platform; not runnable yet" >&2; exit 1
# ---- end linkerd ----
