# bootstrap: build, package, run, test and deploy the runtime.
# `make help` lists the targets; `make` alone builds bootstrap.zip.
#
# Variables: ARCH=x86_64|arm64 (default x86_64), PROFILE=release|tiny (default
# release), PANIC=abort|unwind (default abort; unwind: a panic is caught per
# invocation and the process goes on, see src/panic.rs), EXAMPLE=<a folder of examples/> (build that Cargo example instead
# of the built-in function; make run sends its events/), FEATURES (cargo
# features), ZIP_OUT (default bootstrap.zip), PORT and GREETING (make run),
# EVENT (make invoke), STACK (make invoke/logs/delete), LOG_FORMAT=Text|JSON
# (make deploy), NIGHTLY
# (toolchain for tiny), CARGO_TARGET_DIR.
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
# (sam build runs it in scripts/sam-build/<arch>).
ROOT := $(patsubst %/,%,$(dir $(abspath $(lastword $(MAKEFILE_LIST)))))

# sam build runs `make build-BootstrapFunction` in scripts/sam-build/<arch>,
# the folder template.yaml's Metadata.WorkingDirectory names after the
# function's Architecture (sam passes make nothing else but ARTIFACTS_DIR):
# the template decides the architecture there, and an ARCH that says
# otherwise is an error rather than a binary for the wrong machine. The
# optional examples build in scripts/sam-build/<arch>/<true|false>, after
# their parameter (StreamExample, SqsExample): sam build builds every
# function whatever its Condition, and "false" skips the build.
SAM_BUILD_DIR := $(realpath $(ROOT))/scripts/sam-build
SAM_FOLDER := $(subst /, ,$(patsubst $(SAM_BUILD_DIR)/%,%,$(filter $(SAM_BUILD_DIR)/%,$(CURDIR))))
SAM_ARCH := $(word 1,$(SAM_FOLDER))
SAM_WANTED := $(word 2,$(SAM_FOLDER))
ifneq ($(SAM_ARCH),)
ifneq ($(filter environment command line,$(origin ARCH)),)
ifneq ($(ARCH),$(SAM_ARCH))
$(error the template's Architecture is $(SAM_ARCH) but ARCH=$(ARCH). The template decides \
the binary's architecture: unset ARCH, or build with --parameter-overrides Architecture=$(ARCH))
endif
endif
override ARCH := $(SAM_ARCH)
endif

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
comma := ,
empty :=
space := $(empty) $(empty)

# The function built: the `bootstrap` binary (src/main.rs over
# src/handler.rs) by default; EXAMPLE=<name> builds the example
# examples/<name> instead, and make run then sends examples/<name>/events/
# rather than events/. An example is a Cargo example of this package
# (examples/<name>/main.rs) or a crate of its own (examples/<name>/Cargo.toml,
# built in its folder: the AWS SDK example, whose C parts need a C compiler
# for the target, which the build installs). EXAMPLE=test-function is the
# runtime tests' own function (tests/function/), which make size measures.
EXAMPLES := $(sort $(patsubst $(ROOT)/examples/%/main.rs,%,$(wildcard $(ROOT)/examples/*/main.rs)))
EXAMPLE_CRATES := $(sort $(patsubst $(ROOT)/examples/%/Cargo.toml,%,$(wildcard $(ROOT)/examples/*/Cargo.toml)))
EXAMPLE ?=
ifneq ($(EXAMPLE),)
ifeq ($(filter $(EXAMPLE),$(EXAMPLES) $(EXAMPLE_CRATES) test-function),)
$(error EXAMPLE must name a folder of examples/ with a main.rs or a Cargo.toml \
($(or $(EXAMPLES) $(EXAMPLE_CRATES),there is none)), not '$(EXAMPLE)')
endif
endif
EVENTS := $(ROOT)/$(if $(EXAMPLE),examples/$(EXAMPLE)/)events
EXAMPLE_CRATE := $(filter $(EXAMPLE),$(EXAMPLE_CRATES))
ifneq ($(EXAMPLE_CRATE)$(filter tiny,$(PROFILE)),)
ifneq ($(EXAMPLE_CRATE),)
ifeq ($(PROFILE),tiny)
$(error PROFILE=tiny is the runtime's own profile: examples/$(EXAMPLE_CRATE) builds with PROFILE=release)
endif
endif
endif
# Where cargo builds, and which target: an example crate in its own folder
# (its .cargo/config.toml names its C compilers), its binary named after it.
BUILD_DIR := $(ROOT)$(if $(EXAMPLE_CRATE),/examples/$(EXAMPLE_CRATE))
CARGO_TARGET_ARGS := $(if $(EXAMPLE_CRATE),,$(if $(EXAMPLE),--example $(EXAMPLE),--bin bootstrap))

# Cargo features for build/tiny/zip, comma- or space-separated.
FEATURES ?=
ALL_FEATURES := $(strip $(subst $(comma),$(space),$(FEATURES)))
CARGO_FEATURES := $(if $(ALL_FEATURES),--features $(subst $(space),$(comma),$(ALL_FEATURES)))
NIGHTLY ?= nightly
PYTHON ?= python3
VENV := $(ROOT)/.venv

# One target directory for every step, absolute (sam build runs elsewhere).
export CARGO_TARGET_DIR := $(abspath $(or $(CARGO_TARGET_DIR),$(ROOT)/target))
BIN := $(CARGO_TARGET_DIR)/$(TARGET)/$(PROFILE)/$(or $(EXAMPLE_CRATE),$(if $(EXAMPLE),examples/$(EXAMPLE),bootstrap))
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
REMAP := --remap-path-prefix=$(CARGO_HOME_DIR)/registry/src/=
RELEASE_RUSTFLAGS := -Clink-arg=-T$(ROOT)/scripts/no-unwind.ld -Clink-arg=--no-eh-frame-hdr $(REMAP)

# PANIC=unwind: the release profile with `panic = "unwind"`, so the runtime
# catches a function's panic, answers that invocation Runtime.Panic and goes
# on serving. Unwinding needs the unwind tables the default build drops.
PANIC ?= abort
ifeq ($(filter abort unwind,$(PANIC)),)
$(error PANIC must be abort or unwind, not '$(PANIC)')
endif
PANIC_CONFIG :=
ifeq ($(PANIC),unwind)
ifeq ($(PROFILE),tiny)
$(error PANIC=unwind needs PROFILE=release: make tiny's panics abort at once)
endif
PANIC_CONFIG := --config 'profile.release.panic="unwind"'
RELEASE_RUSTFLAGS := $(REMAP)
endif

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

# "a", "b": words as a TOML list's items.
toml-list = $(subst " ","$(comma) ",$(patsubst %,"%",$(strip $(1))))
# --config that appends $(1) to the target's rustflags of .cargo/config.toml.
rustflags = --config 'target.$(TARGET).rustflags = [$(call toml-list,$(1))]'

LOGICAL_ID := BootstrapFunction
LOG_FORMAT ?= Text
# make invoke: the first sample event of the function (EXAMPLE's, if set).
EVENT ?= $(firstword $(sort $(wildcard $(EVENTS)/*)))
STACK ?= $(or $(shell sed -n 's/^stack_name *= *"\(.*\)"/\1/p' $(ROOT)/samconfig.toml 2>/dev/null | head -n 1),bootstrap)
# make deploy CAPACITY_PROVIDER=<arn> [MAX_CONCURRENCY=n]: on Lambda Managed
# Instances; STREAM_EXAMPLE=true: also the stream example behind a function
# URL; SQS_EXAMPLE=true: also the SQS example with its queue.
SAM_PARAMETERS = --parameter-overrides Architecture=$(ARCH) LogFormat=$(LOG_FORMAT) \
	$(if $(CAPACITY_PROVIDER),CapacityProviderArn=$(CAPACITY_PROVIDER)) \
	$(if $(MAX_CONCURRENCY),MaxConcurrency=$(MAX_CONCURRENCY)) \
	$(if $(STREAM_EXAMPLE),StreamExample=$(STREAM_EXAMPLE)) \
	$(if $(SQS_EXAMPLE),SqsExample=$(SQS_EXAMPLE))
# Before anything slow or interactive (sam's guided questions, a build): AWS
# credentials that work and a region, or a message saying what is missing.
# Sets the shell variable `region` for the rest of the recipe.
AWS_CHECK = region=$$($(VENV)/bin/python $(ROOT)/scripts/aws-check.py $(ROOT)/samconfig.toml)

.PHONY: help setup setup-run setup-test setup-deploy rust-target c-compiler nightly build tiny zip size \
	run test fmt-check bench bloat deploy invoke logs delete clean distclean build-$(LOGICAL_ID) build-StreamFunction build-SqsFunction

help: ## List the targets.
	@echo 'make [target] [ARCH=x86_64|arm64] [PROFILE=release|tiny]'
	@grep -E '^[a-zA-Z$$()_-]+:.*## ' $(MAKEFILE_LIST) | \
		sed -e 's/\$$(LOGICAL_ID)/$(LOGICAL_ID)/' | \
		awk -F ':.*## ' '{ printf "  %-26s %s\n", $$1, $$2 }'

# Each target installs only what it needs (scripts/setup.sh says what):
# `make run` gets cargo-lambda alone, `make test` and `make deploy` sam and
# the AWS CLI too. All of them are fast once done.
setup: ## Install what every target needs (rustup targets, qemu-user, curl, .venv tools).
	@ARCH=$(ARCH) $(ROOT)/scripts/setup.sh run test deploy

setup-run: ## Install what make run needs (a musl target, curl, cargo-lambda in .venv).
	@ARCH=$(ARCH) $(ROOT)/scripts/setup.sh run

setup-test: ## Install what make test needs (both musl targets, qemu-user, curl, .venv tools).
	@ARCH=$(ARCH) $(ROOT)/scripts/setup.sh test

setup-deploy: ## Install what make deploy needs (sam and aws in .venv: `. .venv/bin/activate` to use them).
	@ARCH=$(ARCH) $(ROOT)/scripts/setup.sh deploy

rust-target:
	@rustup target list --installed | grep -qxF $(TARGET) || rustup target add $(TARGET)

# A C compiler for the musl target, for crates that build C (the AWS SDK's
# TLS): Debian's musl-tools, or its aarch64 cross gcc (scripts/setup.sh cc).
c-compiler:
	@ARCH=$(ARCH) $(ROOT)/scripts/setup.sh cc

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
	echo "rustup run $(NIGHTLY) cargo build --profile tiny --target $(TARGET) $(CARGO_TARGET_ARGS) $(CARGO_FEATURES) $(TINY_STD) --config '$$config'"; \
	cd $(BUILD_DIR) && rustup run $(NIGHTLY) cargo build --profile tiny --target $(TARGET) $(CARGO_TARGET_ARGS) $(CARGO_FEATURES) $(TINY_STD) --config "$$config"
	@echo "$(BIN): $$(stat -c %s $(BIN)) bytes"
else
build: rust-target $(if $(EXAMPLE_CRATE),c-compiler) ## Build target/<triple>/release/bootstrap (ARCH=arm64 for aarch64; EXAMPLE=x: .../release/examples/x).
	cd $(BUILD_DIR) && $(CARGO) build --release --target $(TARGET) $(CARGO_TARGET_ARGS) $(CARGO_FEATURES) $(PANIC_CONFIG) $(call rustflags,$(RELEASE_RUSTFLAGS))
	@echo "$(BIN): $$(stat -c %s $(BIN)) bytes"
endif

tiny: ## Build target/<triple>/tiny/bootstrap: nightly, std rebuilt for size, no panic reports.
	@$(MAKE) -f $(ROOT)/Makefile build PROFILE=tiny

zip: build ## Write bootstrap.zip: one entry, bootstrap, mode 0755, same bytes for the same binary.
	@$(PYTHON) $(ROOT)/scripts/mkzip.py $(BIN) $(ZIP_OUT)

# The guards are on the runtime itself, so `make size` builds it with the
# test suite's function (EXAMPLE=test-function), as the size tests do,
# whatever src/handler.rs holds; it builds the built-in function too, to
# report it against this round's budget.
size: ## Build both functions in every build this machine can; print bytes and zip bytes against guards and budget.
	@for example in test-function ''; do \
		$(MAKE) -f $(ROOT)/Makefile build EXAMPLE=$$example ARCH=x86_64 PROFILE=release && \
		$(MAKE) -f $(ROOT)/Makefile build EXAMPLE=$$example ARCH=arm64 PROFILE=release || exit 1; \
		if rustup toolchain list | grep -q '^$(NIGHTLY)'; then \
			$(MAKE) -f $(ROOT)/Makefile build EXAMPLE=$$example ARCH=x86_64 PROFILE=tiny && \
			$(MAKE) -f $(ROOT)/Makefile build EXAMPLE=$$example ARCH=arm64 PROFILE=tiny || exit 1; \
		else echo "no '$(NIGHTLY)' toolchain: no tiny builds"; fi; \
	done
	@echo
	@$(PYTHON) $(ROOT)/scripts/size.py $(CARGO_TARGET_DIR)

run: setup-run build ## Run the function against cargo lambda's emulator and invoke every event in events/ (EXAMPLE=x: examples/x/events/).
	@BIN=$(BIN) RUNNER=$(if $(filter arm64,$(ARCH)),qemu-aarch64) PORT=$(PORT) EVENTS=$(EVENTS) \
		$(ROOT)/scripts/run-local.sh

# tests/fake-api is a crate of its own (the tests' Runtime API): its checks
# and unit tests run beside the package's.
# Plain `cargo test` is the fast offline loop (unit and protocol tests); the
# slow and networked suites (tests/packaging.rs, tests/emulator.rs,
# tests/aws_sdk.rs) are #[ignore]d there and run here, with every tool
# required (BOOTSTRAP_STRICT). examples/dynamodb, a crate of its own, gets
# its clippy and unit tests here too.
# The runtime's suites run the tests' own function (the Cargo example
# test-function), so what src/handler.rs holds cannot turn them red.
FAKE_API := --manifest-path $(ROOT)/tests/fake-api/Cargo.toml
# The format check comes last: a formatting slip shows with the command
# that mends it, after every test has run, and still fails the target.
test: setup-test ## Clippy, docs, every test (the slow ones too), then the format check; missing tools fail.
	cd $(ROOT) && $(CARGO) clippy --all-targets --all-features -- -D warnings
	cd $(ROOT) && $(CARGO) clippy --all-targets $(FAKE_API) -- -D warnings
	cd $(ROOT) && RUSTDOCFLAGS='-D warnings' $(CARGO) doc --no-deps --lib
	cd $(ROOT) && $(CARGO) test $(FAKE_API)
	cd $(ROOT) && $(CARGO) test --all-features --lib
	cd $(ROOT) && $(CARGO) test --all-features --doc
	cd $(ROOT) && BOOTSTRAP_STRICT=1 $(CARGO) test -- --include-ignored
	cd $(ROOT)/examples/dynamodb && $(CARGO) clippy --all-targets -- -D warnings
	cd $(ROOT)/examples/dynamodb && $(CARGO) test
	@$(MAKE) -f $(ROOT)/Makefile fmt-check

FMT_CRATES := $(ROOT)/Cargo.toml $(ROOT)/tests/fake-api/Cargo.toml $(ROOT)/bench/runner/Cargo.toml \
	$(ROOT)/examples/dynamodb/Cargo.toml
fmt-check: ## Check the formatting of every crate here; says the command that fixes it.
	@status=0; for manifest in $(FMT_CRATES); do \
		$(CARGO) fmt --check --manifest-path "$$manifest" >/dev/null 2>&1 || { \
			echo "not formatted: $${manifest#$(ROOT)/} (fix: cargo fmt --manifest-path $${manifest#$(ROOT)/})" >&2; status=1; }; \
	done; \
	if [ $$status = 0 ]; then echo "fmt-check: every crate is formatted"; fi; exit $$status

bench: ## Benchmark against the official runtime (bench/).
	@if [ -x $(ROOT)/bench/run ]; then $(ROOT)/bench/run; \
	else echo "bench/run is missing: the benchmark is not there yet" >&2; exit 1; fi

bloat: rust-target ## Where the bytes go: largest crates and functions of an unstripped release build.
	@command -v cargo-bloat >/dev/null || $(CARGO) install --locked --quiet cargo-bloat --root $(CARGO_TARGET_DIR)/tools
	cd $(ROOT) && PATH=$(CARGO_TARGET_DIR)/tools/bin:$$PATH $(CARGO) bloat --profile bloat --target $(TARGET) --crates --split-std -n 20
	cd $(ROOT) && PATH=$(CARGO_TARGET_DIR)/tools/bin:$$PATH $(CARGO) bloat --profile bloat --target $(TARGET) -n 40

# sam build's makefile build method runs `make build-<LogicalId>` with
# ARTIFACTS_DIR set, in scripts/sam-build/<Architecture> (see SAM_ARCH above):
# the template's Architecture picks ARCH. PROFILE, EXAMPLE and FEATURES come
# from the environment (make deploy passes them).
build-$(LOGICAL_ID): build ## (sam build) copy the bootstrap into $ARTIFACTS_DIR.
	@[ -n "$(SAM_ARCH)" ] || { echo "build-$(LOGICAL_ID) is sam build's: run sam build" \
		"(it runs make in scripts/sam-build/<Architecture> to tell the architecture)" >&2; exit 1; }
	@[ -n "$${ARTIFACTS_DIR:-}" ] || { echo "ARTIFACTS_DIR is not set: sam build sets it" >&2; exit 1; }
	install -m 0755 $(BIN) "$$ARTIFACTS_DIR/bootstrap"

# The optional examples' functions (template.yaml, StreamExample=true,
# SqsExample=true): built only when wanted; otherwise ARTIFACTS_DIR gets a
# note (CloudFormation does not create the function: its Condition is false).
optional-example = @if [ "$(SAM_WANTED)" = false ]; then \
		echo "$(2) is not true: examples/$(1) is not built"; \
		echo "not built: $(2) is not true" > "$$ARTIFACTS_DIR/NOT-BUILT"; \
	else $(MAKE) -f $(ROOT)/Makefile build-$(LOGICAL_ID) EXAMPLE=$(1); fi

build-StreamFunction: ## (sam build) the bootstrap with examples/stream, into $ARTIFACTS_DIR (StreamExample=true).
	$(call optional-example,stream,StreamExample)

build-SqsFunction: ## (sam build) the bootstrap with examples/sqs, into $ARTIFACTS_DIR (SqsExample=true).
	$(call optional-example,sqs,SqsExample)

# ARCH goes to the template (Architecture), which makes sam build the same
# architecture. The first deploy is guided (stack name, region, S3 bucket;
# saved to samconfig.toml), with this stack name and region as defaults.
deploy: setup-deploy ## Check AWS credentials, then sam build + sam deploy (--guided the first time); ARCH=arm64 for Graviton.
	@$(AWS_CHECK); cd $(ROOT); \
	echo "sam build $(SAM_PARAMETERS)"; \
	PROFILE=$(PROFILE) PANIC=$(PANIC) EXAMPLE=$(EXAMPLE) FEATURES='$(FEATURES)' sam build $(SAM_PARAMETERS); \
	if grep -qs '^\[default\.deploy\.parameters\]' samconfig.toml; then \
		echo "sam deploy --region $$region $(SAM_PARAMETERS)"; \
		sam deploy --region "$$region" $(SAM_PARAMETERS); \
	else \
		echo "sam deploy --guided --stack-name $(STACK) --region $$region $(SAM_PARAMETERS)"; \
		sam deploy --guided --stack-name $(STACK) --region "$$region" $(SAM_PARAMETERS); \
	fi

delete: setup-deploy ## Delete the deployed stack and its uploaded code (sam delete; asks first).
	@$(AWS_CHECK); cd $(ROOT); \
	echo "sam delete --stack-name $(STACK) --region $$region"; \
	sam delete --stack-name $(STACK) --region "$$region"

# fileb:// hands the event over as raw bytes on both AWS CLI v1 (which pip
# installs into .venv) and v2 (where file:// or an inline payload would be
# read as base64 without --cli-binary-format raw-in-base64-out, a flag v1
# refuses).
invoke: setup-deploy ## Invoke the deployed function with EVENT (default: the first sample event); print the answer.
	@$(AWS_CHECK); cd $(ROOT); \
	fn=$$(aws cloudformation describe-stacks --region "$$region" --stack-name $(STACK) --output text \
		--query "Stacks[0].Outputs[?OutputKey=='FunctionName'].OutputValue"); \
	mkdir -p $(CARGO_TARGET_DIR); \
	answer=$(CARGO_TARGET_DIR)/invoke-answer.json; \
	echo "aws lambda invoke --function-name $$fn --payload fileb://$(EVENT) $$answer"; \
	aws lambda invoke --region "$$region" --function-name "$$fn" \
		--payload "fileb://$(EVENT)" --output json "$$answer"; \
	cat "$$answer"; echo

logs: setup-deploy ## Show the deployed function's recent logs (TAIL=1 to follow).
	@$(AWS_CHECK); cd $(ROOT) && \
	sam logs --region "$$region" --stack-name $(STACK) --name $(LOGICAL_ID) $(if $(TAIL),--tail)

# Every build output here: make test leaves a few GB (README says how much).
BUILD_OUTPUTS := $(sort $(CARGO_TARGET_DIR) $(ROOT)/target) $(ROOT)/tests/fake-api/target $(ROOT)/bench/target \
	$(ROOT)/examples/dynamodb/target $(ROOT)/.aws-sam $(ROOT)/bootstrap.zip
clean: ## Remove every build output (target/ and the other crates', bootstrap.zip, .aws-sam/); keeps the venvs.
	@freed=$$(du -sck $(BUILD_OUTPUTS) 2>/dev/null | tail -n 1 | cut -f 1); \
	rm -rf $(BUILD_OUTPUTS); \
	echo "make clean: freed $$((freed / 1024)) MiB"

distclean: clean ## Also remove the venvs (.venv, .venv-moto).
	rm -rf $(VENV) $(ROOT)/.venv-moto
