# CRM Calendar — make run · make test (see README.md).
SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c

# The build environment (Debian's rustc-web for wasm32 where rustup lacks the target).
ENV := eval "$$(scripts/toolchain.sh env)"
# Front end only: build wasm32 std from source when the toolchain has no prebuilt one.
LIB_ARGS := $$([ -n "$${CRMCAL_BUILD_STD:-}" ] && echo "--lib-cargo-args=-Zbuild-std=std,panic_abort")
E2E_WORKERS ?= 2

.PHONY: help setup browser build run watch release test test-rust test-e2e bench soak fidelity clean

help:
	@echo "make run      build and serve the demo at http://127.0.0.1:3000 (installs what is missing)"
	@echo "make test     the whole test suite (Rust + store on SQLite/PostgreSQL + Playwright)"
	@echo "make watch    cargo leptos watch (rebuild and reload on change)"
	@echo "make release  optimised build (wasm-opt) and the bundle's size"
	@echo "make bench    benchmarks (range query at 1,000,000 meetings, first sync of 10,000 events, live latency)"
	@echo "make soak     the sync convergence model with many more random cases (CRMCAL_SOAK_CASES)"
	@echo "make fidelity third-party Google/Graph/EWS client libraries against the emulator"

setup:
	@scripts/toolchain.sh install

browser:
	@scripts/toolchain.sh browser

build: setup
	@$(ENV); cargo leptos build $(LIB_ARGS)

run: build
	@$(ENV); LEPTOS_SITE_ROOT=target/site exec ./target/debug/crmcal

watch: setup
	@$(ENV); cargo leptos watch $(LIB_ARGS)

release: setup
	@$(ENV); cargo leptos build --release $(LIB_ARGS)
	@scripts/bundle-size.sh

test: build browser test-rust test-e2e

# domain, store (SQLite, and PostgreSQL when TEST_POSTGRES_URL is set), providers against the
# emulators (contract suite), emulator, app (ssr), server.
# cargo-leptos builds debug with `--cfg erase_components`; the same flags here let cargo test
# reuse that build instead of compiling Leptos a second time.
test-rust: setup
	@$(ENV); RUSTFLAGS="--cfg erase_components" cargo test -p domain -p store -p providers -p emulator -p sync -p app -p crmcal
	@# The sync engine suite once more, on PostgreSQL (when there is one).
	@$(ENV); if [ -n "$${TEST_POSTGRES_URL:-}" ]; then RUSTFLAGS="--cfg erase_components" TEST_ENGINE_POSTGRES=1 cargo test -p sync --test engine; fi

test-e2e: build browser
	@cd end2end && E2E_WORKERS=$(E2E_WORKERS) CI=$${CI:-} npx playwright test

# Unchanged third-party clients (google-api-python-client, msgraph-sdk, exchangelib) against the
# emulator, in a throw-away virtualenv from PyPI. Slow the first time; not part of `make test`.
fidelity: setup
	@$(ENV); emulator/fidelity/run.sh

bench: setup
	@$(ENV); cargo bench -p sync --bench first_sync
	@$(ENV); cargo bench -p crmcal --bench live_latency
	@$(ENV); cargo bench -p store --bench range_query

# The model-based convergence test with many random cases (make test runs a few).
CRMCAL_SOAK_CASES ?= 300
soak: setup
	@$(ENV); RUSTFLAGS="--cfg erase_components" CRMCAL_SOAK_CASES=$(CRMCAL_SOAK_CASES) cargo test -p sync --test convergence -- --nocapture

clean:
	cargo clean
	rm -rf end2end/node_modules end2end/test-results
