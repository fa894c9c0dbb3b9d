//! What a call is (its service action and class) and how the service answers
//! a throttled or failed one.

use serde::Serialize;

/// The service behind the proxy: how calls are classified and how errors look.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum Api {
    /// The EC2 query API (moto): `Action=...` in the form body or query.
    Ec2,
    /// The Compute Engine REST API (gcplocal).
    Gcp,
}

/// The throttling class of a call, after EC2's published action classes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Class {
    /// Reads: `Describe*`, `Get*`, `List*`; GCP `GET` and operation waits.
    NonMutating,
    /// Everything that changes something.
    Mutating,
    /// `RunInstances` (and its kin), which EC2 meters separately.
    ResourceIntensive,
}

/// Actions EC2 meters in its own, smaller bucket.
const RESOURCE_INTENSIVE: &[&str] = &[
    "RunInstances",
    "StartInstances",
    "CreateVolume",
    "AttachVolume",
    "DetachVolume",
    "DeleteVolume",
];

/// One call as the proxy sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Call {
    /// The EC2 action, or `METHOD path` for other calls.
    pub(crate) action: String,
    pub(crate) class: Class,
}

impl Api {
    /// Classifies a call from its method, path and query, and body.
    pub(crate) fn classify(self, method: &str, path_and_query: &str, body: &[u8]) -> Call {
        match self {
            Api::Ec2 => {
                let query = path_and_query.split_once('?').map(|(_, q)| q).unwrap_or("");
                let action = form_value(query, "Action")
                    .or_else(|| form_value(&String::from_utf8_lossy(body), "Action"));
                match action {
                    Some(a) => {
                        let class = if ["Describe", "Get", "List"].iter().any(|p| a.starts_with(p))
                        {
                            Class::NonMutating
                        } else if RESOURCE_INTENSIVE.contains(&a.as_str()) {
                            Class::ResourceIntensive
                        } else {
                            Class::Mutating
                        };
                        Call { action: a, class }
                    }
                    // Not the query API (e.g. S3 on the same moto): by method.
                    None => rest_call(method, path_and_query),
                }
            }
            Api::Gcp => rest_call(method, path_and_query),
        }
    }

    /// The service's answer to a throttled call: status and body.
    pub(crate) fn throttled(self, request_id: u64) -> (u16, &'static str, String) {
        match self {
            Api::Ec2 => (
                503,
                "text/xml;charset=UTF-8",
                ec2_error(
                    "RequestLimitExceeded",
                    "Request limit exceeded.",
                    request_id,
                ),
            ),
            Api::Gcp => (
                429,
                "application/json; charset=UTF-8",
                gcp_error(
                    429,
                    "Rate Limit Exceeded",
                    "usageLimits",
                    "rateLimitExceeded",
                    "RESOURCE_EXHAUSTED",
                ),
            ),
        }
    }

    /// The service's answer to a call it failed on its side (a 5xx).
    pub(crate) fn failed(self, request_id: u64) -> (u16, &'static str, String) {
        match self {
            Api::Ec2 => (
                503,
                "text/xml;charset=UTF-8",
                ec2_error(
                    "Unavailable",
                    "The server is overloaded or otherwise unable to handle the request.",
                    request_id,
                ),
            ),
            Api::Gcp => (
                503,
                "application/json; charset=UTF-8",
                gcp_error(
                    503,
                    "Backend Error",
                    "global",
                    "backendError",
                    "UNAVAILABLE",
                ),
            ),
        }
    }
}

fn rest_call(method: &str, path_and_query: &str) -> Call {
    let path = path_and_query.split('?').next().unwrap_or("");
    let read = matches!(method, "GET" | "HEAD") || path.contains("/operations/");
    // The project id left out: tests use one per run.
    let mut segments: Vec<&str> = path.split('/').collect();
    if let Some(i) = segments.iter().position(|s| *s == "projects")
        && i + 1 < segments.len()
    {
        segments[i + 1] = "_";
    }
    Call {
        action: format!("{method} {}", segments.join("/")),
        class: if read {
            Class::NonMutating
        } else {
            Class::Mutating
        },
    }
}

/// The (undecoded) value of `key` in an `application/x-www-form-urlencoded` text.
fn form_value(form: &str, key: &str) -> Option<String> {
    form.split('&').find_map(|kv| {
        let (k, v) = kv.split_once('=')?;
        (k == key).then(|| v.to_string())
    })
}

fn ec2_error(code: &str, message: &str, request_id: u64) -> String {
    format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Response><Errors><Error><Code>{code}</Code><Message>{message}</Message></Error></Errors><RequestID>{request_id:08x}-0000-4000-8000-fa17fa17fa17</RequestID></Response>"
    )
}

fn gcp_error(code: u16, message: &str, domain: &str, reason: &str, status: &str) -> String {
    serde_json::json!({
        "error": {
            "code": code,
            "message": message,
            "errors": [{ "message": message, "domain": domain, "reason": reason }],
            "status": status,
        }
    })
    .to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ec2_actions_fall_into_the_published_classes() {
        let c = |body: &str| Api::Ec2.classify("POST", "/", body.as_bytes());
        assert_eq!(
            c("Action=DescribeVpcs&Version=2016-11-15").class,
            Class::NonMutating
        );
        assert_eq!(
            c("Version=2016-11-15&Action=CreateVpc").class,
            Class::Mutating
        );
        assert_eq!(c("Action=RunInstances").class, Class::ResourceIntensive);
        assert_eq!(c("Action=CreateVpc").action, "CreateVpc");
        // The query string counts too; S3 on the same endpoint goes by method.
        assert_eq!(
            Api::Ec2.classify("GET", "/?Action=CreateVpc", b"").class,
            Class::Mutating
        );
        assert_eq!(
            Api::Ec2.classify("PUT", "/bucket/key", b"data").class,
            Class::Mutating
        );
    }

    #[test]
    fn gcp_calls_are_classified_by_method_and_operation_waits_are_reads() {
        let p = "/compute/v1/projects/p/global/networks";
        assert_eq!(Api::Gcp.classify("POST", p, b"{}").class, Class::Mutating);
        assert_eq!(Api::Gcp.classify("GET", p, b"").class, Class::NonMutating);
        assert_eq!(
            Api::Gcp.classify("GET", p, b"").action,
            "GET /compute/v1/projects/_/global/networks"
        );
        assert_eq!(
            Api::Gcp
                .classify(
                    "POST",
                    "/compute/v1/projects/p/global/operations/op-1/wait",
                    b""
                )
                .class,
            Class::NonMutating
        );
    }

    #[test]
    fn answers_have_the_services_shapes() {
        let (status, _, body) = Api::Ec2.throttled(1);
        assert_eq!(status, 503);
        assert!(body.contains("<Code>RequestLimitExceeded</Code>"), "{body}");
        let (status, _, body) = Api::Gcp.throttled(1);
        assert_eq!(status, 429);
        let v: serde_json::Value = serde_json::from_str(&body).unwrap();
        assert_eq!(v["error"]["errors"][0]["reason"], "rateLimitExceeded");
    }
}
