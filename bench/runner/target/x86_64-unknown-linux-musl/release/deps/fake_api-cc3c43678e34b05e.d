/work/main/bench/runner/target/x86_64-unknown-linux-musl/release/deps/fake_api-cc3c43678e34b05e.d: /work/main/tests/fake-api/src/lib.rs /work/main/tests/fake-api/src/client.rs /work/main/tests/fake-api/src/http.rs

/work/main/bench/runner/target/x86_64-unknown-linux-musl/release/deps/libfake_api-cc3c43678e34b05e.rmeta: /work/main/tests/fake-api/src/lib.rs /work/main/tests/fake-api/src/client.rs /work/main/tests/fake-api/src/http.rs

/work/main/tests/fake-api/src/lib.rs:
/work/main/tests/fake-api/src/client.rs:
/work/main/tests/fake-api/src/http.rs:
