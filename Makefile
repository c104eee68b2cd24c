# The two commands of the README, and the pieces they are made of.
SWIFT ?= swift
PREFIX ?= /usr/local
SAMPLES := Tests/MARCTests/Fixtures/loc-books-50.mrc Tests/MARCTests/Fixtures/loc-cjk-20.mrc \
	Tests/MARCTests/Fixtures/dp2-bnu-cnmarc-sru.xml Tests/MARCTests/Fixtures/dp2-bnu-cnmarc-10.gb18030.iso \
	Tests/MARCTests/Fixtures/marc-charset-cjk1.marc Tests/MARCTests/Fixtures/pymarc-bad_records.mrc

.PHONY: build release run samples test deps clean install install-files uninstall man

build:
	$(SWIFT) build

release:
	$(SWIFT) build -c release --product calisd

# Command 1: build calisd (release) and run the daemon on the development config, with its state under var/:
# a sample member, a sample drop of real records ingested, then serving until Ctrl-C.
run: release
	scripts/run-dev

# The offline MARC tools on shipped samples of real records.
samples: release
	.build/release/calisd marc stats $(SAMPLES)
	.build/release/calisd marc validate --quiet $(SAMPLES) || true
	.build/release/calisd marc dump Tests/MARCTests/Fixtures/marc-charset-cjk1.marc

deps:
	scripts/install-test-deps

# Command 2: install the test oracles if missing, build everything once, run every test.
test: deps
	$(SWIFT) build --build-tests
	$(SWIFT) test --skip-build

clean:
	rm -rf .build

# Install where Debian expects things; DESTDIR and PREFIX are respected (a package builds with PREFIX=/usr).
# The configuration goes to /etc/calisd and is never overwritten; the unit's ExecStart follows PREFIX.
BINARY ?= .build/release/calisd
BINDIR = $(DESTDIR)$(PREFIX)/bin
UNITDIR = $(DESTDIR)$(PREFIX)/lib/systemd/system
install: release install-files

install-files:
	install -d $(BINDIR) $(UNITDIR) $(DESTDIR)$(PREFIX)/lib/sysusers.d $(DESTDIR)$(PREFIX)/lib/tmpfiles.d \
		$(DESTDIR)/etc/calisd $(DESTDIR)$(PREFIX)/share/bash-completion/completions \
		$(DESTDIR)$(PREFIX)/share/zsh/vendor-completions $(DESTDIR)$(PREFIX)/share/fish/vendor_completions.d \
		$(DESTDIR)$(PREFIX)/share/man/man1
	install -m 0755 $(BINARY) $(BINDIR)/calisd
	install -m 0644 man/calisd.1 $(DESTDIR)$(PREFIX)/share/man/man1/calisd.1
	sed 's#/usr/bin/calisd#$(PREFIX)/bin/calisd#' systemd/calisd.service > $(UNITDIR)/calisd.service
	chmod 0644 $(UNITDIR)/calisd.service
	install -m 0644 systemd/calisd.socket $(UNITDIR)/calisd.socket
	install -m 0644 systemd/calisd.sysusers $(DESTDIR)$(PREFIX)/lib/sysusers.d/calisd.conf
	install -m 0644 systemd/calisd.tmpfiles $(DESTDIR)$(PREFIX)/lib/tmpfiles.d/calisd.conf
	[ -e $(DESTDIR)/etc/calisd/calisd.toml ] || install -m 0640 etc/calisd.toml $(DESTDIR)/etc/calisd/calisd.toml
	$(BINARY) --generate-completion-script bash > $(DESTDIR)$(PREFIX)/share/bash-completion/completions/calisd
	$(BINARY) --generate-completion-script zsh > $(DESTDIR)$(PREFIX)/share/zsh/vendor-completions/_calisd
	$(BINARY) --generate-completion-script fish > $(DESTDIR)$(PREFIX)/share/fish/vendor_completions.d/calisd.fish

# Removes what install put there, except the configuration (it may hold the site's changes).
uninstall:
	rm -f $(BINDIR)/calisd $(UNITDIR)/calisd.service $(UNITDIR)/calisd.socket \
		$(DESTDIR)$(PREFIX)/lib/sysusers.d/calisd.conf $(DESTDIR)$(PREFIX)/lib/tmpfiles.d/calisd.conf \
		$(DESTDIR)$(PREFIX)/share/bash-completion/completions/calisd $(DESTDIR)$(PREFIX)/share/zsh/vendor-completions/_calisd \
		$(DESTDIR)$(PREFIX)/share/fish/vendor_completions.d/calisd.fish $(DESTDIR)$(PREFIX)/share/man/man1/calisd.1

# The man page, generated from the argument parser (swift-argument-parser's generate-manual plugin) and
# committed; run after changing a command.
man:
	$(SWIFT) package plugin generate-manual
	cp .build/plugins/GenerateManual/outputs/calisd/calisd.1 man/calisd.1
