//! [`Config`]: the function's static configuration, from the variables
//! Lambda sets.

use std::env;
use std::sync::OnceLock;

use crate::Error;

/// The function's static configuration, read once at start-up from the
/// variables Lambda sets. Each is `None` when unset (as under an emulator).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Config {
    /// `AWS_LAMBDA_FUNCTION_NAME`
    pub function_name: Option<String>,
    /// `AWS_LAMBDA_FUNCTION_VERSION`: `$LATEST` or a number.
    pub function_version: Option<String>,
    /// `AWS_LAMBDA_FUNCTION_MEMORY_SIZE`, in MB.
    pub memory_mb: Option<u32>,
    /// `AWS_LAMBDA_LOG_GROUP_NAME`
    pub log_group: Option<String>,
    /// `AWS_LAMBDA_LOG_STREAM_NAME`
    pub log_stream: Option<String>,
    /// `AWS_LAMBDA_MAX_CONCURRENCY`: invocations served at once (Lambda
    /// Managed Instances); `None` in Lambda's classic one-at-a-time mode,
    /// 0 when it is not a number.
    pub max_concurrency: Option<usize>,
}

/// The most invocations at once that AWS's runtimes accept.
pub const MAX_CONCURRENCY: usize = 1000;

static CONFIG: OnceLock<Config> = OnceLock::new();

impl Config {
    /// The process's configuration, read from the environment the first
    /// time it is asked for.
    pub fn get() -> &'static Config {
        CONFIG.get_or_init(|| Config::from(|name| env::var(name).ok()))
    }

    fn from(var: impl Fn(&str) -> Option<String>) -> Config {
        Config {
            function_name: var("AWS_LAMBDA_FUNCTION_NAME"),
            function_version: var("AWS_LAMBDA_FUNCTION_VERSION"),
            memory_mb: var("AWS_LAMBDA_FUNCTION_MEMORY_SIZE").and_then(|mb| mb.trim().parse().ok()),
            log_group: var("AWS_LAMBDA_LOG_GROUP_NAME"),
            log_stream: var("AWS_LAMBDA_LOG_STREAM_NAME"),
            max_concurrency: var("AWS_LAMBDA_MAX_CONCURRENCY").map(|n| n.trim().parse().unwrap_or(0)),
        }
    }

    /// Checks what the runtime itself needs of the configuration.
    pub(crate) fn check(&self) -> Result<(), Error> {
        match self.max_concurrency {
            Some(1..=MAX_CONCURRENCY) | None => Ok(()),
            Some(_) => Err(Error::new(
                "Runtime.InvalidConfig",
                format!("AWS_LAMBDA_MAX_CONCURRENCY must be a whole number from 1 to {MAX_CONCURRENCY}"),
            )),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn configuration_comes_from_lambdas_variables() {
        let config = Config::from(|name| {
            let value = match name {
                "AWS_LAMBDA_FUNCTION_NAME" => "greeter",
                "AWS_LAMBDA_FUNCTION_VERSION" => "$LATEST",
                "AWS_LAMBDA_FUNCTION_MEMORY_SIZE" => "128",
                "AWS_LAMBDA_LOG_GROUP_NAME" => "/aws/lambda/greeter",
                "AWS_LAMBDA_MAX_CONCURRENCY" => "8",
                _ => return None,
            };
            Some(value.to_owned())
        });
        assert_eq!(config.function_name.as_deref(), Some("greeter"));
        assert_eq!(config.function_version.as_deref(), Some("$LATEST"));
        assert_eq!(config.memory_mb, Some(128));
        assert_eq!(config.log_group.as_deref(), Some("/aws/lambda/greeter"));
        assert_eq!(config.log_stream, None);
        assert_eq!(config.max_concurrency, Some(8));
        assert!(config.check().is_ok());
        assert_eq!(Config::from(|_| None), Config::default());
    }

    #[test]
    fn concurrency_must_be_1_to_1000() {
        for bad in ["0", "-1", "x", "", "1001", "1e3"] {
            let config = Config::from(|name| (name == "AWS_LAMBDA_MAX_CONCURRENCY").then(|| bad.to_owned()));
            let error = config.check().unwrap_err();
            assert_eq!(error.error_type(), "Runtime.InvalidConfig", "{bad:?}");
        }
        for good in ["1", "64", "1000", " 8 "] {
            let config = Config::from(|name| (name == "AWS_LAMBDA_MAX_CONCURRENCY").then(|| good.to_owned()));
            assert!(config.check().is_ok(), "{good:?}");
        }
    }
}
