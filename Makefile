# The two commands of the README, and the pieces they are made of.
SWIFT ?= swift
PREFIX ?= /usr/local
SAMPLES := Tests/MARCTests/Fixtures/loc-books-50.mrc Tests/MARCTests/Fixtures/loc-cjk-20.mrc \
	Tests/MARCTests/Fixtures/dp2-bnu-cnmarc-sru.xml Tests/MARCTests/Fixtures/dp2-bnu-cnmarc-10.gb18030.iso \
	Tests/MARCTests/Fixtures/marc-charset-cjk1.marc Tests/MARCTests/Fixtures/pymarc-bad_records.mrc

.PHONY: build release run test deps clean

build:
	$(SWIFT) build

release:
	$(SWIFT) build -c release --product calisd

# Command 1: build calisd, create the development catalogue under var/, and run the MARC tools on shipped
# samples of real records.
run: release
	.build/release/calisd check-config --config etc/calisd.dev.toml
	.build/release/calisd migrate --config etc/calisd.dev.toml
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
