# berth: `make run` serves the examples (for now: validates and plans them); `make test` runs every test.
SWIFT ?= swift
BERTH = .build/debug/berth

.PHONY: all deps build test run lint clean
all: build

deps:
	@bash scripts/setup.sh

build: deps
	$(SWIFT) build

test: build lint
	$(SWIFT) test

run: build
	$(BERTH) validate examples
	$(BERTH) plan examples

# C modules are imported only by their wrapper modules (STYLE.md §3).
lint:
	@bad=$$(grep -rlE '^(@preconcurrency )?(package |public |internal )?import C(QuickJS|OpenSSL|LibUV|NFTables)' Sources \
	    | grep -vE '^Sources/(BerthJS/Interop|BerthTLS|BerthBroker/(Loop|TLS)|BerthFirewall/NFTablesSession)' || true); \
	if [ -n "$$bad" ]; then echo "lint: C modules imported outside their wrappers:"; echo "$$bad"; exit 1; fi

clean:
	rm -rf .build
