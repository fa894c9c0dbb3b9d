//! Classifying SDK errors: throttling, 5xx, dispatch and timeout errors are
//! retryable; `*.NotFound` is not-found; invalid parameters are permanent and
//! keep the AWS error code and message. Throttling answers (EC2's
//! `RequestLimitExceeded`, HTTP 429, ...) are marked as such, so the engine
//! narrows its concurrency and retries them without counting a failure.

use aws_sdk_ec2::error::{DisplayErrorContext, ProvideErrorMetadata, SdkError};
use mkso::ProviderError;

/// Codes of throttling answers (EC2 answers `RequestLimitExceeded` with HTTP
/// 503; other AWS services use the rest, with 400, 429 or 503).
const THROTTLING_CODES: &[&str] = &[
    "RequestLimitExceeded",
    "Throttling",
    "ThrottlingException",
    "TooManyRequestsException",
    "SlowDown",
    "RequestThrottled",
    "RequestThrottledException",
];

/// Whether an answer is a throttling one.
fn is_throttling(status: u16, code: &str) -> bool {
    status == 429 || THROTTLING_CODES.contains(&code)
}

/// A `Retry-After` header's delay (whole seconds; the date form is ignored).
fn retry_after(value: Option<&str>) -> Option<std::time::Duration> {
    value?
        .trim()
        .parse::<u64>()
        .ok()
        .map(std::time::Duration::from_secs)
}

const RETRYABLE_CODES: &[&str] = &[
    "InternalError",
    "InternalFailure",
    "ServiceUnavailable",
    "Unavailable",
    "InsufficientInstanceCapacity",
    "IncorrectState",
    "IncorrectInstanceState",
    // Deleting something still in use: retried within the delete timeout.
    "DependencyViolation",
];

/// Turns an SDK error into a classified provider error; `what` names the call
/// and resource for the message.
pub(crate) fn classify<E>(err: SdkError<E>, what: &str, endpoint: &str) -> ProviderError
where
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
{
    match &err {
        SdkError::TimeoutError(_) => {
            ProviderError::retryable(format!("{what}: the request to {endpoint} timed out"))
        }
        SdkError::DispatchFailure(d) => {
            let detail = DisplayErrorContext(&err).to_string();
            if detail.contains("loading credentials") || detail.contains("no credentials") {
                return ProviderError::permanent(format!(
                    "{what}: no usable AWS credentials: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or AWS_PROFILE, or run where an instance role is available ({})",
                    detail.split(" (").next().unwrap_or(&detail)
                ))
                .unsent();
            }
            let e = ProviderError::retryable(format!(
                "{what}: cannot reach the EC2 endpoint {endpoint}: {detail}"
            ));
            // Failing to connect means the request was never sent.
            if d.as_connector_error().is_some_and(|c| c.is_io())
                && (detail.contains("Connect") || detail.contains("onnection refused"))
            {
                e.unsent()
            } else {
                e
            }
        }
        SdkError::ResponseError(_) => ProviderError::retryable(format!(
            "{what}: unreadable response from {endpoint}: {}",
            DisplayErrorContext(&err)
        )),
        SdkError::ServiceError(se) => {
            let status = se.raw().status().as_u16();
            let code = err.code().unwrap_or("").to_string();
            let message = err.message().unwrap_or("").to_string();
            let text = format!("{what}: {message}");
            let e = if is_throttling(status, &code) {
                let e = ProviderError::throttled(text);
                match retry_after(se.raw().headers().get("retry-after")) {
                    Some(d) => e.with_retry_after(d),
                    None => e,
                }
            } else if code.ends_with(".NotFound") || code.ends_with("NotFound") {
                ProviderError::not_found(text)
            } else if status >= 500 || RETRYABLE_CODES.contains(&code.as_str()) {
                ProviderError::retryable(text)
            } else {
                ProviderError::permanent(text)
            };
            if code.is_empty() {
                e.with_code(format!("HTTP {status}"))
            } else {
                e.with_code(code)
            }
        }
        _ => ProviderError::permanent(format!("{what}: {}", DisplayErrorContext(&err))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn throttling_answers_are_recognised() {
        assert!(is_throttling(503, "RequestLimitExceeded"));
        assert!(is_throttling(400, "Throttling"));
        assert!(is_throttling(400, "ThrottlingException"));
        assert!(is_throttling(429, "TooManyRequestsException"));
        assert!(is_throttling(503, "SlowDown"));
        assert!(is_throttling(429, ""));
        assert!(!is_throttling(503, "ServiceUnavailable"));
        assert!(!is_throttling(400, "InvalidParameterValue"));
        assert_eq!(
            retry_after(Some(" 3 ")),
            Some(std::time::Duration::from_secs(3))
        );
        assert_eq!(retry_after(Some("Wed, 21 Oct 2015 07:28:00 GMT")), None);
        assert_eq!(retry_after(None), None);
    }
}
