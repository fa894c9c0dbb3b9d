//! Classifying Compute Engine errors for the engine's retries, from what the
//! answer says structurally (never from its message text):
//!
//! | answer | class |
//! |---|---|
//! | HTTP 429, status `RESOURCE_EXHAUSTED`, reason `rateLimitExceeded` / `userRateLimitExceeded` / `RATE_LIMIT_EXCEEDED` (Compute sends some with 403) | throttled (retryable; `retry_after` from a `Retry-After` header or a `RetryInfo` detail) |
//! | HTTP 404, status `NOT_FOUND` | not found |
//! | HTTP 5xx, status `UNAVAILABLE` / `INTERNAL` / `DEADLINE_EXCEEDED` / `ABORTED` | retryable |
//! | reason `resourceInUseByAnotherResource` or `resourceNotReady` (HTTP 400, or an operation's error code) | retryable: a dependency is still being deleted or created |
//! | other 4xx (and any other service answer) | permanent |
//! | cannot connect | retryable, and the request was never sent |
//! | timeout, broken connection, an HTTP error without a status | retryable |
//! | no usable credentials | permanent, never sent |
//!
//! The error's code is the answer's reason (`alreadyExists`,
//! `rateLimitExceeded`), else its status (`NOT_FOUND`), else `HTTP <status>`.

use std::time::Duration;

use google_cloud_compute_v1::Error;
use google_cloud_compute_v1::model::Operation;
use google_cloud_gax::error::rpc::{Code, StatusDetails};
use mkso::ProviderError;

/// Reasons of throttling answers.
const THROTTLING_REASONS: &[&str] = &[
    "rateLimitExceeded",
    "userRateLimitExceeded",
    "RATE_LIMIT_EXCEEDED",
];

/// Reasons (or operation error codes) of answers that a later attempt can
/// get past: a resource still in use by one being deleted, or not ready yet.
const RETRYABLE_REASONS: &[&str] = &[
    "resourceInUseByAnotherResource",
    "RESOURCE_IN_USE_BY_ANOTHER_RESOURCE",
    "resourceNotReady",
    "RESOURCE_NOT_READY",
];

/// What an answer says, as far as classifying it goes.
#[derive(Debug, Default)]
struct Answer<'a> {
    http: Option<u16>,
    code: Option<Code>,
    reasons: Vec<&'a str>,
    retry_after: Option<Duration>,
}

impl Answer<'_> {
    fn into_error(self, text: String) -> ProviderError {
        let throttled = self.http == Some(429)
            || self.code == Some(Code::ResourceExhausted)
            || self.reasons.iter().any(|r| THROTTLING_REASONS.contains(r));
        let err = if throttled {
            let e = ProviderError::throttled(text);
            match self.retry_after {
                Some(d) => e.with_retry_after(d),
                None => e,
            }
        } else if self.http == Some(404) || self.code == Some(Code::NotFound) {
            ProviderError::not_found(text)
        } else if self.http.is_some_and(|s| s >= 500)
            || matches!(
                self.code,
                Some(Code::Unavailable | Code::Internal | Code::DeadlineExceeded | Code::Aborted)
            )
            || self.reasons.iter().any(|r| RETRYABLE_REASONS.contains(r))
        {
            ProviderError::retryable(text)
        } else {
            ProviderError::permanent(text)
        };
        let code = match (self.reasons.first(), self.code, self.http) {
            (Some(r), _, _) => Some((*r).to_string()),
            (None, Some(c), _) if !matches!(c, Code::Unknown | Code::Ok) => {
                Some(c.name().to_string())
            }
            (None, _, Some(s)) => Some(format!("HTTP {s}")),
            _ => None,
        };
        match code {
            Some(c) => err.with_code(c),
            None => err,
        }
    }
}

/// A `Retry-After` header's delay (whole seconds; the date form is ignored).
fn retry_after_header(e: &Error) -> Option<Duration> {
    e.http_headers()?
        .get("retry-after")?
        .to_str()
        .ok()?
        .trim()
        .parse::<u64>()
        .ok()
        .map(Duration::from_secs)
}

/// Classifies an error of a Compute Engine call; `what` names the call and
/// resource for the message (`firewalls.get of \`fw\``), `endpoint` the
/// service for connection errors.
pub fn classify(e: &Error, what: &str, endpoint: &str) -> ProviderError {
    if e.is_connect() {
        return ProviderError::retryable(format!(
            "{what}: cannot reach the Compute Engine endpoint {endpoint}: {e}"
        ))
        .unsent();
    }
    if e.is_authentication() {
        return ProviderError::permanent(format!(
            "{what}: no usable Google credentials: set up Application Default Credentials (`gcloud auth application-default login`) or `gcp:credentials: anonymous` for an emulator ({e})"
        ))
        .unsent();
    }
    if e.is_timeout() {
        return ProviderError::retryable(format!("{what}: {e}"));
    }
    let status = e.status();
    let http = e.http_status_code();
    if status.is_none() && http.is_none() {
        // A transport problem without an answer (a broken connection), or
        // one the client made itself (a response it cannot decode).
        return if e.is_transport() || e.is_io() {
            ProviderError::retryable(format!("{what}: {e}"))
        } else {
            ProviderError::permanent(format!("{what}: {e}"))
        };
    }
    let mut answer = Answer {
        http,
        code: status.map(|s| s.code),
        retry_after: retry_after_header(e),
        ..Answer::default()
    };
    for d in status.map(|s| s.details.as_slice()).unwrap_or_default() {
        match d {
            StatusDetails::ErrorInfo(i) if !i.reason.is_empty() => answer.reasons.push(&i.reason),
            // A `Retry-After` header wins over a `RetryInfo` detail.
            StatusDetails::RetryInfo(r) if answer.retry_after.is_none() => {
                answer.retry_after = r.retry_delay.and_then(|d| Duration::try_from(d).ok());
            }
            _ => {}
        }
    }
    let message = match status {
        Some(s) if !s.message.is_empty() => s.message.clone(),
        _ => e.to_string(),
    };
    answer.into_error(format!("{what}: {message}"))
}

/// Classifies a long-running operation that finished: `Ok` when it
/// succeeded, else its error classified from its HTTP status and error codes
/// (as [`classify`] does for a call's answer).
pub fn check_operation(op: &Operation, what: &str) -> Result<(), ProviderError> {
    let errors = op
        .error
        .as_ref()
        .map(|e| e.errors.as_slice())
        .unwrap_or_default();
    let http = op
        .http_error_status_code
        .and_then(|c| u16::try_from(c).ok())
        .filter(|c| *c >= 400);
    if errors.is_empty() && http.is_none() {
        return Ok(());
    }
    let msgs: Vec<String> = errors
        .iter()
        .map(|e| {
            format!(
                "{}: {}",
                e.code.as_deref().unwrap_or_default(),
                e.message.as_deref().unwrap_or_default()
            )
        })
        .collect();
    let text = if msgs.is_empty() {
        op.http_error_message.clone().unwrap_or_default()
    } else {
        msgs.join("; ")
    };
    Err(Answer {
        http,
        reasons: errors.iter().filter_map(|e| e.code.as_deref()).collect(),
        ..Answer::default()
    }
    .into_error(format!("{what}: {text}")))
}
