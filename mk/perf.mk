# ---- perf.mk: load benchmarks (issue 15) ----
#   make bench        the load benchmarks of test/bench/run.sh, all on 127.0.0.1
#                     (about 3 minutes; BENCH_SECONDS per load phase, default 10);
#                     ends with one machine-readable line per figure:
#                       ratio <name> <value>
#                       figure <name> <value> <unit>
#                     BENCH_HISTORY_DAYS=7 adds the 7-day history store (~12 min)
#   make fuzz-bench   every fuzz target for FUZZ_BENCH_RUNS executions under
#                     ASan/UBSan (fails when one crashes or cannot reach them
#                     within FUZZ_MAX_SECONDS); was the tail of make bench
.PHONY: bench fuzz-bench
BENCH_TOOLS := $(BUILD)/test/tools/ingestload $(BUILD)/test/tools/history7d \
	$(BUILD)/test/tools/meshtool
bench: all $(BENCH_TOOLS)
	@BUILD=$(BUILD) test/bench/run.sh

FUZZ_BENCH_RUNS ?= 1000000
fuzz-bench: $(FUZZ_BINS)
	@echo "== fuzz: $(FUZZ_BENCH_RUNS) executions per target"; \
	FUZZ_DIR=$(FUZZ) test/fuzz/run.sh runs $(FUZZ_BENCH_RUNS) $(FUZZ_TARGETS)
# ---- end perf.mk ----
