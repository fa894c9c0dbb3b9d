//! How the AWS SDK's errors become [`ProviderError`]s: retryable, throttled,
//! not-found or permanent, with the AWS error code, the delay the service
//! asked for (`retry_after`) and whether the request certainly never reached
//! the service (`unsent`). The classification follows the SDK's own retry
//! classifiers (smithy-rs `aws-runtime/src/retries/classifiers.rs` and
//! `aws-smithy-runtime/src/client/retries/classifiers.rs`); the provider
//! turns the SDK's retries off and leaves retrying to the engine.
//!
//! An answer from the service (`SdkError::ServiceError`) is classified by its
//! error code ([`ProvideErrorMetadata::code`]), then by its HTTP status:
//!
//! - a code of [`THROTTLING_ERRORS`], or HTTP 429: throttled (the engine
//!   narrows its concurrency and retries it without counting a failure);
//! - a code ending in `NotFound` (`InvalidVpcID.NotFound`,
//!   `NatGatewayNotFound`) or `NotFoundFault` (RDS), or one of
//!   [`NOT_FOUND`] (`NoSuchEntity`): not found — except those of
//!   [`CATALOG_NOT_FOUND`] (an instance type that does not exist): permanent;
//! - a code of [`TRANSIENT_ERRORS`] or [`EC2_RETRYABLE_ERRORS`], or HTTP 5xx:
//!   retryable;
//! - anything else (`InvalidParameterValue`, `UnauthorizedOperation`, ...):
//!   permanent.
//!
//! The error keeps the code (`HTTP <status>` when the answer has none) and,
//! when retryable, the delay the service asked for: `x-amz-retry-after`
//! (milliseconds, as the SDK reads it) or `Retry-After` (seconds or an HTTP
//! date).
//!
//! A failure without an answer is classified by the SDK's error kind:
//!
//! - the credential provider's error in the source chain (no credentials, a
//!   broken profile, ...): permanent, and unsent (credentials are resolved
//!   before anything is sent);
//! - a timeout (of the call, or the connector's), an I/O error, an unreadable
//!   response: retryable; an I/O error that is a failure to connect
//!   (connection refused, host or network unreachable) is unsent;
//! - the connector's other errors: by the error kind it gives (throttling,
//!   transient or server: retryable; client: permanent); without one the
//!   request may have been sent, so retryable;
//! - a connector user error (an invalid request) or a request that could not
//!   be built: permanent.

use std::error::Error as StdError;
use std::time::{Duration, SystemTime};

use aws_credential_types::provider::{ProvideCredentials, SharedCredentialsProvider};
use aws_smithy_runtime_api::client::orchestrator::HttpResponse;
use aws_smithy_runtime_api::client::result::{ConnectorError, SdkError};
use aws_smithy_runtime_api::client::retries::classifiers::RetryAction;
use aws_smithy_types::DateTime;
use aws_smithy_types::date_time::Format as DateTimeFormat;
use aws_smithy_types::error::display::DisplayErrorContext;
use aws_smithy_types::error::metadata::ProvideErrorMetadata;
use mkso::ProviderError;

/// Codes of throttling answers: `THROTTLING_ERRORS` of smithy-rs
/// `aws-runtime/src/retries/classifiers.rs` (aws-runtime 1.10). EC2 answers
/// `RequestLimitExceeded` with HTTP 503.
pub const THROTTLING_ERRORS: &[&str] = &[
    "Throttling",
    "ThrottlingException",
    "ThrottledException",
    "RequestThrottledException",
    "TooManyRequestsException",
    "ProvisionedThroughputExceededException",
    "TransactionInProgressException",
    "RequestLimitExceeded",
    "BandwidthLimitExceeded",
    "LimitExceededException",
    "RequestThrottled",
    "SlowDown",
    "PriorRequestNotComplete",
    "EC2ThrottledException",
];

/// Codes of transient answers: `TRANSIENT_ERRORS` of smithy-rs
/// `aws-runtime/src/retries/classifiers.rs` (aws-runtime 1.10).
pub const TRANSIENT_ERRORS: &[&str] = &["RequestTimeout", "RequestTimeoutException"];

/// Other retryable codes: EC2's server errors (whatever their HTTP status),
/// capacity and eventual-consistency answers, and deleting something still in
/// use (retried within the delete timeout).
pub const EC2_RETRYABLE_ERRORS: &[&str] = &[
    "InternalError",
    "InternalFailure",
    "ServiceUnavailable",
    "Unavailable",
    "InsufficientInstanceCapacity",
    "IncorrectState",
    "IncorrectInstanceState",
    "DependencyViolation",
    // A placement group whose instances are still terminating.
    "InvalidPlacementGroup.InUse",
];

/// Not-found codes besides those ending in `NotFound` or `NotFoundFault`
/// (RDS's `DBSubnetGroupNotFoundFault`): IAM's, Route 53's and EC2's for a
/// placement group.
pub const NOT_FOUND: &[&str] = &[
    "NoSuchEntity",
    "NoSuchHostedZone",
    "InvalidPlacementGroup.Unknown",
];

/// Codes ending in `NotFound` that name something of the service's own
/// catalog, not a resource: an instance type that does not exist will not
/// appear by waiting (EC2 answers `InvalidParameterValue`; moto
/// `InvalidInstanceType.NotFound`). Permanent, not "not found" (which a
/// create retries as eventual consistency).
pub const CATALOG_NOT_FOUND: &[&str] = &["InvalidInstanceType.NotFound"];

/// The class of a service answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Answer {
    Throttled,
    NotFound,
    Retryable,
    Permanent,
}

impl Answer {
    /// The provider error of this class.
    fn error(self, text: String) -> ProviderError {
        match self {
            Answer::Throttled => ProviderError::throttled(text),
            Answer::NotFound => ProviderError::not_found(text),
            Answer::Retryable => ProviderError::retryable(text),
            Answer::Permanent => ProviderError::permanent(text),
        }
    }
}

/// Classifies a service answer by its error code, then its HTTP status.
fn answer_class(status: u16, code: &str) -> Answer {
    if status == 429 || THROTTLING_ERRORS.contains(&code) {
        Answer::Throttled
    } else if CATALOG_NOT_FOUND.contains(&code) {
        Answer::Permanent
    } else if code.ends_with("NotFound")
        || code.ends_with("NotFoundFault")
        || NOT_FOUND.contains(&code)
    {
        Answer::NotFound
    } else if TRANSIENT_ERRORS.contains(&code)
        || EC2_RETRYABLE_ERRORS.contains(&code)
        || (500..600).contains(&status)
    {
        Answer::Retryable
    } else {
        Answer::Permanent
    }
}

/// The delay an answer asks for before the next call: `x-amz-retry-after`
/// (milliseconds; what the SDK's `AwsErrorCodeClassifier` reads), else
/// `Retry-After` (seconds, or an HTTP date: the time left until it, zero if
/// it has passed).
fn retry_after(raw: &HttpResponse, now: SystemTime) -> Option<Duration> {
    let headers = raw.headers();
    if let Some(ms) = headers
        .get("x-amz-retry-after")
        .and_then(|v| v.trim().parse::<u64>().ok())
    {
        return Some(Duration::from_millis(ms));
    }
    let v = headers.get("retry-after")?.trim();
    if let Ok(secs) = v.parse::<u64>() {
        return Some(Duration::from_secs(secs));
    }
    let at = SystemTime::try_from(DateTime::from_str(v, DateTimeFormat::HttpDate).ok()?).ok()?;
    Some(at.duration_since(now).unwrap_or(Duration::ZERO))
}

/// The errors of `e`'s source chain, `e` first. After an `io::Error` comes
/// its payload (`io::Error::source` skips it).
fn chain<'a>(
    e: &'a (dyn StdError + 'static),
) -> impl Iterator<Item = &'a (dyn StdError + 'static)> {
    std::iter::successors(Some(e), |&e| match e.downcast_ref::<std::io::Error>() {
        Some(io) => io.get_ref().map(|p| p as &(dyn StdError + 'static)),
        None => e.source(),
    })
}

/// `e` and its sources, as `a: b: c`.
fn describe(e: &(dyn StdError + 'static)) -> String {
    chain(e)
        .map(|e| e.to_string())
        .collect::<Vec<_>>()
        .join(": ")
}

/// Whether `e` is the credential provider's error
/// (`aws_credential_types::provider::error::CredentialsError`, which the SDK
/// puts under the dispatch failure when no identity could be resolved).
///
/// Neither `aws-sdk-ec2` nor `aws-config` re-exports the type, so it is taken
/// from what [`ProvideCredentials::provide_credentials`] resolves to.
fn is_credentials_error(e: &(dyn StdError + 'static)) -> bool {
    fn is_error_of<F, T, E>(
        _: fn(&'static SharedCredentialsProvider) -> F,
        e: &(dyn StdError + 'static),
    ) -> bool
    where
        F: Future<Output = Result<T, E>>,
        E: StdError + 'static,
    {
        e.is::<E>()
    }
    is_error_of(|p| p.provide_credentials(), e)
}

/// Whether a connector error is a failure to connect: the request was never
/// sent. The connector does not tell (`ConnectorError::never_connected` has
/// no getter, and the default client does not set it), so this looks for the
/// operating system's answer to the connection attempt in the source chain.
/// A name that does not resolve gives an uncategorised I/O error and so
/// counts as possibly sent.
fn failed_to_connect(c: &ConnectorError) -> bool {
    use std::io::ErrorKind::{
        AddrNotAvailable, ConnectionRefused, HostUnreachable, NetworkUnreachable,
    };
    c.is_io()
        && c.connection_metadata().is_none()
        && chain(c).any(|e| {
            e.downcast_ref::<std::io::Error>().is_some_and(|io| {
                matches!(
                    io.kind(),
                    ConnectionRefused | HostUnreachable | NetworkUnreachable | AddrNotAvailable
                )
            })
        })
}

/// Classifies an error a service answered inside a successful response (a
/// batch call's unsuccessful item: `DeleteVpcEndpoints`), by its code as
/// [`classify`] does.
#[cfg(feature = "ec2")]
pub(crate) fn from_code(code: &str, text: String) -> ProviderError {
    answer_class(200, code).error(text).with_code(code)
}

/// Turns an SDK error into a classified provider error; `what` names the call
/// and resource for the message (``CreateVpc of `vpc` ``), `endpoint` the
/// endpoint called.
pub fn classify<E>(err: SdkError<E, HttpResponse>, what: &str, endpoint: &str) -> ProviderError
where
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
{
    match &err {
        SdkError::ServiceError(se) => {
            let raw = se.raw();
            let status = raw.status().as_u16();
            let code = se.err().code().unwrap_or("");
            let message = match se.err().message() {
                Some(m) if !m.is_empty() => m.to_string(),
                _ if !code.is_empty() => code.to_string(),
                _ => format!("HTTP {status}"),
            };
            let text = format!("{what}: {message}");
            let e = answer_class(status, code).error(text);
            let e = match retry_after(raw, SystemTime::now()) {
                Some(d) if e.is_retryable() => e.with_retry_after(d),
                _ => e,
            };
            if code.is_empty() {
                e.with_code(format!("HTTP {status}"))
            } else {
                e.with_code(code)
            }
        }
        SdkError::TimeoutError(_) => {
            ProviderError::retryable(format!("{what}: the request to {endpoint} timed out"))
        }
        SdkError::DispatchFailure(d) => {
            // The causes as `a: b: c` (the SDK's context display appends
            // its Debug form, a screenful for a refused connection).
            let detail = describe(&err);
            if let Some(cred) = chain(&err).find(|e| is_credentials_error(*e)) {
                return ProviderError::permanent(format!(
                    "{what}: no usable AWS credentials: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or AWS_PROFILE, or run where an instance role is available ({})",
                    describe(cred)
                ))
                .unsent();
            }
            let Some(c) = d.as_connector_error() else {
                return ProviderError::retryable(format!(
                    "{what}: cannot reach the EC2 endpoint {endpoint}: {detail}"
                ));
            };
            if c.is_timeout() {
                ProviderError::retryable(format!(
                    "{what}: the request to {endpoint} timed out: {detail}"
                ))
            } else if c.is_io() {
                let e = ProviderError::retryable(format!(
                    "{what}: cannot reach the EC2 endpoint {endpoint}: {detail}"
                ));
                if failed_to_connect(c) { e.unsent() } else { e }
            } else if c.is_user() {
                ProviderError::permanent(format!(
                    "{what}: the request to {endpoint} is invalid: {detail}"
                ))
            } else {
                let text = format!("{what}: cannot reach the EC2 endpoint {endpoint}: {detail}");
                match c.as_other().map(RetryAction::retryable_error) {
                    Some(a) if a == RetryAction::throttling_error() => {
                        ProviderError::throttled(text)
                    }
                    Some(a) if a == RetryAction::client_error() => ProviderError::permanent(text),
                    _ => ProviderError::retryable(text),
                }
            }
        }
        SdkError::ResponseError(r) => {
            let raw = r.raw();
            let status = raw.status().as_u16();
            let text = format!(
                "{what}: unreadable response (HTTP {status}) from {endpoint}: {}",
                DisplayErrorContext(&err)
            );
            let e = if status == 429 {
                ProviderError::throttled(text)
            } else {
                ProviderError::retryable(text)
            };
            match retry_after(raw, SystemTime::now()) {
                Some(d) => e.with_retry_after(d),
                None => e,
            }
        }
        SdkError::ConstructionFailure(_) => ProviderError::permanent(format!(
            "{what}: cannot build the request: {}",
            DisplayErrorContext(&err)
        ))
        .unsent(),
        _ => ProviderError::permanent(format!("{what}: {}", DisplayErrorContext(&err))),
    }
}
