# CRM Calendar — make run · make test (see README.md).
SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c

# The build environment (Debian's rustc-web for wasm32 where rustup lacks the target).
ENV := eval "$$(scripts/toolchain.sh env)"
# Front end only: build wasm32 std from source when the toolchain has no prebuilt one.
LIB_ARGS := $$([ -n "$${CRMCAL_BUILD_STD:-}" ] && echo "--lib-cargo-args=-Zbuild-std=std,panic_abort")
E2E_WORKERS ?= 2
# The release WebAssembly: panics abort without formatting code, no panic locations or Debug
# text, the standard library built for size (where it is built from source here; README,
# "Production build"). cargo-leptos adds `--cfg erase_components` to every build (Cargo.toml).
RELEASE_WASM_FLAGS := $$([ -n "$${CRMCAL_BUILD_STD:-}" ] && echo "-Zunstable-options -Cpanic=immediate-abort -Zlocation-detail=none -Zfmt-debug=none")
RELEASE_LIB_ARGS := $$([ -n "$${CRMCAL_BUILD_STD:-}" ] && echo "--lib-cargo-args=-Zbuild-std=std,panic_abort --lib-cargo-args=-Zbuild-std-features=optimize_for_size")
RELEASE_ENV := CARGO_TARGET_WASM32_UNKNOWN_UNKNOWN_RUSTFLAGS="$(RELEASE_WASM_FLAGS)"

.PHONY: help setup browser build run watch release test test-rust test-e2e test-release bench soak fidelity clean

help:
	@echo "make run      build and serve the demo at http://127.0.0.1:3000 (installs what is missing)"
	@echo "make test     the whole test suite (Rust + store on SQLite/PostgreSQL + Playwright)"
	@echo "make watch    cargo leptos watch (rebuild and reload on change)"
	@echo "make release  optimised build (wasm-opt) and the bundle's size"
	@echo "make bench    benchmarks (calendar page and range query at 1,000,000 meetings, first sync of 10,000 events, live latency)"
	@echo "make soak     the sync convergence model with many more random cases (CRMCAL_SOAK_CASES)"
	@echo "make fidelity third-party Google/Graph/EWS client libraries against the emulator"

setup:
	@scripts/toolchain.sh install

browser:
	@scripts/toolchain.sh browser

# (Precompressed files of an earlier release build would be served in place of the new ones.)
build: setup
	@rm -f target/site/pkg/*.gz target/site/pkg/*.br
	@$(ENV); cargo leptos build --split $(LIB_ARGS)

run: build
	@$(ENV); LEPTOS_SITE_ROOT=target/site exec ./target/debug/crmcal

watch: setup
	@$(ENV); cargo leptos watch --split $(LIB_ARGS)

# The production build (server and front end), its front end precompressed, and its size.
release: setup
	@$(ENV); $(RELEASE_ENV) cargo leptos build --release --split $(RELEASE_LIB_ARGS)
	@node scripts/bundle.mjs target/site

test: build browser test-rust test-e2e test-release

# domain, store (SQLite, and PostgreSQL when TEST_POSTGRES_URL is set), providers against the
# emulators (contract suite), emulator, app (ssr), server.
# cargo-leptos builds debug with `--cfg erase_components`; the same flags here let cargo test
# reuse that build instead of compiling Leptos a second time.
test-rust: setup
	@$(ENV); RUSTFLAGS="--cfg erase_components" cargo test -p domain -p store -p providers -p emulator -p sync -p app -p crmcal
	@# The sync engine suite once more, on PostgreSQL (when there is one).
	@$(ENV); if [ -n "$${TEST_POSTGRES_URL:-}" ]; then RUSTFLAGS="--cfg erase_components" TEST_ENGINE_POSTGRES=1 cargo test -p sync --test engine; fi

test-e2e: build browser
	@cd end2end && E2E_WORKERS=$(E2E_WORKERS) CI=$${CI:-} ./node_modules/.bin/playwright test

# What users download: the release front end (split, optimised, precompressed) into a site of
# its own, checked against its size budget, and the @smoke flows run on it in Chromium.
test-release: build browser
	@$(ENV); LEPTOS_SITE_ROOT=target/site-release $(RELEASE_ENV) cargo leptos build --release --frontend-only --split $(RELEASE_LIB_ARGS)
	@node scripts/bundle.mjs target/site-release
	@cd end2end && LEPTOS_SITE_ROOT=$(CURDIR)/target/site-release E2E_WORKERS=$(E2E_WORKERS) CI=$${CI:-} ./node_modules/.bin/playwright test --grep @smoke

# Unchanged third-party clients (google-api-python-client, msgraph-sdk, exchangelib) against the
# emulator, in a throw-away virtualenv from PyPI. Slow the first time; not part of `make test`.
fidelity: setup
	@$(ENV); emulator/fidelity/run.sh

# (Components erased as in the production build: cargo-leptos erases them in every build.)
bench: setup
	@scripts/toolchain.sh bench
	@$(ENV); RUSTFLAGS="--cfg erase_components" cargo bench -p crmcal --bench page
	@$(ENV); RUSTFLAGS="--cfg erase_components" cargo bench -p sync --bench first_sync
	@$(ENV); RUSTFLAGS="--cfg erase_components" cargo bench -p crmcal --bench live_latency
	@$(ENV); RUSTFLAGS="--cfg erase_components" cargo bench -p store --bench range_query

# The model-based convergence test with many random cases (make test runs a few).
CRMCAL_SOAK_CASES ?= 300
soak: setup
	@$(ENV); RUSTFLAGS="--cfg erase_components" CRMCAL_SOAK_CASES=$(CRMCAL_SOAK_CASES) cargo test -p sync --test convergence -- --nocapture

clean:
	cargo clean
	rm -rf end2end/node_modules end2end/test-results
