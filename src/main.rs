//! `bootstrap`: the built-in function (`src/handler.rs`) as a Lambda
//! custom runtime, the binary that `make`, `make run` and `sam build` ship.
//!
//! Replace `src/handler.rs` with your own function; everything else is the
//! `lambda_bootstrap` library, whose loop (`run` and `serve`) is in
//! `src/lib.rs`.

mod handler;

fn main() -> std::process::ExitCode {
    lambda_bootstrap::run::<handler::Handler>()
}
