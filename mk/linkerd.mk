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

# `make test-cluster`: conform on a real cluster with Linkerd
# (test/cluster/linkerd_kind.sh: the cluster KUBECONFIG points at, else a
# kind cluster with linkerd install and viz; a healthy run green, --mesh
# none red for the mesh checks, every Linkerd matrix row caught). Without kubectl, a reachable
# cluster, or kind + docker + the linkerd CLI to make one, it says what is
# missing and skips (exit 0), so the offline suite (`make test`) stays the
# gate where no cluster can run.
.PHONY: test-cluster
test-cluster: all
	@test/cluster/linkerd_kind.sh
# ---- end linkerd ----
