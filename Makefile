# bootstrap: build, package, run, test and deploy the runtime.
# `make help` lists the targets; `make` alone builds bootstrap.zip.
#
# Variables: ARCH=x86_64|arm64 (default x86_64), PROFILE=release|tiny (default
# release), FEATURES (cargo features), ZIP_OUT (default bootstrap.zip), PORT
# (make run), EVENT (make invoke), STACK (make invoke/logs), LOG_FORMAT=Text|JSON
# (make deploy), NIGHTLY (toolchain for tiny), CARGO_TARGET_DIR.
#
# Where the size comes from: stripped bytes of the runtime at commit 65a1df6,
# each step on top of the one before (measured, not estimated):
#                                                        x86_64      arm64
#   Cargo.toml [profile.release]: opt-level z, fat
#     LTO, 1 codegen unit, panic abort, strip           738,176  (cc can't)
#   .cargo/config.toml, every build, tests included:
#     linker = rust-lld                                  -4,728    658,784
#     --pack-dyn-relocs=relr (x86_64 stays static PIE)  -24,864          -
#       (-Crelocation-model=static instead: -23,288 x86_64, +1,184 arm64)
#     --icf=all                                          -4,896     -5,152
#     (-Cforce-unwind-tables=no: 0 on stable, std brings its own tables)
#   RELEASE_RUSTFLAGS, release and tiny builds only:
#     scripts/no-unwind.ld (no .eh_frame and
#       .gcc_except_table: panic = abort never unwinds)  -76,160    -80,360
#     --no-eh-frame-hdr                                     -80        -96
#     --remap-path-prefix (registry paths)               -1,152     -1,216
#   = make build                                        626,296    571,960
# `make size` prints the current figures; the nightly steps are below.

SHELL := /bin/bash
.SHELLFLAGS := -euo pipefail -c
.DEFAULT_GOAL := zip
.DELETE_ON_ERROR:
MAKEFLAGS += --no-print-directory

# The project root is where this Makefile is, whatever the current directory
# (sam build runs it from a scratch copy).
ROOT := $(patsubst %/,%,$(dir $(abspath $(lastword $(MAKEFILE_LIST)))))

ARCH ?= x86_64
PROFILE ?= release
TRIPLE_x86_64 := x86_64-unknown-linux-musl
TRIPLE_arm64 := aarch64-unknown-linux-musl
TARGET := $(TRIPLE_$(ARCH))
ifeq ($(TARGET),)
$(error ARCH must be x86_64 or arm64, not '$(ARCH)')
endif
ifeq ($(filter release tiny,$(PROFILE)),)
$(error PROFILE must be release or tiny, not '$(PROFILE)')
endif

CARGO ?= cargo
# Cargo features for build/tiny/zip (the tests build FEATURES=panic-probe).
FEATURES ?=
CARGO_FEATURES := $(if $(strip $(FEATURES)),--features $(FEATURES))
NIGHTLY ?= nightly
PYTHON ?= python3
VENV := $(ROOT)/.venv

# One target directory for every step, absolute (sam build runs elsewhere).
export CARGO_TARGET_DIR := $(abspath $(or $(CARGO_TARGET_DIR),$(ROOT)/target))
BIN := $(CARGO_TARGET_DIR)/$(TARGET)/$(PROFILE)/bootstrap
ZIP_OUT ?= $(ROOT)/bootstrap.zip

# The tools in .venv (cargo-lambda, sam, aws) come first.
export PATH := $(VENV)/bin:$(PATH)
export SAM_CLI_TELEMETRY := 0
# RUSTFLAGS would replace the size flags of .cargo/config.toml and these.
unexport RUSTFLAGS CARGO_ENCODED_RUSTFLAGS

# Release-only link flags. Not in .cargo/config.toml, which `cargo test`
# builds use too: the test harness needs unwind tables to catch panics.
# The remap shortens the paths of crates.io sources in panic locations
# ("ureq-3.5.2/src/..." under the registry index folder) and keeps the
# machine's CARGO_HOME out of the binary.
CARGO_HOME_DIR := $(or $(CARGO_HOME),$(HOME)/.cargo)
RELEASE_RUSTFLAGS := -Clink-arg=-Tscripts/no-unwind.ld -Clink-arg=--no-eh-frame-hdr \
	--remap-path-prefix=$(CARGO_HOME_DIR)/registry/src/=

# `make tiny` (nightly): std rebuilt with the profile (-Z build-std) and its
# optimize_for_size feature; panics abort at once, without a message, a
# location or the panic hook (so no Runtime.Panic report: Lambda shows
# Runtime.ExitError); derived Debug prints only type names (ureq formats the
# HTTP version with a hand-written Debug, which keeps working;
# -Zfmt-debug=none would break it). What each bought, x86_64, same commit:
#   nightly, -Z build-std=std,panic_abort, release flags  557,536
#   -Z build-std-features=optimize_for_size              -156,288
#   -Zunstable-options -Cpanic=immediate-abort           -107,904
#   -Zlocation-detail=none                                      0 (kept: no
#     locations left to drop once panics abort at once)
#   -Zfmt-debug=shallow                                    -3,680
#   = make tiny                                  x86_64 289,664, arm64 280,056
#   Not used: -Cllvm-args=-enable-machine-outliner=always (-1,472 here, but
#   +1,504 on a stable release build of a bare loop); on that bare loop
#   -Zshare-generics and -Zinline-mir=no gave 0 and -Copt-level=s +26,272.
TINY_STD := -Zbuild-std=std,panic_abort -Zbuild-std-features=optimize_for_size
TINY_RUSTFLAGS := $(RELEASE_RUSTFLAGS) -Zunstable-options -Cpanic=immediate-abort \
	-Zlocation-detail=none -Zfmt-debug=shallow

comma := ,
# "a", "b": words as a TOML list's items.
toml-list = $(subst " ","$(comma) ",$(patsubst %,"%",$(strip $(1))))
# --config that appends $(1) to the target's rustflags of .cargo/config.toml.
rustflags = --config 'target.$(TARGET).rustflags = [$(call toml-list,$(1))]'

LOGICAL_ID := BootstrapFunction
LOG_FORMAT ?= Text
EVENT ?= events/1-name.json
STACK ?= $(or $(shell sed -n 's/^stack_name *= *"\(.*\)"/\1/p' $(ROOT)/samconfig.toml 2>/dev/null | head -n 1),bootstrap)
SAM_PARAMETERS = --parameter-overrides Architecture=$(ARCH) LogFormat=$(LOG_FORMAT)

.PHONY: help setup venv rust-target nightly build tiny zip size run test miri bench bloat \
	deploy invoke logs clean distclean build-$(LOGICAL_ID)

help: ## List the targets.
	@echo 'make [target] [ARCH=x86_64|arm64] [PROFILE=release|tiny]'
	@grep -E '^[a-zA-Z$$()_-]+:.*## ' $(MAKEFILE_LIST) | \
		sed -e 's/\$$(LOGICAL_ID)/$(LOGICAL_ID)/' | \
		awk -F ':.*## ' '{ printf "  %-26s %s\n", $$1, $$2 }'

setup: ## Install what the project needs (rustup targets, qemu-user, curl, .venv tools); fast when done.
	@$(ROOT)/scripts/setup.sh

venv:
	@$(ROOT)/scripts/setup.sh venv

rust-target:
	@rustup target list --installed | grep -qxF $(TARGET) || rustup target add $(TARGET)

# Nightly, its rust-src and, where rustup has it, the target's musl std.
# rustup has no nightly aarch64 musl std to download (404): `make tiny
# ARCH=arm64` builds std from rust-src anyway and links it against the project
# toolchain's musl objects (libc.a, crt*.o); the tests run the result under
# qemu-aarch64.
nightly: rust-target
	@rustup toolchain list | grep -q '^$(NIGHTLY)' || { \
		echo "make tiny needs a '$(NIGHTLY)' toolchain with rust-src:" \
		"rustup toolchain install $(NIGHTLY) --component rust-src" >&2; exit 1; }
	@rustup component list --installed --toolchain $(NIGHTLY) | grep -q '^rust-src' || \
		rustup component add rust-src --toolchain $(NIGHTLY)
	@[ $(ARCH) != x86_64 ] || rustup target list --installed --toolchain $(NIGHTLY) | \
		grep -qxF $(TARGET) || rustup target add $(TARGET) --toolchain $(NIGHTLY)

ifeq ($(PROFILE),tiny)
build: nightly
	@musl=lib/rustlib/$(TARGET)/lib/self-contained; extra=; \
	if [ ! -d "$$(rustup run $(NIGHTLY) rustc --print sysroot)/$$musl" ]; then \
		extra=', "-Lnative='"$$(rustc --print sysroot)/$$musl"'"'; \
	fi; \
	config='target.$(TARGET).rustflags = [$(call toml-list,$(TINY_RUSTFLAGS))'"$$extra]"; \
	echo "rustup run $(NIGHTLY) cargo build --profile tiny --target $(TARGET) $(CARGO_FEATURES) $(TINY_STD) --config '$$config'"; \
	cd $(ROOT) && rustup run $(NIGHTLY) cargo build --profile tiny --target $(TARGET) $(CARGO_FEATURES) $(TINY_STD) --config "$$config"
	@echo "$(BIN): $$(stat -c %s $(BIN)) bytes"
else
build: rust-target ## Build target/<triple>/release/bootstrap (ARCH=arm64 for aarch64).
	cd $(ROOT) && $(CARGO) build --release --target $(TARGET) $(CARGO_FEATURES) $(call rustflags,$(RELEASE_RUSTFLAGS))
	@echo "$(BIN): $$(stat -c %s $(BIN)) bytes"
endif

tiny: ## Build target/<triple>/tiny/bootstrap: nightly, std rebuilt for size, no panic reports.
	@$(MAKE) -f $(ROOT)/Makefile build PROFILE=tiny

zip: build ## Write bootstrap.zip: one entry, bootstrap, mode 0755, same bytes for the same binary.
	@$(PYTHON) $(ROOT)/scripts/mkzip.py $(BIN) $(ZIP_OUT)

size: ## Build every build this machine can, print bytes and zip bytes against guards and goals.
	@$(MAKE) -f $(ROOT)/Makefile build ARCH=x86_64 PROFILE=release
	@$(MAKE) -f $(ROOT)/Makefile build ARCH=arm64 PROFILE=release
	@if rustup toolchain list | grep -q '^$(NIGHTLY)'; then \
		$(MAKE) -f $(ROOT)/Makefile build ARCH=x86_64 PROFILE=tiny && \
		$(MAKE) -f $(ROOT)/Makefile build ARCH=arm64 PROFILE=tiny; \
	else echo "no '$(NIGHTLY)' toolchain: no tiny builds"; fi
	@echo
	@$(PYTHON) $(ROOT)/scripts/size.py $(CARGO_TARGET_DIR)

run: setup build ## Run the function against cargo lambda's emulator and invoke every event in events/.
	@BIN=$(BIN) RUNNER=$(if $(filter arm64,$(ARCH)),qemu-aarch64) PORT=$(PORT) \
		$(ROOT)/scripts/run-local.sh

# tests/fake-api is a crate of its own (the tests' Runtime API): its checks
# and unit tests run beside the package's.
FAKE_API := --manifest-path $(ROOT)/tests/fake-api/Cargo.toml
test: setup ## Format check, clippy, then every test, with missing tools as failures.
	cd $(ROOT) && $(CARGO) fmt --check && $(CARGO) fmt --check $(FAKE_API)
	cd $(ROOT) && $(CARGO) clippy --all-targets -- -D warnings
	cd $(ROOT) && $(CARGO) clippy --all-targets $(FAKE_API) -- -D warnings
	cd $(ROOT) && $(CARGO) test $(FAKE_API)
	cd $(ROOT) && BOOTSTRAP_STRICT=1 $(CARGO) test
	@$(MAKE) --no-print-directory miri

# The allocator is the runtime's one large piece of unsafe code: its tests
# also run under Miri, which checks every access for undefined behaviour.
# Miri needs nightly, which `make setup` does not install: without it this
# says so and passes, like the tiny build's tests.
miri: ## Run the allocator's tests under Miri (nightly; skipped without it).
	@if ! rustup toolchain list | grep -q '^$(NIGHTLY)'; then \
		echo "miri: SKIPPED, no '$(NIGHTLY)' toolchain"; exit 0; fi; \
	rustup component list --installed --toolchain $(NIGHTLY) | grep -q '^miri' || \
		rustup component add miri --toolchain $(NIGHTLY); \
	host=$$(rustc -vV | sed -n 's/^host: //p'); \
	cd $(ROOT) && rustup run $(NIGHTLY) cargo miri test --quiet --target $$host --bin bootstrap alloc::

bench: ## Benchmark against the official runtime (bench/).
	@if [ -x $(ROOT)/bench/run ]; then $(ROOT)/bench/run; \
	else echo "bench/run is missing: the benchmark is not there yet" >&2; exit 1; fi

bloat: rust-target ## Where the bytes go: largest crates and functions of an unstripped release build.
	@command -v cargo-bloat >/dev/null || $(CARGO) install --locked --quiet cargo-bloat --root $(CARGO_TARGET_DIR)/tools
	cd $(ROOT) && PATH=$(CARGO_TARGET_DIR)/tools/bin:$$PATH $(CARGO) bloat --profile bloat --target $(TARGET) --crates --split-std -n 20
	cd $(ROOT) && PATH=$(CARGO_TARGET_DIR)/tools/bin:$$PATH $(CARGO) bloat --profile bloat --target $(TARGET) -n 40

# sam build's makefile build method runs `make build-<LogicalId>` with
# ARTIFACTS_DIR set. ARCH and PROFILE come from the environment: make deploy
# sets ARCH to match the template's Architecture parameter.
build-$(LOGICAL_ID): build ## (sam build) copy the bootstrap into $ARTIFACTS_DIR.
	@[ -n "$${ARTIFACTS_DIR:-}" ] || { echo "ARTIFACTS_DIR is not set: sam build sets it" >&2; exit 1; }
	install -m 0755 $(BIN) "$$ARTIFACTS_DIR/bootstrap"

deploy: venv rust-target ## sam build + sam deploy (--guided the first time); ARCH=arm64 for Graviton.
	cd $(ROOT) && ARCH=$(ARCH) PROFILE=$(PROFILE) sam build --build-in-source $(SAM_PARAMETERS)
	cd $(ROOT) && if grep -qs '^\[default\.deploy\.parameters\]' samconfig.toml; then \
		sam deploy $(SAM_PARAMETERS); \
	else \
		sam deploy --guided $(SAM_PARAMETERS); \
	fi

# The flag is AWS CLI v2's (raw JSON in, as v1 always does); the CLI that pip
# installs into .venv is v1, which refuses the flag and needs none.
invoke: venv ## Invoke the deployed function with EVENT (default events/1-name.json); print the answer.
	@fn=$$(aws cloudformation describe-stacks --stack-name $(STACK) --output text \
		--query "Stacks[0].Outputs[?OutputKey=='FunctionName'].OutputValue"); \
	mkdir -p $(CARGO_TARGET_DIR); \
	answer=$(CARGO_TARGET_DIR)/invoke-answer.json; \
	format=--cli-binary-format=raw-in-base64-out; \
	if aws --version 2>&1 | grep -q '^aws-cli/1'; then format=; fi; \
	echo "aws lambda invoke --function-name $$fn $${format:+$$format }--payload file://$(EVENT) $$answer"; \
	cd $(ROOT) && aws lambda invoke --function-name "$$fn" $$format \
		--payload "file://$(EVENT)" --output json "$$answer"; \
	cat "$$answer"; echo

logs: venv ## Show the deployed function's recent logs (TAIL=1 to follow).
	cd $(ROOT) && sam logs --stack-name $(STACK) --name $(LOGICAL_ID) $(if $(TAIL),--tail)

clean: ## Remove build outputs (target/, bootstrap.zip, .aws-sam/); keeps .venv.
	cd $(ROOT) && $(CARGO) clean
	rm -rf $(ROOT)/bootstrap.zip $(ROOT)/.aws-sam

distclean: clean ## Also remove .venv.
	rm -rf $(VENV)
