//! How SDK errors are classified (`mkso_providers_aws::error::classify`), on
//! the SDK's own error shapes: no emulator needed. The last tests make real
//! calls: to a closed local port, with a credential provider that has no
//! credentials, and to a local server that answers with an EC2 error.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::time::{Duration, SystemTime};

use aws_sdk_ec2::config::http::HttpResponse;
use aws_sdk_ec2::config::retry::RetryConfig;
use aws_sdk_ec2::config::{BehaviorVersion, Credentials, Region, SharedCredentialsProvider};
use aws_sdk_ec2::error::{BoxError, ConnectorError, ErrorMetadata, SdkError};
use aws_sdk_ec2::operation::create_vpc::CreateVpcError;
use aws_sdk_ec2::primitives::{DateTime, DateTimeFormat};
use mkso::{ErrorClass, ProviderError};
use mkso_providers_aws::error::{THROTTLING_ERRORS, TRANSIENT_ERRORS, classify};

const WHAT: &str = "CreateVpc of `vpc`";
const ENDPOINT: &str = "https://ec2.us-east-1.amazonaws.com";

/// A raw HTTP response with a status, headers and an empty body.
fn response(status: u16, headers: &[(&'static str, &'static str)]) -> HttpResponse {
    let mut r = HttpResponse::new(status.try_into().unwrap(), "".into());
    for (k, v) in headers {
        r.headers_mut().insert(*k, *v);
    }
    r
}

/// An EC2 error answer as the SDK gives it: code and message (either may be
/// missing), HTTP status and headers.
fn answer(
    code: Option<&str>,
    message: Option<&str>,
    status: u16,
    headers: &[(&'static str, &'static str)],
) -> ProviderError {
    let mut meta = ErrorMetadata::builder();
    if let Some(c) = code {
        meta = meta.code(c);
    }
    if let Some(m) = message {
        meta = meta.message(m);
    }
    let err = SdkError::service_error(
        CreateVpcError::generic(meta.build()),
        response(status, headers),
    );
    classify(err, WHAT, ENDPOINT)
}

/// A failure without an answer.
fn failure(err: SdkError<CreateVpcError>) -> ProviderError {
    classify(err, WHAT, ENDPOINT)
}

fn io(kind: std::io::ErrorKind) -> BoxError {
    Box::new(std::io::Error::from(kind))
}

#[test]
fn ec2_request_limit_exceeded_is_throttled_with_retry_after() {
    let e = answer(
        Some("RequestLimitExceeded"),
        Some("Request limit exceeded."),
        503,
        &[("Retry-After", "3")],
    );
    assert_eq!(e.class, ErrorClass::Retryable);
    assert!(e.is_throttled());
    assert_eq!(e.retry_after, Some(Duration::from_secs(3)));
    assert_eq!(e.code.as_deref(), Some("RequestLimitExceeded"));
    assert_eq!(e.message, "CreateVpc of `vpc`: Request limit exceeded.");
    assert!(!e.unsent, "the service answered: the request was sent");

    // Without a Retry-After header: throttled, no delay.
    let e = answer(Some("RequestLimitExceeded"), Some("Slow down."), 503, &[]);
    assert!(e.is_throttled());
    assert_eq!(e.retry_after, None);
}

#[test]
fn an_instance_type_that_does_not_exist_is_permanent_not_not_found() {
    let e = answer(
        Some("InvalidInstanceType.NotFound"),
        Some("The instance type 't3.nonexistent' does not exist"),
        400,
        &[],
    );
    assert_eq!(e.class, ErrorClass::Permanent, "{e:?}");
    let e = answer(
        Some("InvalidSubnetID.NotFound"),
        Some("The subnet ID 'subnet-1' does not exist"),
        400,
        &[],
    );
    assert_eq!(e.class, ErrorClass::NotFound, "{e:?}");
}

#[test]
fn every_throttling_code_of_the_sdk_is_throttled() {
    for code in THROTTLING_ERRORS {
        let e = answer(Some(code), Some("slow down"), 400, &[]);
        assert!(e.is_throttled(), "{code}: {e:?}");
        assert_eq!(e.code.as_deref(), Some(*code));
    }
}

#[test]
fn http_429_without_a_code_is_throttled() {
    let e = answer(None, None, 429, &[("retry-after", "7")]);
    assert!(e.is_throttled(), "{e:?}");
    assert_eq!(e.code.as_deref(), Some("HTTP 429"));
    assert_eq!(e.retry_after, Some(Duration::from_secs(7)));
    assert_eq!(e.message, "CreateVpc of `vpc`: HTTP 429");
}

#[test]
fn retry_after_comes_from_x_amz_retry_after_or_retry_after() {
    // The AWS header (milliseconds) first, as the SDK's classifier reads it.
    let e = answer(
        Some("Throttling"),
        Some("Rate exceeded"),
        400,
        &[("x-amz-retry-after", "1500"), ("Retry-After", "9")],
    );
    assert_eq!(e.retry_after, Some(Duration::from_millis(1500)));

    // An HTTP date: the time left until it.
    let at = DateTime::from(SystemTime::now() + Duration::from_secs(120))
        .fmt(DateTimeFormat::HttpDate)
        .unwrap();
    let at: &'static str = Box::leak(at.into_boxed_str());
    let e = answer(Some("SlowDown"), None, 503, &[("Retry-After", at)]);
    let d = e.retry_after.expect("a delay from the date");
    assert!(
        d > Duration::from_secs(110) && d <= Duration::from_secs(120),
        "{d:?}"
    );
    // A date that has passed: no wait.
    let e = answer(
        Some("SlowDown"),
        None,
        503,
        &[("Retry-After", "Wed, 21 Oct 2015 07:28:00 GMT")],
    );
    assert_eq!(e.retry_after, Some(Duration::ZERO));
    // Neither a number nor a date: ignored.
    let e = answer(Some("SlowDown"), None, 503, &[("Retry-After", "soon")]);
    assert!(e.is_throttled());
    assert_eq!(e.retry_after, None);
}

#[test]
fn not_found_codes_are_not_found() {
    for code in [
        "InvalidVpcID.NotFound",
        "InvalidGroup.NotFound",
        "InvalidRouteTableID.NotFound",
        "NatGatewayNotFound",
    ] {
        let e = answer(Some(code), Some("does not exist"), 400, &[]);
        assert_eq!(e.class, ErrorClass::NotFound, "{code}");
        assert_eq!(e.code.as_deref(), Some(code));
    }
    let e = answer(
        Some("InvalidVpcID.NotFound"),
        Some("The vpc ID 'vpc-1' does not exist"),
        400,
        &[],
    );
    assert_eq!(
        e.message,
        "CreateVpc of `vpc`: The vpc ID 'vpc-1' does not exist"
    );
}

#[test]
fn invalid_parameters_are_permanent_with_the_code() {
    let e = answer(
        Some("InvalidParameterValue"),
        Some("Value (10.0.0.0/99) for parameter cidrBlock is invalid."),
        400,
        &[("Retry-After", "5")],
    );
    assert_eq!(e.class, ErrorClass::Permanent);
    assert!(!e.is_throttled());
    assert_eq!(e.code.as_deref(), Some("InvalidParameterValue"));
    assert_eq!(
        e.message,
        "CreateVpc of `vpc`: Value (10.0.0.0/99) for parameter cidrBlock is invalid."
    );
    assert_eq!(e.retry_after, None, "no retry, no delay");
    for code in [
        "UnauthorizedOperation",
        "AuthFailure",
        "VpcLimitExceeded",
        "InvalidSubnet.Range",
    ] {
        let e = answer(Some(code), Some("no"), 400, &[]);
        assert_eq!(e.class, ErrorClass::Permanent, "{code}");
    }
}

#[test]
fn retryable_codes_and_server_errors_are_retryable() {
    let e = answer(
        Some("DependencyViolation"),
        Some("The vpc 'vpc-1' has dependencies and cannot be deleted."),
        400,
        &[],
    );
    assert_eq!(e.class, ErrorClass::Retryable);
    assert!(!e.is_throttled());
    assert_eq!(e.code.as_deref(), Some("DependencyViolation"));

    for code in TRANSIENT_ERRORS
        .iter()
        .chain(&["IncorrectState", "IncorrectInstanceState"])
    {
        let e = answer(Some(code), Some("try again"), 400, &[]);
        assert_eq!(e.class, ErrorClass::Retryable, "{code}");
        assert!(!e.is_throttled(), "{code}");
    }

    let e = answer(
        Some("InternalError"),
        Some("An internal error has occurred"),
        500,
        &[],
    );
    assert_eq!(e.class, ErrorClass::Retryable);
    assert_eq!(e.code.as_deref(), Some("InternalError"));

    // Any 5xx, code or not; a 503 is not a throttling answer by itself, but
    // its Retry-After is kept.
    let e = answer(None, None, 502, &[]);
    assert_eq!(e.class, ErrorClass::Retryable);
    assert_eq!(e.code.as_deref(), Some("HTTP 502"));
    let e = answer(
        Some("Unavailable"),
        Some("The service is unavailable."),
        503,
        &[("Retry-After", "2")],
    );
    assert_eq!(e.class, ErrorClass::Retryable);
    assert!(!e.is_throttled());
    assert_eq!(e.retry_after, Some(Duration::from_secs(2)));
}

#[test]
fn timeouts_are_retryable_and_may_have_been_sent() {
    let e = failure(SdkError::timeout_error(io(std::io::ErrorKind::TimedOut)));
    assert_eq!(e.class, ErrorClass::Retryable);
    assert!(!e.unsent);
    assert!(!e.is_throttled());
    assert!(
        e.message.starts_with("CreateVpc of `vpc`: the request to"),
        "{}",
        e.message
    );
    assert!(e.message.contains("timed out"), "{}", e.message);

    let e = failure(SdkError::dispatch_failure(ConnectorError::timeout(io(
        std::io::ErrorKind::TimedOut,
    ))));
    assert_eq!(e.class, ErrorClass::Retryable);
    assert!(!e.unsent);
    assert!(e.message.contains("timed out"), "{}", e.message);
}

#[test]
fn connection_failures_are_retryable_and_unsent_only_when_never_connected() {
    for kind in [
        std::io::ErrorKind::ConnectionRefused,
        std::io::ErrorKind::HostUnreachable,
        std::io::ErrorKind::NetworkUnreachable,
    ] {
        let e = failure(SdkError::dispatch_failure(ConnectorError::io(io(kind))));
        assert_eq!(e.class, ErrorClass::Retryable, "{kind:?}");
        assert!(e.unsent, "{kind:?}: the connection was never made");
        assert!(
            e.message
                .starts_with(&format!("{WHAT}: cannot reach the EC2 endpoint {ENDPOINT}")),
            "{}",
            e.message
        );
    }
    // The operating system's answer under another I/O error (as hyper's
    // connector wraps it).
    let wrapped =
        std::io::Error::other(std::io::Error::from(std::io::ErrorKind::ConnectionRefused));
    let e = failure(SdkError::dispatch_failure(ConnectorError::io(Box::new(
        wrapped,
    ))));
    assert!(e.unsent, "{e:?}");
    // A name that does not resolve: an uncategorised I/O error, so possibly
    // sent as far as the classification can tell.
    let e = failure(SdkError::dispatch_failure(ConnectorError::io(
        "dns error: failed to lookup address information".into(),
    )));
    assert_eq!(e.class, ErrorClass::Retryable);
    assert!(!e.unsent);
    // Dropped once connected: the request may have arrived.
    for kind in [
        std::io::ErrorKind::ConnectionReset,
        std::io::ErrorKind::BrokenPipe,
        std::io::ErrorKind::UnexpectedEof,
    ] {
        let e = failure(SdkError::dispatch_failure(ConnectorError::io(io(kind))));
        assert_eq!(e.class, ErrorClass::Retryable, "{kind:?}");
        assert!(!e.unsent, "{kind:?}");
    }
}

#[test]
fn other_dispatch_failures_follow_the_connector_error_kind() {
    // A user error: the request itself is invalid.
    let e = failure(SdkError::dispatch_failure(ConnectorError::user(
        "invalid URI".into(),
    )));
    assert_eq!(e.class, ErrorClass::Permanent);
    assert!(!e.unsent);
    // An unclassified connector error: it may have been sent; try again.
    let e = failure(SdkError::dispatch_failure(ConnectorError::other(
        "connection closed before message completed".into(),
        None,
    )));
    assert_eq!(e.class, ErrorClass::Retryable);
    assert!(!e.unsent);
}

#[test]
fn unreadable_responses_and_unbuildable_requests() {
    let e = failure(SdkError::response_error(
        "unexpected end of XML",
        response(200, &[]),
    ));
    assert_eq!(e.class, ErrorClass::Retryable);
    assert!(!e.unsent);
    assert!(e.message.contains("unreadable response"), "{}", e.message);

    let e = failure(SdkError::response_error(
        "not XML",
        response(429, &[("Retry-After", "4")]),
    ));
    assert!(e.is_throttled());
    assert_eq!(e.retry_after, Some(Duration::from_secs(4)));

    let e = failure(SdkError::construction_failure("missing field `CidrBlock`"));
    assert_eq!(e.class, ErrorClass::Permanent);
    assert!(e.unsent, "a request that could not be built was not sent");
}

/// A client on `endpoint` with the SDK's retries off (as the provider has).
fn client(endpoint: &str, creds: SharedCredentialsProvider) -> aws_sdk_ec2::Client {
    let conf = aws_sdk_ec2::Config::builder()
        .behavior_version(BehaviorVersion::latest())
        .region(Region::new("us-east-1"))
        .endpoint_url(endpoint)
        .credentials_provider(creds)
        .retry_config(RetryConfig::disabled())
        .build();
    aws_sdk_ec2::Client::from_conf(conf)
}

fn test_credentials() -> SharedCredentialsProvider {
    SharedCredentialsProvider::new(Credentials::new(
        "AKIDTEST", "secret", None, None, "classify",
    ))
}

async fn create_vpc(c: &aws_sdk_ec2::Client, endpoint: &str) -> ProviderError {
    let err = c
        .create_vpc()
        .cidr_block("10.0.0.0/16")
        .send()
        .await
        .expect_err("the call fails");
    classify(err, WHAT, endpoint)
}

#[tokio::test]
async fn a_refused_connection_is_unsent() {
    // A port that was free a moment ago: nothing listens there.
    let port = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let endpoint = format!("http://127.0.0.1:{port}");
    let e = create_vpc(&client(&endpoint, test_credentials()), &endpoint).await;
    assert_eq!(e.class, ErrorClass::Retryable, "{e:?}");
    assert!(e.unsent, "{e:?}");
    assert!(
        e.message
            .starts_with(&format!("{WHAT}: cannot reach the EC2 endpoint {endpoint}")),
        "{}",
        e.message
    );
    // The causes, once each, without the SDK's Debug dump.
    assert!(e.message.contains("Connection refused"), "{}", e.message);
    assert!(!e.message.contains("DispatchFailure("), "{}", e.message);
}

#[tokio::test]
async fn missing_credentials_are_permanent_and_unsent() {
    // The standard profile provider, asked for a profile that does not exist.
    // (`ProfileFiles` is a deprecated alias of `aws_runtime`'s
    // `EnvConfigFiles`; `aws-runtime` is no dependency of this crate.)
    #[allow(deprecated)]
    let profiles = aws_config::profile::profile_file::ProfileFiles::builder()
        .with_contents(
            aws_config::profile::profile_file::ProfileFileKind::Credentials,
            "[other]\naws_access_key_id = a\naws_secret_access_key = b\n",
        )
        .build();
    let provider = aws_config::profile::ProfileFileCredentialsProvider::builder()
        .profile_files(profiles)
        .profile_name("missing")
        .build();
    // Nothing listens there either: the call must fail before connecting.
    let endpoint = "http://127.0.0.1:9";
    let e = create_vpc(
        &client(endpoint, SharedCredentialsProvider::new(provider)),
        endpoint,
    )
    .await;
    assert_eq!(e.class, ErrorClass::Permanent, "{e:?}");
    assert!(e.unsent, "{e:?}");
    assert!(
        e.message.starts_with(&format!(
            "{WHAT}: no usable AWS credentials: set AWS_ACCESS_KEY_ID"
        )),
        "{}",
        e.message
    );
    assert!(
        e.message.contains(
            "(the credential provider was not enabled: profile `missing` was not defined"
        ) && !e.message.contains("CredentialsNotLoaded"),
        "{}",
        e.message
    );
}

/// A local server answering every request with `head` (status line and
/// headers) and an EC2 error body.
fn answering(head: &'static str, code: &'static str, message: &'static str) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    std::thread::spawn(move || {
        for conn in listener.incoming() {
            let Ok(conn) = conn else { continue };
            std::thread::spawn(move || answer_once(conn, head, code, message));
        }
    });
    format!("http://{addr}")
}

fn answer_once(mut conn: TcpStream, head: &str, code: &str, message: &str) {
    let mut buf = Vec::new();
    let mut chunk = [0u8; 4096];
    let head_end = loop {
        match conn.read(&mut chunk) {
            Ok(0) | Err(_) => return,
            Ok(n) => buf.extend_from_slice(&chunk[..n]),
        }
        if let Some(p) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            break p + 4;
        }
    };
    let len: usize = String::from_utf8_lossy(&buf[..head_end])
        .to_lowercase()
        .lines()
        .find_map(|l| {
            l.strip_prefix("content-length:")
                .map(str::trim)
                .map(str::to_string)
        })
        .and_then(|v| v.parse().ok())
        .unwrap_or(0);
    while buf.len() < head_end + len {
        match conn.read(&mut chunk) {
            Ok(0) | Err(_) => break,
            Ok(n) => buf.extend_from_slice(&chunk[..n]),
        }
    }
    let body = format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Response><Errors><Error><Code>{code}</Code><Message>{message}</Message></Error></Errors><RequestID>classify</RequestID></Response>"
    );
    let _ = write!(
        conn,
        "{head}\r\nContent-Type: text/xml;charset=UTF-8\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
}

#[tokio::test]
async fn a_real_throttling_answer_is_throttled_with_its_retry_after() {
    let endpoint = answering(
        "HTTP/1.1 503 Service Unavailable\r\nRetry-After: 2",
        "RequestLimitExceeded",
        "Request limit exceeded.",
    );
    let e = create_vpc(&client(&endpoint, test_credentials()), &endpoint).await;
    assert!(e.is_throttled(), "{e:?}");
    assert_eq!(e.retry_after, Some(Duration::from_secs(2)));
    assert_eq!(e.code.as_deref(), Some("RequestLimitExceeded"));
    assert_eq!(e.message, "CreateVpc of `vpc`: Request limit exceeded.");
    assert!(!e.unsent);
}

#[tokio::test]
async fn a_real_invalid_parameter_answer_is_permanent() {
    let endpoint = answering(
        "HTTP/1.1 400 Bad Request",
        "InvalidParameterValue",
        "Value (10.0.0.0/99) for parameter cidrBlock is invalid.",
    );
    let e = create_vpc(&client(&endpoint, test_credentials()), &endpoint).await;
    assert_eq!(e.class, ErrorClass::Permanent, "{e:?}");
    assert_eq!(e.code.as_deref(), Some("InvalidParameterValue"));
    assert_eq!(
        e.message,
        "CreateVpc of `vpc`: Value (10.0.0.0/99) for parameter cidrBlock is invalid."
    );
}
