//! [`Fatal`]: why the runtime cannot go on.

use std::fmt;
use std::io;

use crate::address;

/// Why the runtime cannot go on. Each of these ends the process: Lambda
/// then answers any open invocation with `Runtime.ExitError` and starts a
/// fresh sandbox.
#[derive(Debug)]
pub enum Fatal {
    /// `AWS_LAMBDA_RUNTIME_API` is not set: there is no API to talk to.
    MissingAddress,
    /// `AWS_LAMBDA_RUNTIME_API` is set but is not an address we can use.
    BadAddress(String),
    /// The connection failed, dropped, or carried something that isn't HTTP.
    Transport {
        /// The call that failed, e.g. `GET /invocation/next`.
        call: &'static str,
        /// What ureq saw.
        source: ureq::Error,
    },
    /// A streamed answer could not be sent, or got no answer.
    Stream(io::Error),
    /// The worker threads of Lambda Managed Instances could not start.
    Workers(io::Error),
    /// The API answered with a status the runtime can't go on from: 403 on
    /// `/next`, any 5xx, or anything the contract doesn't name.
    Status {
        /// The call that got the status.
        call: &'static str,
        /// The status.
        status: u16,
    },
    /// `/next` gave an invocation without a request id.
    MissingRequestId,
    /// `/next` gave a request id that must not go into a URL.
    BadRequestId(String),
}

impl fmt::Display for Fatal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let variable = address::VARIABLE;
        match self {
            Fatal::MissingAddress => write!(
                f,
                "{variable} is not set: run me inside Lambda or next to a Runtime API emulator"
            ),
            Fatal::BadAddress(address) => write!(
                f,
                "{variable} is {address:?}: expected ip:port or http://ip:port/prefix (the host an IP address or localhost)"
            ),
            Fatal::Transport { call, source } => write!(f, "{call} failed: {source}"),
            Fatal::Stream(source) => write!(f, "POST /invocation/<id>/response (streamed) failed: {source}"),
            Fatal::Workers(source) => write!(f, "could not start the worker threads: {source}"),
            Fatal::Status { call, status } => {
                write!(
                    f,
                    "{call} answered {status}: the runtime can't go on (Lambda starts a new one)"
                )
            }
            Fatal::MissingRequestId => {
                f.write_str("GET /next gave an invocation without Lambda-Runtime-Aws-Request-Id")
            }
            Fatal::BadRequestId(id) => write!(
                f,
                "GET /next gave request id {id:?}, which is not letters, digits and '-': it can't be answered"
            ),
        }
    }
}

impl std::error::Error for Fatal {}
