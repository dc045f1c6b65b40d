# ---- tests.mk: the test suite's own goals ----
#   make golden          run the renderers' golden tests; every output that
#                        differs is written next to its golden file as .new and
#                        shown as a diff, for a person to review
#   make golden-accept   move the reviewed .new files over the golden files
.PHONY: golden golden-accept
golden: all $(UNIT_BINS)
	@BUILD=$(BUILD) test/run.sh unit/test_report >/dev/null; \
	set -- $$(ls test/golden/*.new 2>/dev/null); \
	if [ $$# -eq 0 ]; then echo "golden: every golden file matches"; exit 0; fi; \
	for f in "$$@"; do \
		if [ -f "$${f%.new}" ]; then diff -u "$${f%.new}" "$$f"; \
		else echo "new golden file $$f:"; cat "$$f"; fi; \
	done; \
	echo "golden: $$# file(s) differ; review the diffs above, then make golden-accept"
golden-accept:
	@set -- $$(ls test/golden/*.new 2>/dev/null); \
	[ $$# -gt 0 ] || { echo "golden-accept: no test/golden/*.new to accept (make golden first)"; exit 0; }; \
	for f in "$$@"; do mv "$$f" "$${f%.new}" && echo "accepted $${f%.new}"; done
# ---- end tests.mk ----
