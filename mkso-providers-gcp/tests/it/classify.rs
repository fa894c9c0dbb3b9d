//! Error classification, without an emulator: errors of the client crate
//! built with its own constructors (as its HTTP layer builds them: the JSON
//! error body parsed into a `Status`, with the HTTP status and headers), and
//! errors the real client returns from canned answers of a local socket.

use std::time::Duration;

use google_cloud_compute_v1::Error;
use google_cloud_compute_v1::model::Operation;
use google_cloud_compute_v1::model::operation::error::Errors;
use google_cloud_gax::error::rpc::{Code, Status};
use mkso::ErrorClass;
use mkso::ProviderError;
use mkso_providers_gcp::error::{check_operation, classify};

/// What the tests compare: class, throttled, unsent, code, retry-after.
#[derive(Debug, PartialEq)]
struct Seen {
    class: ErrorClass,
    throttled: bool,
    unsent: bool,
    code: Option<String>,
    retry_after: Option<Duration>,
}

fn seen(e: &ProviderError) -> Seen {
    Seen {
        class: e.class,
        throttled: e.throttled,
        unsent: e.unsent,
        code: e.code.clone(),
        retry_after: e.retry_after,
    }
}

fn expect(class: ErrorClass, code: Option<&str>) -> Seen {
    Seen {
        class,
        throttled: false,
        unsent: false,
        code: code.map(String::from),
        retry_after: None,
    }
}

fn throttled(code: &str, retry_after: Option<Duration>) -> Seen {
    Seen {
        throttled: true,
        retry_after,
        ..expect(ErrorClass::Retryable, Some(code))
    }
}

fn headers(pairs: &[(&'static str, &'static str)]) -> http::HeaderMap {
    let mut h = http::HeaderMap::new();
    for (k, v) in pairs {
        h.insert(*k, http::HeaderValue::from_static(v));
    }
    h
}

/// A service error as the client makes it from an HTTP answer whose body is
/// a JSON error (`Status::try_from` is what its HTTP layer calls).
fn answer(status: u16, hdrs: &[(&'static str, &'static str)], body: serde_json::Value) -> Error {
    let s = Status::try_from(&bytes::Bytes::from(body.to_string())).expect("a JSON error body");
    Error::service_with_http_metadata(s, Some(status), Some(headers(hdrs)))
}

/// The JSON error of the Compute v1 API: `errors[]` with a `reason`, no
/// `status` (older Google APIs).
fn compute_body(code: u16, reason: &str, message: &str) -> serde_json::Value {
    serde_json::json!({"error": {
        "code": code,
        "message": message,
        "errors": [{"message": message, "domain": "global", "reason": reason}],
    }})
}

fn classified(e: &Error) -> ProviderError {
    classify(e, "networks.get of `net`", "http://127.0.0.1:9")
}

#[test]
fn answers_are_classified_by_status_and_reason() {
    use ErrorClass::{NotFound, Permanent, Retryable};
    let cases: Vec<(&str, Error, Seen)> = vec![
        (
            "404 notFound",
            answer(
                404,
                &[],
                compute_body(404, "notFound", "The resource 'x' was not found"),
            ),
            expect(NotFound, Some("notFound")),
        ),
        (
            "status NOT_FOUND without HTTP",
            Error::service(
                Status::default()
                    .set_code(Code::NotFound)
                    .set_message("gone"),
            ),
            expect(NotFound, Some("NOT_FOUND")),
        ),
        (
            "429 with Retry-After",
            answer(
                429,
                &[("retry-after", "7")],
                compute_body(429, "rateLimitExceeded", "Rate Limit Exceeded"),
            ),
            throttled("rateLimitExceeded", Some(Duration::from_secs(7))),
        ),
        (
            "403 rateLimitExceeded (Compute's throttling answer)",
            answer(
                403,
                &[],
                compute_body(403, "rateLimitExceeded", "Rate Limit Exceeded"),
            ),
            throttled("rateLimitExceeded", None),
        ),
        (
            "403 userRateLimitExceeded",
            answer(
                403,
                &[],
                compute_body(403, "userRateLimitExceeded", "slow down"),
            ),
            throttled("userRateLimitExceeded", None),
        ),
        (
            "429 RESOURCE_EXHAUSTED with RetryInfo",
            answer(
                429,
                &[],
                serde_json::json!({"error": {
                "code": 429, "status": "RESOURCE_EXHAUSTED", "message": "Quota exceeded",
                "details": [
                    {"@type": "type.googleapis.com/google.rpc.ErrorInfo", "reason": "RATE_LIMIT_EXCEEDED", "domain": "googleapis.com"},
                    {"@type": "type.googleapis.com/google.rpc.RetryInfo", "retryDelay": "2.500s"}
                ]}}),
            ),
            throttled("RATE_LIMIT_EXCEEDED", Some(Duration::from_millis(2500))),
        ),
        (
            "status RESOURCE_EXHAUSTED without HTTP",
            Error::service(
                Status::default()
                    .set_code(Code::ResourceExhausted)
                    .set_message("exhausted"),
            ),
            throttled("RESOURCE_EXHAUSTED", None),
        ),
        (
            "403 quotaExceeded is no throttling",
            answer(
                403,
                &[],
                compute_body(403, "quotaExceeded", "Quota 'CPUS' exceeded"),
            ),
            expect(Permanent, Some("quotaExceeded")),
        ),
        (
            "503 UNAVAILABLE",
            answer(
                503,
                &[],
                serde_json::json!({"error": {"code": 503, "status": "UNAVAILABLE", "message": "backend error"}}),
            ),
            expect(Retryable, Some("UNAVAILABLE")),
        ),
        (
            "500 backendError",
            answer(
                500,
                &[],
                compute_body(500, "backendError", "Internal error"),
            ),
            expect(Retryable, Some("backendError")),
        ),
        (
            "status UNAVAILABLE without HTTP",
            Error::service(
                Status::default()
                    .set_code(Code::Unavailable)
                    .set_message("try later"),
            ),
            expect(Retryable, Some("UNAVAILABLE")),
        ),
        (
            "400 resourceInUseByAnotherResource",
            answer(
                400,
                &[],
                compute_body(
                    400,
                    "resourceInUseByAnotherResource",
                    "The network resource 'net' is already being used by 'fw'",
                ),
            ),
            expect(Retryable, Some("resourceInUseByAnotherResource")),
        ),
        (
            "400 invalid",
            answer(
                400,
                &[],
                compute_body(400, "invalid", "Invalid value for field 'resource.name'"),
            ),
            expect(Permanent, Some("invalid")),
        ),
        (
            "409 alreadyExists",
            answer(
                409,
                &[],
                compute_body(409, "alreadyExists", "The resource 'fw' already exists"),
            ),
            expect(Permanent, Some("alreadyExists")),
        ),
        (
            "403 forbidden",
            answer(
                403,
                &[],
                compute_body(
                    403,
                    "forbidden",
                    "Required 'compute.networks.get' permission",
                ),
            ),
            expect(Permanent, Some("forbidden")),
        ),
        (
            "an HTTP 502 that is not a JSON error (a proxy's page)",
            Error::http(
                502,
                headers(&[]),
                bytes::Bytes::from_static(b"<html>Bad Gateway</html>"),
            ),
            expect(Retryable, Some("HTTP 502")),
        ),
        (
            "an HTTP 404 that is not a JSON error",
            Error::http(404, headers(&[]), bytes::Bytes::from_static(b"Not Found")),
            expect(NotFound, Some("HTTP 404")),
        ),
        (
            "an HTTP 429 that is not a JSON error, with Retry-After",
            Error::http(429, headers(&[("retry-after", " 3 ")]), bytes::Bytes::new()),
            throttled("HTTP 429", Some(Duration::from_secs(3))),
        ),
        (
            "a Retry-After date is ignored",
            Error::http(
                429,
                headers(&[("retry-after", "Wed, 21 Oct 2015 07:28:00 GMT")]),
                bytes::Bytes::new(),
            ),
            throttled("HTTP 429", None),
        ),
        (
            "an HTTP 400 that is not a JSON error",
            Error::http(400, headers(&[]), bytes::Bytes::from_static(b"bad request")),
            expect(Permanent, Some("HTTP 400")),
        ),
        (
            "a timeout",
            Error::timeout("deadline"),
            expect(Retryable, None),
        ),
        (
            "a broken connection",
            Error::io("connection reset by peer"),
            expect(Retryable, None),
        ),
        (
            "an answer the client cannot decode",
            Error::deser("invalid digit found in string"),
            expect(Permanent, None),
        ),
    ];
    for (what, e, want) in cases {
        assert_eq!(seen(&classified(&e)), want, "{what}: {e:?}");
    }
}

#[test]
fn a_connection_that_fails_was_never_sent() {
    let e = classified(&Error::connect("Connection refused (os error 111)"));
    assert_eq!(
        seen(&e),
        Seen {
            unsent: true,
            ..expect(ErrorClass::Retryable, None)
        }
    );
    assert!(
        e.message
            .contains("cannot reach the Compute Engine endpoint http://127.0.0.1:9"),
        "{}",
        e.message
    );
}

#[test]
fn messages_name_the_call_and_keep_the_service_message() {
    let e = classified(&answer(
        400,
        &[],
        compute_body(400, "invalid", "Invalid value for field 'resource.name'"),
    ));
    assert_eq!(
        e.message,
        "networks.get of `net`: Invalid value for field 'resource.name'"
    );
}

fn op(http: Option<i32>, message: Option<&str>, errors: &[(&str, &str)]) -> Operation {
    let mut o = Operation::new();
    o.http_error_status_code = http;
    o.http_error_message = message.map(String::from);
    if !errors.is_empty() {
        o.error = Some(
            google_cloud_compute_v1::model::operation::Error::new().set_errors(
                errors
                    .iter()
                    .map(|(c, m)| Errors::new().set_code(*c).set_message(*m)),
            ),
        );
    }
    o
}

#[test]
fn finished_operations_are_classified_by_status_and_error_code() {
    use ErrorClass::{NotFound, Permanent, Retryable};
    assert_eq!(
        check_operation(&op(None, None, &[]), "networks.insert"),
        Ok(())
    );
    assert_eq!(
        check_operation(&op(Some(200), None, &[]), "networks.insert"),
        Ok(())
    );
    let cases: Vec<(&str, Operation, Seen)> = vec![
        (
            "in use by another resource",
            op(
                Some(400),
                Some("BAD REQUEST"),
                &[(
                    "RESOURCE_IN_USE_BY_ANOTHER_RESOURCE",
                    "The network resource is already being used by 'fw'",
                )],
            ),
            expect(Retryable, Some("RESOURCE_IN_USE_BY_ANOTHER_RESOURCE")),
        ),
        (
            "quota",
            op(
                Some(403),
                None,
                &[("QUOTA_EXCEEDED", "Quota 'CPUS' exceeded")],
            ),
            expect(Permanent, Some("QUOTA_EXCEEDED")),
        ),
        (
            "rate limit",
            op(Some(403), None, &[("RATE_LIMIT_EXCEEDED", "slow down")]),
            throttled("RATE_LIMIT_EXCEEDED", None),
        ),
        (
            "a 503 without error items",
            op(Some(503), Some("SERVICE UNAVAILABLE"), &[]),
            expect(Retryable, Some("HTTP 503")),
        ),
        (
            "a 404",
            op(Some(404), None, &[("RESOURCE_NOT_FOUND", "gone")]),
            expect(NotFound, Some("RESOURCE_NOT_FOUND")),
        ),
        (
            "an error without a status",
            op(None, None, &[("INVALID_FIELD_VALUE", "bad")]),
            expect(Permanent, Some("INVALID_FIELD_VALUE")),
        ),
    ];
    for (what, o, want) in cases {
        let e = check_operation(&o, "networks.delete of `net`").unwrap_err();
        assert_eq!(seen(&e), want, "{what}");
        assert!(
            e.message.starts_with("networks.delete of `net`: "),
            "{}",
            e.message
        );
    }
    let e = check_operation(
        &op(Some(400), None, &[("A", "first"), ("B", "second")]),
        "x",
    )
    .unwrap_err();
    assert_eq!(e.message, "x: A: first; B: second");
}

/// A local socket that answers every request with `status`, `headers` and
/// `body` (what a proxy or the API would send), for the real client.
async fn canned(status: &'static str, hdrs: &'static str, body: String) -> String {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = l.local_addr().unwrap();
    tokio::spawn(async move {
        while let Ok((mut s, _)) = l.accept().await {
            let body = body.clone();
            tokio::spawn(async move {
                let mut buf = vec![0u8; 16384];
                let mut got = Vec::new();
                while !got.windows(4).any(|w| w == b"\r\n\r\n") {
                    match s.read(&mut buf).await {
                        Ok(0) | Err(_) => return,
                        Ok(n) => got.extend_from_slice(&buf[..n]),
                    }
                }
                let resp = format!(
                    "HTTP/1.1 {status}\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n{hdrs}\r\n{body}",
                    body.len()
                );
                let _ = s.write_all(resp.as_bytes()).await;
                let _ = s.shutdown().await;
            });
        }
    });
    format!("http://{addr}")
}

/// A `networks.get` through the real client (no retries of its own).
async fn get_network(endpoint: &str) -> Error {
    let c = google_cloud_compute_v1::client::Networks::builder()
        .with_endpoint(endpoint)
        .with_credentials(google_cloud_auth::credentials::anonymous::Builder::new().build())
        .with_retry_policy(google_cloud_gax::retry_policy::NeverRetry)
        .build()
        .await
        .unwrap();
    c.get()
        .set_project("p")
        .set_network("net")
        .send()
        .await
        .unwrap_err()
}

#[tokio::test]
async fn the_real_clients_errors_are_classified() {
    let cases: Vec<(&'static str, &'static str, serde_json::Value, Seen)> = vec![
        (
            "403 Forbidden",
            "",
            compute_body(403, "rateLimitExceeded", "Rate Limit Exceeded"),
            throttled("rateLimitExceeded", None),
        ),
        (
            "429 Too Many Requests",
            "retry-after: 4\r\n",
            compute_body(429, "rateLimitExceeded", "Rate Limit Exceeded"),
            throttled("rateLimitExceeded", Some(Duration::from_secs(4))),
        ),
        (
            "404 Not Found",
            "",
            compute_body(
                404,
                "notFound",
                "The resource 'projects/p/global/networks/net' was not found",
            ),
            expect(ErrorClass::NotFound, Some("notFound")),
        ),
        (
            "400 Bad Request",
            "",
            compute_body(400, "resourceInUseByAnotherResource", "already being used"),
            expect(
                ErrorClass::Retryable,
                Some("resourceInUseByAnotherResource"),
            ),
        ),
        (
            "400 Bad Request",
            "",
            compute_body(400, "invalid", "Invalid value"),
            expect(ErrorClass::Permanent, Some("invalid")),
        ),
        (
            "503 Service Unavailable",
            "",
            serde_json::json!({"error": {"code": 503, "status": "UNAVAILABLE", "message": "try again"}}),
            expect(ErrorClass::Retryable, Some("UNAVAILABLE")),
        ),
    ];
    for (status, hdrs, body, want) in cases {
        let endpoint = canned(status, hdrs, body.to_string()).await;
        let e = get_network(&endpoint).await;
        assert_eq!(seen(&classified(&e)), want, "{status} {body}: {e:?}");
    }
    // A 502 page from a proxy (not a JSON error).
    let endpoint = canned("502 Bad Gateway", "", "<html>bad gateway</html>".into()).await;
    let e = get_network(&endpoint).await;
    assert_eq!(
        seen(&classified(&e)),
        expect(ErrorClass::Retryable, Some("HTTP 502")),
        "{e:?}"
    );
    // Nobody listening: never sent.
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let e = get_network(&format!("http://127.0.0.1:{port}")).await;
    let pe = classified(&e);
    assert!(pe.is_retryable() && pe.unsent, "{e:?} -> {pe:?}");
}
