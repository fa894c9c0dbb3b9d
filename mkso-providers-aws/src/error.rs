//! Classifying SDK errors: throttling, 5xx, dispatch and timeout errors are
//! retryable; `*.NotFound` is not-found; invalid parameters are permanent and
//! keep the AWS error code and message.

use aws_sdk_ec2::error::{DisplayErrorContext, ProvideErrorMetadata, SdkError};
use mkso::ProviderError;

const RETRYABLE_CODES: &[&str] = &[
    "RequestLimitExceeded",
    "Throttling",
    "ThrottlingException",
    "RequestThrottled",
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
            let e = if code.ends_with(".NotFound") || code.ends_with("NotFound") {
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
