//! A seeded fault-injecting HTTP proxy for tests and benchmarks: it sits in
//! front of a cloud emulator (moto for EC2, gcplocal for Compute Engine) on
//! 127.0.0.1 and, per call,
//!
//! - **throttles** with token buckets shaped like the service's published
//!   limits, answering exactly as the service does (EC2: HTTP 503
//!   `RequestLimitExceeded`; GCP: HTTP 429 `rateLimitExceeded`);
//! - **fails** a fraction of calls before the emulator sees them (an error
//!   answer of the service's shape, or a reset connection);
//! - **loses the answer** of a fraction of calls after the emulator acted
//!   (the client sees a reset connection, or nothing until it gives up);
//! - **delays** calls before or after the emulator acts.
//!
//! Draws come from one seeded generator, so a run's faults reproduce for the
//! same sequence of calls. Faults apply to mutating calls by default
//! ([`Calls`]); throttling applies to every call of a throttled class.
//!
//! ```no_run
//! # async fn demo() -> std::io::Result<()> {
//! use mkso_fault_proxy::{Api, FaultProxy, Faults};
//! let proxy = FaultProxy::start(
//!     "http://127.0.0.1:5000",
//!     Api::Ec2,
//!     Faults { fail_before: 0.15, drop_after: 0.15, seed: 7, ..Faults::default() },
//! )
//! .await?;
//! // Point the client at the proxy, e.g. AWS_ENDPOINT_URL=<proxy.url()>.
//! println!("{}", proxy.url());
//! // ... run the client ...
//! println!("{:?}", proxy.stats());
//! # Ok(()) }
//! ```
//!
//! The `mkso-fault-proxy` binary runs the same proxy from the command line
//! (`--help`); `GET /__fault-proxy/stats` answers its counters as JSON.

mod call;
mod proxy;
mod throttle;

pub use call::{Api, Class};
pub use proxy::{Calls, DropMode, FaultProxy, Faults, Stats};
pub use throttle::{Bucket, Throttle, TokenBucket};
