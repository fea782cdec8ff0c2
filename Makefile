# berth: `make run` serves the examples on 127.0.0.1; `make test` runs every test.
SWIFT ?= swift
BERTH = .build/debug/berth

.PHONY: all deps build test test-asan fuzz run lint clean bench
all: build

deps:
	@bash scripts/setup.sh

# SwiftPM 6.3 can crash while a compiler prints (a null command name in LLBuildProgressTracker's
# commandProcessHadOutput, seen once in the ASan build); builds are incremental, so a second run finishes the build,
# and a real error fails both runs.
build: deps
	$(SWIFT) build || $(SWIFT) build

# Swift Testing starts every test at once and times each from its start, but runs them on a pool of one thread per
# core, and most broker tests block their thread while a real process works: on a 2-core machine a quick test could
# wait minutes for a thread and fail its time limit without having run. At most TEST_WIDTH tests run at a time, so a
# test that started has a thread.
TEST_WIDTH ?= 2
TEST_ENV = SWT_EXPERIMENTAL_MAXIMUM_PARALLELIZATION_WIDTH=$(TEST_WIDTH)

test: build lint
	$(SWIFT) build --build-tests || $(SWIFT) build --build-tests
	$(TEST_ENV) $(SWIFT) test --skip-build

run: build
	$(BERTH) validate examples
	@echo
	@echo "Serving examples/ on 127.0.0.1 (Ctrl-C stops it). In another terminal, try:"
	@echo "  nc 127.0.0.1 7000                    echo: greets, then echoes what you type"
	@echo "  echo hi | nc -u -w1 127.0.0.1 9000   ping: pong #1, pong #2, ... counted in ctx.shared"
	@echo "  nc 127.0.0.1 4000                    relay: open two; a line typed in one appears in the other"
	@echo "  openssl s_client -connect 127.0.0.1:7443 -quiet"
	@echo "                                       uptime over TLS (the example certificate, self-signed): replies, closes"
	@echo "  curl 127.0.0.1:9464/metrics          Prometheus metrics (and /healthz, /readyz)"
	@echo
	$(BERTH) serve examples --bind 127.0.0.1 --metrics 127.0.0.1:9464

# C modules are imported only by their wrapper modules (STYLE.md §3); berth's own JavaScript parses.
lint:
	@bad=$$(grep -rlE '^(@preconcurrency )?(package |public |internal )?import C(QuickJS|OpenSSL|LibUV|NFTables)' Sources \
	    | grep -vE '^Sources/(BerthJS/Interop|BerthTLS|BerthBroker/(Loop|TLS)|BerthFirewall/NFTablesSession)' || true); \
	if [ -n "$$bad" ]; then echo "lint: C modules imported outside their wrappers:"; echo "$$bad"; exit 1; fi
	@# The runtime's JavaScript parses as ES modules (js/package.json says "type": "module").
	@for f in Sources/BerthRuntime/js/*.js; do node --check "$$f" || exit 1; done

clean:
	rm -rf .build .build-asan .build-fuzz

# The runtime's and the broker's tests under AddressSanitizer, in their own scratch path; the berth that ServeProcess
# runs is the one built there. Leak checking is off: LeakSanitizer cannot see the pointer to a weak reference's side
# table in a Swift object's reference count, so every object alive at exit that has a weak reference (and all it
# holds) is reported, as are Foundation's and XCTest's objects in the test runner.
# A 16 MiB quarantine (256 MiB by default) keeps the broker tests that bound resident memory meaningful.
ASAN_SCRATCH = .build-asan
test-asan: deps
	$(SWIFT) build --build-tests --sanitize address --scratch-path $(ASAN_SCRATCH) || \
	    $(SWIFT) build --build-tests --sanitize address --scratch-path $(ASAN_SCRATCH)
	$(TEST_ENV) ASAN_OPTIONS=detect_leaks=0:quarantine_size_mb=16 BERTH_BINARY=$(CURDIR)/$(ASAN_SCRATCH)/debug/berth \
	    $(SWIFT) test --skip-build --sanitize address --scratch-path $(ASAN_SCRATCH) --filter 'BerthJSTests|BerthRuntimeTests|BerthBrokerTests'

# libFuzzer harnesses (Tests/Fuzz, README "Fuzzing"), each run FUZZ_SECONDS from its seed corpus Tests/Fuzz/Corpus/<name>.
# New inputs stay in .build-fuzz/corpus/<name>; an input that crashes goes to .build-fuzz/crashes/<name> and fails
# the run. SwiftPM's `--sanitize fuzzer` links libFuzzer's main; the compiler keeps only the last `-sanitize=`, so
# both sanitizers are also passed as one flag.
FUZZ_SECONDS ?= 60
FUZZERS = FuzzManifest FuzzHandlerFileName FuzzIPPrefix FuzzCloneReader FuzzJSClone
FUZZ_SCRATCH = .build-fuzz
fuzz: deps
	for f in $(FUZZERS); do \
	    for attempt in 1 2; do \
	        BERTH_FUZZ=1 $(SWIFT) build --scratch-path $(FUZZ_SCRATCH) --sanitize fuzzer -Xswiftc -sanitize=fuzzer,address \
	            --product $$f && break; \
	        [ $$attempt = 2 ] && exit 1; \
	    done; \
	done
	@failed=; for f in $(FUZZERS); do \
	    mkdir -p $(FUZZ_SCRATCH)/corpus/$$f $(FUZZ_SCRATCH)/crashes/$$f; \
	    SWIFT_BACKTRACE=enable=no $(FUZZ_SCRATCH)/debug/$$f $(FUZZ_SCRATCH)/corpus/$$f Tests/Fuzz/Corpus/$$f \
	        -max_total_time=$(FUZZ_SECONDS) -timeout=10 -rss_limit_mb=2048 \
	        -artifact_prefix=$(FUZZ_SCRATCH)/crashes/$$f/ > $(FUZZ_SCRATCH)/$$f.log 2>&1; status=$$?; \
	    echo "fuzz: $$f: $$(grep -E '^#[0-9]+[[:space:]]+DONE' $(FUZZ_SCRATCH)/$$f.log | sed 's/^#//')"; \
	    if [ $$status -ne 0 ]; then \
	        failed="$$failed $$f"; tail -n 60 $(FUZZ_SCRATCH)/$$f.log; \
	    fi; \
	done; \
	if [ -n "$$failed" ]; then echo "fuzz: crashes in$$failed; inputs in $(FUZZ_SCRATCH)/crashes"; exit 1; fi

# Benchmarks (bench/README.md): berth vs Node 20 vs C references, pinned to separate cores; results in
# bench/results/LATEST.md. `make bench` is the quick pass, `make bench FULL=1` the whole set.
# `make bench BERTH=path/to/berth` benchmarks that binary instead of building .build/release/berth.
BENCH_BERTH = $(if $(filter command line,$(origin BERTH)),$(BERTH),.build/release/berth)
bench: deps
	$(if $(filter command line,$(origin BERTH)),,$(SWIFT) build -c release)
	@mkdir -p bench/bin
	for f in loadgen echo_tcp echo_udp; do \
	    $${CC:-cc} -O2 -Wall -Wextra -o bench/bin/$$f bench/c/$$f.c $$([ $$f = loadgen ] && echo -lssl -lcrypto) || exit 1; \
	done
	python3 bench/run.py --berth $(BENCH_BERTH) $(if $(filter 1 yes true,$(FULL)),--full)
