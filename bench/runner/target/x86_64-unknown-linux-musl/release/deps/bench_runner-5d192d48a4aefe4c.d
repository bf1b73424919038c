/work/main/bench/runner/target/x86_64-unknown-linux-musl/release/deps/bench_runner-5d192d48a4aefe4c.d: src/main.rs src/driver.rs src/proc.rs src/report.rs src/setup.rs Cargo.toml

/work/main/bench/runner/target/x86_64-unknown-linux-musl/release/deps/libbench_runner-5d192d48a4aefe4c.rmeta: src/main.rs src/driver.rs src/proc.rs src/report.rs src/setup.rs Cargo.toml

src/main.rs:
src/driver.rs:
src/proc.rs:
src/report.rs:
src/setup.rs:
Cargo.toml:

# env-dep:CARGO_MANIFEST_DIR=/work/main/bench/runner
# env-dep:CLIPPY_ARGS=-D__CLIPPY_HACKERY__warnings__CLIPPY_HACKERY__
# env-dep:CLIPPY_CONF_DIR
