# berth: `make run` serves the examples on 127.0.0.1; `make test` runs every test.
SWIFT ?= swift
BERTH = .build/debug/berth

.PHONY: all deps build test run lint clean bench
all: build

deps:
	@bash scripts/setup.sh

build: deps
	$(SWIFT) build

test: build lint
	$(SWIFT) test

run: build
	$(BERTH) validate examples
	@echo
	@echo "Serving examples/ on 127.0.0.1 (Ctrl-C stops it). In another terminal, try:"
	@echo "  nc 127.0.0.1 7000                    echo: greets, then echoes what you type"
	@echo "  echo hi | nc -u -w1 127.0.0.1 9000   ping: pong #1, pong #2, ... counted in ctx.shared"
	@echo "  nc 127.0.0.1 4000                    relay: open two; a line typed in one appears in the other"
	@echo "  (uptime.tcp.7443 needs TLS termination, which this version does not have yet: it is not served)"
	@echo
	$(BERTH) serve examples --bind 127.0.0.1

# C modules are imported only by their wrapper modules (STYLE.md §3).
lint:
	@bad=$$(grep -rlE '^(@preconcurrency )?(package |public |internal )?import C(QuickJS|OpenSSL|LibUV|NFTables)' Sources \
	    | grep -vE '^Sources/(BerthJS/Interop|BerthTLS|BerthBroker/(Loop|TLS)|BerthFirewall/NFTablesSession)' || true); \
	if [ -n "$$bad" ]; then echo "lint: C modules imported outside their wrappers:"; echo "$$bad"; exit 1; fi

clean:
	rm -rf .build

# Benchmarks (bench/README.md): berth vs Node 20 vs C references, pinned to separate cores; results in
# bench/results/LATEST.md. `make bench` is the quick pass, `make bench FULL=1` the whole set.
# `make bench BERTH=path/to/berth` benchmarks that binary instead of building .build/release/berth.
BENCH_BERTH = $(if $(filter command line,$(origin BERTH)),$(BERTH),.build/release/berth)
bench: deps
	$(if $(filter command line,$(origin BERTH)),,$(SWIFT) build -c release)
	@mkdir -p bench/bin
	for f in loadgen echo_tcp echo_udp; do $${CC:-cc} -O2 -Wall -Wextra -o bench/bin/$$f bench/c/$$f.c || exit 1; done
	python3 bench/run.py --berth $(BENCH_BERTH) $(if $(filter 1 yes true,$(FULL)),--full)
