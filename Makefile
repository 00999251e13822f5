# plexgate: the two commands a fresh machine needs are `make run` and
# `make test`; both install missing Debian packages first (scripts/deps.sh).
.PHONY: all deps build run test test-asan test-tsan bench bench-compare fuzz-smoke fuzz-build format clean

JOBS ?= $(shell nproc)
CONFIG ?= examples/plexgate.yaml
FUZZ_SECONDS ?= 60
CTEST_FLAGS ?= --output-on-failure -j $(JOBS)

all: build

deps:
	@bash scripts/deps.sh

build/release/build.ninja:
	cmake --preset release -DPLEXGATE_WERROR=$(if $(CI),ON,OFF)

build: deps build/release/build.ninja
	cmake --build --preset release -j $(JOBS)

run: build
	./build/release/plexgate -c $(CONFIG)

test: build
	ctest --test-dir build/release $(CTEST_FLAGS)

build/asan/build.ninja:
	cmake --preset asan -DPLEXGATE_WERROR=$(if $(CI),ON,OFF)

test-asan: deps build/asan/build.ninja
	cmake --build --preset asan -j $(JOBS)
	ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
	  ctest --test-dir build/asan $(CTEST_FLAGS)

build/tsan/build.ninja:
	cmake -S . -B build/tsan -G Ninja -DCMAKE_BUILD_TYPE=Debug -DPLEXGATE_SANITIZE=thread \
	  -DPLEXGATE_BENCH=OFF -DPLEXGATE_WERROR=$(if $(CI),ON,OFF)

# Data races across loops (cross-thread posts, counters, access log, drain).
test-tsan: deps build/tsan/build.ninja
	cmake --build build/tsan -j $(JOBS)
	TSAN_OPTIONS=halt_on_error=1:second_deadlock_stack=1 ctest --test-dir build/tsan $(CTEST_FLAGS)

bench: build
	./build/release/bench/micro_bench --benchmark_min_time=0.2

bench-compare: build
	bench/compare

build/fuzz/build.ninja:
	cmake --preset fuzz -DPLEXGATE_WERROR=$(if $(CI),ON,OFF)

fuzz-build: deps build/fuzz/build.ninja
	cmake --build --preset fuzz -j $(JOBS)

# Every libFuzzer target for FUZZ_SECONDS under ASan+UBSan, from the
# committed corpus (new finds go to a scratch dir, not into the tree).
fuzz-smoke: fuzz-build
	@set -e; for bin in build/fuzz/fuzz/*_fuzz; do \
	  name=$$(basename $$bin _fuzz); scratch=$$(mktemp -d); \
	  echo "== fuzz $$name for $(FUZZ_SECONDS)s"; \
	  $$bin -max_total_time=$(FUZZ_SECONDS) -dict=fuzz/http.dict -print_final_stats=1 \
	    -artifact_prefix=$$scratch/ $$scratch fuzz/corpus/$$name 2>&1 | grep -E "^(stat::number_of_executed_units|stat::peak_rss_mb|#[0-9]+ *DONE)|ERROR|SUMMARY" || true; \
	  found=$$(find $$scratch -maxdepth 1 \( -name 'crash-*' -o -name 'leak-*' -o -name 'timeout-*' -o -name 'oom-*' \)); \
	  if [ -n "$$found" ]; then \
	    echo "fuzz $$name found a problem: $$found"; od -c $$found | head -40; exit 1; fi; \
	  rm -rf $$scratch; \
	done

format:
	clang-format -i $$(git ls-files '*.cc' '*.h')

clean:
	rm -rf build
