# ---- install (mk/install.mk): make install / uninstall, man pages, completions ----
#   make install [PREFIX=/usr/local] [DESTDIR=]   the three binaries, man pages,
#        bash/zsh/fish completions, manifests/ under share/conform/
#   make uninstall [PREFIX=...] [DESTDIR=]
# The man pages and completions are generated at build time by the conform
# binary from the tables behind --help (`conform __man PAGE`,
# `conform completion SHELL`); conformd's and conform-workload's pages wrap
# their own --help text.
PREFIX ?= /usr/local
DESTDIR ?=
bindir := $(PREFIX)/bin
mandir := $(PREFIX)/share/man
datadir := $(PREFIX)/share/conform
bashcompdir := $(PREFIX)/share/bash-completion/completions
zshcompdir := $(PREFIX)/share/zsh/site-functions
fishcompdir := $(PREFIX)/share/fish/vendor_completions.d
INSTALL ?= install

DOCGEN := $(BUILD)/doc
MAN_PAGES := $(DOCGEN)/conform.1 $(DOCGEN)/conformd.8 $(DOCGEN)/conform-workload.1
COMPLETIONS := $(DOCGEN)/conform.bash $(DOCGEN)/_conform $(DOCGEN)/conform.fish
MANIFEST_FILES := $(shell find manifests -type f 2>/dev/null | sort)

.PHONY: install uninstall docs
all: docs
docs: $(MAN_PAGES) $(COMPLETIONS)

$(DOCGEN)/conform.1: $(BIN)/conform
	@mkdir -p $(dir $@)
	$(call say,MAN,$@)$(BIN)/conform __man conform > $@.tmp && mv $@.tmp $@
$(DOCGEN)/conformd.8: $(BIN)/conformd $(BIN)/conform
	@mkdir -p $(dir $@)
	$(call say,MAN,$@)$(BIN)/conformd --help | $(BIN)/conform __man conformd > $@.tmp && mv $@.tmp $@
$(DOCGEN)/conform-workload.1: $(BIN)/conform-workload $(BIN)/conform
	@mkdir -p $(dir $@)
	$(call say,MAN,$@)$(BIN)/conform-workload --help | $(BIN)/conform __man conform-workload > $@.tmp && mv $@.tmp $@
$(DOCGEN)/conform.bash: $(BIN)/conform
	@mkdir -p $(dir $@)
	$(call say,GEN,$@)$(BIN)/conform completion bash > $@.tmp && mv $@.tmp $@
$(DOCGEN)/_conform: $(BIN)/conform
	@mkdir -p $(dir $@)
	$(call say,GEN,$@)$(BIN)/conform completion zsh > $@.tmp && mv $@.tmp $@
$(DOCGEN)/conform.fish: $(BIN)/conform
	@mkdir -p $(dir $@)
	$(call say,GEN,$@)$(BIN)/conform completion fish > $@.tmp && mv $@.tmp $@

install: all
	$(INSTALL) -d $(DESTDIR)$(bindir) $(DESTDIR)$(mandir)/man1 $(DESTDIR)$(mandir)/man8 \
		$(DESTDIR)$(bashcompdir) $(DESTDIR)$(zshcompdir) $(DESTDIR)$(fishcompdir)
	$(INSTALL) -m 755 $(PROGS) $(DESTDIR)$(bindir)/
	$(INSTALL) -m 644 $(DOCGEN)/conform.1 $(DOCGEN)/conform-workload.1 $(DESTDIR)$(mandir)/man1/
	$(INSTALL) -m 644 $(DOCGEN)/conformd.8 $(DESTDIR)$(mandir)/man8/
	$(INSTALL) -m 644 $(DOCGEN)/conform.bash $(DESTDIR)$(bashcompdir)/conform
	$(INSTALL) -m 644 $(DOCGEN)/_conform $(DESTDIR)$(zshcompdir)/_conform
	$(INSTALL) -m 644 $(DOCGEN)/conform.fish $(DESTDIR)$(fishcompdir)/conform.fish
	@for f in $(MANIFEST_FILES); do \
		$(INSTALL) -D -m 644 $$f $(DESTDIR)$(datadir)/$$f || exit 1; \
	done

uninstall:
	rm -f $(addprefix $(DESTDIR)$(bindir)/,conform conformd conform-workload)
	rm -f $(DESTDIR)$(mandir)/man1/conform.1 $(DESTDIR)$(mandir)/man1/conform-workload.1 \
		$(DESTDIR)$(mandir)/man8/conformd.8
	rm -f $(DESTDIR)$(bashcompdir)/conform $(DESTDIR)$(zshcompdir)/_conform \
		$(DESTDIR)$(fishcompdir)/conform.fish
	rm -rf $(DESTDIR)$(datadir)
# ---- end install ----
