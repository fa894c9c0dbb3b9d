//! The proxy server: classify, throttle, fail, forward, lose the answer.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::{Request, Response};
use hyper_util::rt::TokioIo;
use serde::Serialize;
use tokio::net::TcpListener;
use tokio::task::JoinSet;

use crate::call::Call;
use crate::{Api, Class, Throttle, TokenBucket};

/// Which calls the failure, loss and delay faults apply to.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Calls {
    /// Calls that change something (the default): the interesting ones for
    /// idempotency.
    #[default]
    Mutating,
    /// Every call.
    All,
}

/// How a lost answer looks to the client.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, clap::ValueEnum)]
pub enum DropMode {
    /// The connection closes without an answer.
    #[default]
    Reset,
    /// No answer until the client gives up ([`Faults::hang`], then closed).
    Hang,
}

/// What the proxy does to calls. The default passes everything through.
#[derive(Debug, Clone)]
pub struct Faults {
    /// Seeds the draws. A call's fate comes from the seed, its action (the
    /// project id left out) and how many calls of that action came before
    /// it, so the same seed gives the same faults however calls of different
    /// actions interleave (parallel calls of one action take the fates in
    /// the order they arrive).
    pub seed: u64,
    /// Fraction (0–1) of calls failed before the emulator sees them: about
    /// half (drawn) with the service's 5xx error answer, the others by
    /// closing the connection.
    pub fail_before: f64,
    /// Fraction (0–1) of calls whose answer is lost after the emulator acted.
    pub drop_after: f64,
    /// How a lost answer looks.
    pub drop_mode: DropMode,
    /// How long a [`DropMode::Hang`] answer hangs before the connection closes.
    pub hang: Duration,
    /// Added before the call reaches the emulator.
    pub delay_before: Duration,
    /// Added after the emulator acted, before the answer goes back.
    pub delay_after: Duration,
    /// Which calls the faults above apply to.
    pub only: Calls,
    /// Token buckets per call class (applied to every call of a class).
    pub throttle: Throttle,
}

impl Default for Faults {
    fn default() -> Faults {
        Faults {
            seed: 0,
            fail_before: 0.0,
            drop_after: 0.0,
            drop_mode: DropMode::Reset,
            hang: Duration::from_secs(120),
            delay_before: Duration::ZERO,
            delay_after: Duration::ZERO,
            only: Calls::Mutating,
            throttle: Throttle::default(),
        }
    }
}

/// What the proxy did so far.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Stats {
    /// Calls received (the stats endpoint aside).
    pub calls: u64,
    /// Calls answered as throttled.
    pub throttled: u64,
    /// Calls failed before the emulator saw them.
    pub failed_before: u64,
    /// Calls the emulator acted on.
    pub forwarded: u64,
    /// Calls whose answer was lost after the emulator acted.
    pub dropped_after: u64,
    /// Calls received per action (EC2 action, or `METHOD path` with the
    /// project id as `_`).
    pub by_action: std::collections::BTreeMap<String, u64>,
    /// Calls let through the token buckets, per class (`non_mutating`,
    /// `mutating`, `resource_intensive`): with the buckets' shapes, the
    /// shortest time those calls could have taken.
    pub admitted: std::collections::BTreeMap<Class, u64>,
    /// The shortest time the admitted calls could have taken through the
    /// buckets ([`Throttle::min_seconds`]): a throttled client's floor.
    pub min_seconds: f64,
}

impl Shared {
    fn stats(&self) -> Stats {
        let mut st = lock(&self.stats).clone();
        st.min_seconds = lock(&self.faults).throttle.min_seconds(&st.admitted);
        st
    }
}

struct Shared {
    upstream: String,
    api: Api,
    faults: Mutex<Faults>,
    buckets: Mutex<HashMap<Class, TokenBucket>>,
    /// Calls per action that were given a fate (not throttled).
    fated: Mutex<HashMap<String, u64>>,
    stats: Mutex<Stats>,
    client: reqwest::Client,
}

/// A running proxy; stops (with its connections) when dropped.
#[derive(Debug)]
pub struct FaultProxy {
    addr: SocketAddr,
    shared: Arc<Shared>,
    task: tokio::task::JoinHandle<()>,
}

impl std::fmt::Debug for Shared {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Shared")
            .field("upstream", &self.upstream)
            .field("api", &self.api)
            .finish_non_exhaustive()
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

impl FaultProxy {
    /// Starts a proxy to `upstream` (e.g. `http://127.0.0.1:5000`) on a free
    /// port of 127.0.0.1.
    pub async fn start(upstream: &str, api: Api, faults: Faults) -> std::io::Result<FaultProxy> {
        FaultProxy::start_on(([127, 0, 0, 1], 0).into(), upstream, api, faults).await
    }

    /// Starts a proxy to `upstream` listening on `listen`.
    pub async fn start_on(
        listen: SocketAddr,
        upstream: &str,
        api: Api,
        faults: Faults,
    ) -> std::io::Result<FaultProxy> {
        let listener = TcpListener::bind(listen).await?;
        let addr = listener.local_addr()?;
        let client = reqwest::Client::builder()
            .no_proxy()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .map_err(std::io::Error::other)?;
        let shared = Arc::new(Shared {
            upstream: upstream.trim_end_matches('/').to_string(),
            api,
            buckets: Mutex::new(buckets(&faults.throttle)),
            fated: Mutex::new(HashMap::new()),
            faults: Mutex::new(faults),
            stats: Mutex::new(Stats::default()),
            client,
        });
        let s = shared.clone();
        let task = tokio::spawn(async move {
            let mut conns = JoinSet::new();
            loop {
                let Ok((stream, _)) = listener.accept().await else {
                    // E.g. out of file handles: wait for some to close.
                    tokio::time::sleep(std::time::Duration::from_millis(10)).await;
                    continue;
                };
                let s = s.clone();
                conns.spawn(async move {
                    let service = hyper::service::service_fn(move |req| handle(s.clone(), req));
                    let _ = hyper::server::conn::http1::Builder::new()
                        .serve_connection(TokioIo::new(stream), service)
                        .await;
                });
                while conns.try_join_next().is_some() {}
            }
        });
        Ok(FaultProxy { addr, shared, task })
    }

    /// Where the proxy listens.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// `http://<addr>`, for the client's endpoint setting.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// The counters so far.
    pub fn stats(&self) -> Stats {
        self.shared.stats()
    }

    /// Replaces the faults (buckets refilled).
    pub fn set_faults(&self, faults: Faults) {
        *lock(&self.shared.buckets) = buckets(&faults.throttle);
        *lock(&self.shared.faults) = faults;
    }
}

impl Drop for FaultProxy {
    fn drop(&mut self) {
        self.task.abort();
    }
}

fn buckets(t: &Throttle) -> HashMap<Class, TokenBucket> {
    t.buckets
        .iter()
        .map(|(c, b)| (*c, TokenBucket::new(*b)))
        .collect()
}

/// The seed of one call's draws: FNV-1a of the action, mixed with the
/// faults' seed and the action's occurrence.
fn fate_seed(seed: u64, action: &str, occurrence: u64) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in action.bytes() {
        h = (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3);
    }
    h ^ seed.rotate_left(32) ^ occurrence.wrapping_mul(0x9e37_79b9_7f4a_7c15)
}

/// Whether a header passes through: hop-by-hop headers belong to each
/// connection (RFC 9110 §7.6.1).
fn end_to_end(name: &hyper::header::HeaderName) -> bool {
    !matches!(
        name.as_str(),
        "connection"
            | "keep-alive"
            | "proxy-connection"
            | "te"
            | "trailer"
            | "transfer-encoding"
            | "upgrade"
    )
}

type Answer = Result<Response<Full<Bytes>>, Box<dyn std::error::Error + Send + Sync>>;

/// Ends the connection without an answer (hyper closes it on a service error).
fn close(why: &'static str) -> Answer {
    Err(why.into())
}

fn answer(status: u16, content_type: &str, body: String) -> Answer {
    Ok(Response::builder()
        .status(status)
        .header("content-type", content_type)
        .body(Full::new(Bytes::from(body)))?)
}

async fn handle(s: Arc<Shared>, req: Request<Incoming>) -> Answer {
    let (parts, body) = req.into_parts();
    let pq = parts
        .uri
        .path_and_query()
        .map(|p| p.as_str().to_string())
        .unwrap_or_else(|| "/".into());
    if pq.starts_with("/__fault-proxy/stats") {
        let stats = s.stats();
        return answer(200, "application/json", serde_json::to_string(&stats)?);
    }
    let body = body.collect().await?.to_bytes();
    let Call { action, class } = s.api.classify(parts.method.as_str(), &pq, &body);
    let faults = lock(&s.faults).clone();
    let applies = faults.only == Calls::All || class != Class::NonMutating;
    let n = {
        let mut st = lock(&s.stats);
        st.calls += 1;
        *st.by_action.entry(action.clone()).or_default() += 1;
        st.calls
    };
    let throttled = lock(&s.buckets)
        .get_mut(&class)
        .is_some_and(|b| !b.try_take(Instant::now()));
    if throttled {
        lock(&s.stats).throttled += 1;
        let (status, ct, body) = s.api.throttled(n);
        return answer(status, ct, body);
    }
    *lock(&s.stats).admitted.entry(class).or_default() += 1;
    // The fate is drawn after throttling (which depends on timing), so that
    // a throttled call does not shift the fates of the later ones.
    let (fail, drop, close_it) = {
        let mut seen = lock(&s.fated);
        let seen = seen.entry(action.clone()).or_default();
        *seen += 1;
        let mut rng = fastrand::Rng::with_seed(fate_seed(faults.seed, &action, *seen));
        let (a, b, c) = (rng.f64(), rng.f64(), rng.bool());
        (
            applies && a < faults.fail_before,
            applies && b < faults.drop_after,
            c,
        )
    };
    if fail {
        lock(&s.stats).failed_before += 1;
        if close_it {
            return close("failed before the emulator");
        }
        let (status, ct, body) = s.api.failed(n);
        return answer(status, ct, body);
    }
    if applies && !faults.delay_before.is_zero() {
        tokio::time::sleep(faults.delay_before).await;
    }
    let mut fwd = s
        .client
        .request(parts.method.clone(), format!("{}{pq}", s.upstream))
        .body(body);
    // The client sets the length of the body it sends.
    for (k, v) in parts
        .headers
        .iter()
        .filter(|(k, _)| end_to_end(k) && *k != "content-length")
    {
        fwd = fwd.header(k, v);
    }
    let up = match fwd.send().await {
        Ok(r) => r,
        // The emulator is down: the client sees a closed connection.
        Err(_) => return close("the emulator did not answer"),
    };
    let status = up.status();
    let headers = up.headers().clone();
    let bytes = up.bytes().await?;
    lock(&s.stats).forwarded += 1;
    if applies && !faults.delay_after.is_zero() {
        tokio::time::sleep(faults.delay_after).await;
    }
    if drop {
        lock(&s.stats).dropped_after += 1;
        if faults.drop_mode == DropMode::Hang {
            tokio::time::sleep(faults.hang).await;
        }
        return close("answer lost after the emulator acted");
    }
    let mut resp = Response::builder().status(status.as_u16());
    for (k, v) in headers.iter().filter(|(k, _)| end_to_end(k)) {
        resp = resp.header(k, v);
    }
    Ok(resp.body(Full::new(bytes))?)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicU64, Ordering};

    /// An upstream that counts the calls it acted on and answers `ok`.
    async fn upstream() -> (String, Arc<AtomicU64>) {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let acted = Arc::new(AtomicU64::new(0));
        let a = acted.clone();
        tokio::spawn(async move {
            loop {
                let (stream, _) = listener.accept().await.unwrap();
                let a = a.clone();
                tokio::spawn(async move {
                    let service = hyper::service::service_fn(move |_req: Request<Incoming>| {
                        a.fetch_add(1, Ordering::SeqCst);
                        async { Ok::<_, Infallible>(Response::new(Full::new(Bytes::from("ok")))) }
                    });
                    let _ = hyper::server::conn::http1::Builder::new()
                        .serve_connection(TokioIo::new(stream), service)
                        .await;
                });
            }
        });
        (url, acted)
    }

    async fn post(client: &reqwest::Client, url: &str, action: &str) -> Result<(u16, String), ()> {
        let r = client
            .post(format!("{url}/"))
            .body(format!("Action={action}&Version=2016-11-15"))
            .send()
            .await
            .map_err(|_| ())?;
        let status = r.status().as_u16();
        Ok((status, r.text().await.map_err(|_| ())?))
    }

    use std::convert::Infallible;

    #[tokio::test]
    async fn lost_answers_reach_the_upstream_and_failed_calls_do_not() {
        let (url, acted) = upstream().await;
        let client = reqwest::Client::builder().no_proxy().build().unwrap();

        // Every mutating answer lost: the upstream acted, the client saw nothing.
        let faults = Faults {
            drop_after: 1.0,
            ..Faults::default()
        };
        let proxy = FaultProxy::start(&url, Api::Ec2, faults).await.unwrap();
        assert!(post(&client, &proxy.url(), "CreateVpc").await.is_err());
        assert_eq!(acted.load(Ordering::SeqCst), 1);
        // Reads are not faulted by default.
        assert_eq!(
            post(&client, &proxy.url(), "DescribeVpcs").await,
            Ok((200, "ok".into()))
        );

        // Every mutating call failed before the upstream: it never acts.
        proxy.set_faults(Faults {
            fail_before: 1.0,
            ..Faults::default()
        });
        let before = acted.load(Ordering::SeqCst);
        let answers: Vec<_> = one_by_one(&client, &proxy.url(), 8).await;
        assert_eq!(acted.load(Ordering::SeqCst), before);
        assert!(
            answers
                .iter()
                .any(|a| matches!(a, Ok((503, b)) if b.contains("<Code>Unavailable</Code>"))),
            "some fail with EC2's 503: {answers:?}"
        );
        assert!(
            answers.iter().any(|a| a.is_err()),
            "some by a closed connection"
        );
        let s = proxy.stats();
        assert_eq!((s.dropped_after, s.failed_before), (1, 8));
        assert_eq!(s.by_action["CreateVpc"], 9);
    }

    async fn one_by_one(
        client: &reqwest::Client,
        url: &str,
        n: usize,
    ) -> Vec<Result<(u16, String), ()>> {
        let mut v = Vec::new();
        for _ in 0..n {
            v.push(post(client, url, "CreateVpc").await);
        }
        v
    }

    #[tokio::test]
    async fn a_throttled_class_answers_like_ec2_once_its_bucket_is_empty() {
        let (url, acted) = upstream().await;
        let client = reqwest::Client::builder().no_proxy().build().unwrap();
        let faults = Faults {
            throttle: Throttle::new().bucket(Class::Mutating, 3.0, 0.001),
            ..Faults::default()
        };
        let proxy = FaultProxy::start(&url, Api::Ec2, faults).await.unwrap();
        let mut statuses = Vec::new();
        for _ in 0..5 {
            statuses.push(post(&client, &proxy.url(), "CreateSubnet").await.unwrap());
        }
        assert_eq!(
            statuses.iter().map(|(s, _)| *s).collect::<Vec<_>>(),
            [200, 200, 200, 503, 503]
        );
        assert!(statuses[4].1.contains("RequestLimitExceeded"));
        // Reads have no bucket here: never throttled.
        assert_eq!(
            post(&client, &proxy.url(), "DescribeSubnets")
                .await
                .unwrap()
                .0,
            200
        );
        assert_eq!(acted.load(Ordering::SeqCst), 4);
        assert_eq!(proxy.stats().throttled, 2);
    }
}
