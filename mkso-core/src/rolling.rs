//! Rolling groups: members that serve together are replaced (or updated) a
//! few at a time, so the group keeps serving while it changes.
//!
//! A program declares a group with [`Stack::rolling_group`] and puts
//! resources in it with [`ResourceOptions::rolling_group`]. When an update
//! changes more than one member, the engine changes them in batches:
//!
//! - a replacement whose new copy can exist next to the old one (the usual
//!   case) creates a batch of new copies — at most `max_surge` extra copies
//!   at once —, waits until each is ready, deletes that member's old copy
//!   (unless other resources read the member: then the clean-up at the end
//!   of the update deletes it, once they have moved to the new copy), and
//!   goes on with the next batch;
//! - a replacement that must delete first (the resource's nature, the
//!   `delete_before_replace` option, or `max_surge: 0`) and an update in
//!   place (which may interrupt the member) take at most `max_unavailable`
//!   members at once;
//! - a member is ready when its provider says so (an EC2 instance
//!   `running`, a GCP instance `RUNNING`) and, when the group has one, when
//!   its [`ReadinessCheck`] passes (a TCP port, an HTTP URL, or any async
//!   check), within `ready_timeout`;
//! - a member that does not become ready stops the rollout: its new copy is
//!   deleted and its old copy stays live (when it still exists), the members
//!   of later batches are not touched, and with `up --rollback-on-failure`
//!   the finished batches are reverted too (a member's old configuration is
//!   created again before its new copy goes);
//! - after a crash that left a member's new copy unchecked, the next update
//!   deletes the old copy only once the new one is ready.
//!
//! The plan shows the rollout (`rolling group app: replace 6 in 3 batches of
//! 2`), the event stream each batch (`rollout_batch_started`,
//! `rollout_batch_finished`), and the history's timeline the batch of each
//! step.
//!
//! ```
//! use std::time::Duration;
//! use mkso::prelude::*;
//! use mkso::builtin::{Data, DataArgs};
//! use mkso::rolling::{ReadinessCheck, RollingPolicy};
//!
//! fn program(stack: &Stack) -> Result<(), mkso::Error> {
//!     let web = stack.rolling_group(
//!         "web",
//!         RollingPolicy::new()
//!             .max_unavailable(1)
//!             .max_surge(2)
//!             // A `Data` member's outputs are `{"value": ..}`: `{value.address}`.
//!             .readiness(ReadinessCheck::http("http://{value.address}:8080/healthz"))
//!             .ready_timeout(Duration::from_secs(120)),
//!     )?;
//!     for i in 0..3 {
//!         let v = serde_json::json!({"address": format!("10.0.0.{i}")});
//!         Data::new(stack, &format!("web-{i}"), DataArgs::default().value(v),
//!             ResourceOptions::new().rolling_group(&web))?;
//!     }
//!     Ok(())
//! }
//! let graph = mkso::testing::preview(program).stack("app.web.QA").run().unwrap();
//! assert!(graph.get("web-2").is_some());
//! ```
//!
//! [`Stack::rolling_group`]: crate::Stack::rolling_group
//! [`ResourceOptions::rolling_group`]: crate::ResourceOptions::rolling_group

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use futures::future::BoxFuture;
use serde_json::Value;

/// A declared rolling group; pass it to [`crate::ResourceOptions::rolling_group`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RollingGroup {
    pub(crate) name: String,
}

impl RollingGroup {
    /// The group's name.
    pub fn name(&self) -> &str {
        &self.name
    }
}

/// How a rolling group changes its members; build with the setters.
#[derive(Debug, Clone)]
pub struct RollingPolicy {
    /// The most members without a ready copy at any moment (delete-first
    /// replacements and updates in place go this many at a time). Default 1.
    pub max_unavailable: u32,
    /// The most new copies beyond the group's members at any moment
    /// (create-first replacements go this many at a time); 0 makes every
    /// replacement delete its old copy first. Default 1.
    pub max_surge: u32,
    /// A check of the service each new or updated member gives, besides
    /// the provider's own readiness.
    pub readiness: Option<ReadinessCheck>,
    /// How long a member may take to become ready. Default 5 minutes.
    pub ready_timeout: Duration,
    /// A wait between batches (e.g. to watch a canary). Default none.
    pub pause: Duration,
}

impl Default for RollingPolicy {
    fn default() -> Self {
        RollingPolicy {
            max_unavailable: 1,
            max_surge: 1,
            readiness: None,
            ready_timeout: Duration::from_secs(300),
            pause: Duration::ZERO,
        }
    }
}

impl RollingPolicy {
    /// One member at a time, provider readiness only, 5 minutes to be ready.
    pub fn new() -> Self {
        Self::default()
    }
    /// Sets `max_unavailable`.
    #[must_use]
    pub fn max_unavailable(mut self, n: u32) -> Self {
        self.max_unavailable = n;
        self
    }
    /// Sets `max_surge`.
    #[must_use]
    pub fn max_surge(mut self, n: u32) -> Self {
        self.max_surge = n;
        self
    }
    /// Adds a readiness check.
    #[must_use]
    pub fn readiness(mut self, check: ReadinessCheck) -> Self {
        self.readiness = Some(check);
        self
    }
    /// Sets how long a member may take to become ready.
    #[must_use]
    pub fn ready_timeout(mut self, d: Duration) -> Self {
        self.ready_timeout = d;
        self
    }
    /// Waits this long between batches.
    #[must_use]
    pub fn pause(mut self, d: Duration) -> Self {
        self.pause = d;
        self
    }

    /// The batch size for a rollout: `max_surge` when every change creates
    /// its new copy first, `max_unavailable` when none does, the smaller of
    /// the two when some do (at least 1).
    pub(crate) fn batch_size(&self, create_first: usize, changes: usize) -> usize {
        let n = if create_first == changes && self.max_surge > 0 {
            self.max_surge
        } else if create_first == 0 || self.max_surge == 0 {
            self.max_unavailable
        } else {
            self.max_surge.min(self.max_unavailable)
        };
        n.max(1) as usize
    }
}

/// What a readiness check sees of a new (or updated) member.
#[derive(Debug, Clone)]
pub struct ReadyProbe {
    /// The member's nested name.
    pub name: String,
    /// Its cloud id.
    pub id: String,
    /// Its outputs.
    pub outputs: Value,
}

type CheckFn = Arc<dyn Fn(ReadyProbe) -> BoxFuture<'static, Result<(), String>> + Send + Sync>;

/// A check that a member serves, tried until it passes or the group's
/// `ready_timeout` passes.
#[derive(Clone)]
pub enum ReadinessCheck {
    /// A TCP connection to `port` on the address in output `host_output`
    /// (e.g. `private_ip`; a dotted path reaches into an object output:
    /// `value.address`) succeeds.
    Tcp {
        /// The output holding the host (name or address).
        host_output: String,
        /// The port.
        port: u16,
    },
    /// An HTTP GET of `url` answers 2xx; `{output}` in the URL is replaced by
    /// that output of the member (`http://{private_ip}:8080/healthz`; a
    /// dotted path reaches into an object output: `{value.address}`).
    /// Plain `http://` only.
    Http {
        /// The URL template.
        url: String,
    },
    /// Any async check: `Ok(())` when ready, `Err(why)` while not.
    Custom(CheckFn),
}

impl fmt::Debug for ReadinessCheck {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ReadinessCheck::Tcp { host_output, port } => {
                write!(f, "Tcp({{{host_output}}}:{port})")
            }
            ReadinessCheck::Http { url } => write!(f, "Http({url})"),
            ReadinessCheck::Custom(_) => f.write_str("Custom(..)"),
        }
    }
}

impl ReadinessCheck {
    /// A TCP connection to `port` on the host in output `host_output`.
    pub fn tcp(host_output: impl Into<String>, port: u16) -> Self {
        ReadinessCheck::Tcp {
            host_output: host_output.into(),
            port,
        }
    }
    /// An HTTP GET answering 2xx; `{output}` placeholders take the member's
    /// outputs. Plain `http://` only ([`crate::Stack::rolling_group`]
    /// refuses another scheme).
    pub fn http(url: impl Into<String>) -> Self {
        ReadinessCheck::Http { url: url.into() }
    }
    /// Any async check of the member.
    pub fn custom<F, Fut>(f: F) -> Self
    where
        F: Fn(ReadyProbe) -> Fut + Send + Sync + 'static,
        Fut: std::future::Future<Output = Result<(), String>> + Send + 'static,
    {
        ReadinessCheck::Custom(Arc::new(move |p| Box::pin(f(p))))
    }

    /// Tries the check once.
    pub async fn probe(&self, p: ReadyProbe) -> Result<(), String> {
        match self {
            ReadinessCheck::Tcp { host_output, port } => {
                let host = output_text(&p.outputs, host_output).ok_or_else(|| {
                    format!("`{}` has no output `{host_output}` to connect to", p.name)
                })?;
                let addr = format!("{host}:{port}");
                tokio::time::timeout(
                    Duration::from_secs(5),
                    tokio::net::TcpStream::connect(&addr),
                )
                .await
                .map_err(|_| format!("connecting to {addr} timed out"))?
                .map(drop)
                .map_err(|e| format!("cannot connect to {addr}: {e}"))
            }
            ReadinessCheck::Http { url } => {
                let url = fill(url, &p)?;
                // A member's address is reached directly, never through
                // the `HTTP_PROXY` of the environment.
                let client = reqwest::Client::builder()
                    .no_proxy()
                    .timeout(Duration::from_secs(5))
                    .build()
                    .map_err(|e| e.to_string())?;
                let resp = client
                    .get(&url)
                    .send()
                    .await
                    .map_err(|e| format!("GET {url}: {e}"))?;
                if resp.status().is_success() {
                    Ok(())
                } else {
                    Err(format!("GET {url} answered {}", resp.status()))
                }
            }
            ReadinessCheck::Custom(f) => f(p).await,
        }
    }
}

/// The output at `path` (`private_ip`, or dotted: `value.address`) as text.
fn output_text(outputs: &Value, path: &str) -> Option<String> {
    let v = path.split('.').try_fold(outputs, |v, k| v.get(k))?;
    match v {
        Value::String(s) if !s.is_empty() => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

/// Replaces each `{output}` in `template` by that output of the member.
fn fill(template: &str, p: &ReadyProbe) -> Result<String, String> {
    let mut out = String::with_capacity(template.len());
    let mut rest = template;
    while let Some(open) = rest.find('{') {
        out.push_str(&rest[..open]);
        let after = &rest[open + 1..];
        let close = after
            .find('}')
            .ok_or_else(|| format!("readiness URL `{template}` has an unclosed `{{`"))?;
        let key = &after[..close];
        let v = output_text(&p.outputs, key)
            .ok_or_else(|| format!("`{}` has no output `{key}` for its readiness URL", p.name))?;
        out.push_str(&v);
        rest = &after[close + 1..];
    }
    out.push_str(rest);
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn probe(outputs: Value) -> ReadyProbe {
        ReadyProbe {
            name: "web-0".into(),
            id: "i-1".into(),
            outputs,
        }
    }

    #[test]
    fn urls_take_the_members_outputs() {
        let p = probe(
            serde_json::json!({"private_ip": "10.0.1.5", "port": 8080, "value": {"address": "10.0.2.6"}}),
        );
        assert_eq!(
            fill("http://{private_ip}:{port}/healthz", &p).unwrap(),
            "http://10.0.1.5:8080/healthz"
        );
        assert_eq!(
            fill("http://{value.address}/", &p).unwrap(),
            "http://10.0.2.6/"
        );
        let e = fill("http://{public_ip}/", &p).unwrap_err();
        assert!(e.contains("no output `public_ip`"), "{e}");
        assert!(
            fill("http://{private_ip/", &p)
                .unwrap_err()
                .contains("unclosed")
        );
    }

    #[test]
    fn batches_follow_surge_for_create_first_and_unavailable_otherwise() {
        let p = RollingPolicy::new().max_unavailable(2).max_surge(3);
        assert_eq!(p.batch_size(6, 6), 3);
        assert_eq!(p.batch_size(0, 6), 2);
        assert_eq!(p.batch_size(4, 6), 2, "mixed: both limits hold");
        let p = RollingPolicy::new().max_unavailable(0).max_surge(0);
        assert_eq!(p.batch_size(6, 6), 1);
        assert_eq!(p.batch_size(0, 6), 1);
    }

    #[tokio::test]
    async fn tcp_and_http_checks_reach_a_real_listener() {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        tokio::spawn(async move {
            loop {
                let Ok((mut s, _)) = listener.accept().await else {
                    return;
                };
                tokio::spawn(async move {
                    use tokio::io::{AsyncReadExt, AsyncWriteExt};
                    let mut buf = [0u8; 1024];
                    let n = s.read(&mut buf).await.unwrap_or(0);
                    let req = String::from_utf8_lossy(&buf[..n]).to_string();
                    let status = if req.starts_with("GET /healthz") {
                        "200 OK"
                    } else {
                        "503 Service Unavailable"
                    };
                    let _ = s
                        .write_all(
                            format!("HTTP/1.1 {status}\r\ncontent-length: 0\r\n\r\n").as_bytes(),
                        )
                        .await;
                });
            }
        });
        let p = probe(serde_json::json!({"ip": "127.0.0.1"}));
        ReadinessCheck::tcp("ip", port)
            .probe(p.clone())
            .await
            .unwrap();
        ReadinessCheck::http(format!("http://{{ip}}:{port}/healthz"))
            .probe(p.clone())
            .await
            .unwrap();
        let e = ReadinessCheck::http(format!("http://{{ip}}:{port}/other"))
            .probe(p.clone())
            .await
            .unwrap_err();
        assert!(e.contains("503"), "{e}");
        let e = ReadinessCheck::tcp("missing", port)
            .probe(p)
            .await
            .unwrap_err();
        assert!(e.contains("no output `missing`"), "{e}");
    }
}
