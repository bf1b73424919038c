//! `_X_AMZN_TRACE_ID`: X-Ray's trace header, where AWS's SDKs look for it.

/// X-Ray's SDKs read the trace header from `_X_AMZN_TRACE_ID`; it must
/// describe this invocation, never the one before.
pub fn set_trace_variable(trace_id: Option<&str>) {
    const NAME: &str = "_X_AMZN_TRACE_ID";
    // SAFETY: called only in Lambda's classic mode, between invocations, on
    // the thread that serves them, when no function code runs (under
    // Managed Instances it is never set). std's own readers take the same
    // lock as this write; what remains unsound is C code on another thread
    // of the function's reading the environment (`getenv`, `localtime`) at
    // that moment, which README warns about.
    unsafe {
        match trace_id {
            Some(id) => std::env::set_var(NAME, id),
            None => std::env::remove_var(NAME),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_variable_follows_the_invocation() {
        set_trace_variable(Some("Root=1-x"));
        assert_eq!(std::env::var("_X_AMZN_TRACE_ID").unwrap(), "Root=1-x");
        set_trace_variable(None);
        assert!(std::env::var_os("_X_AMZN_TRACE_ID").is_none());
    }
}
