# The two commands of the README, and the pieces they are made of.
SWIFT ?= swift
PREFIX ?= /usr/local
SAMPLES := Tests/MARCTests/Fixtures/loc-books-50.mrc Tests/MARCTests/Fixtures/loc-cjk-20.mrc \
	Tests/MARCTests/Fixtures/dp2-bnu-cnmarc-sru.xml Tests/MARCTests/Fixtures/dp2-bnu-cnmarc-10.gb18030.iso \
	Tests/MARCTests/Fixtures/marc-charset-cjk1.marc Tests/MARCTests/Fixtures/pymarc-bad_records.mrc

.PHONY: build release run samples test deps clean

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
