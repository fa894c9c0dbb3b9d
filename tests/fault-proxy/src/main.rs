//! `mkso-fault-proxy`: the fault-injecting proxy from the command line.
//!
//! ```text
//! mkso-fault-proxy --upstream http://127.0.0.1:5000 --api ec2 --throttle --seed 7
//! ```
//! prints `listening on http://127.0.0.1:PORT` and serves until killed;
//! `GET /__fault-proxy/stats` answers its counters as JSON.

use std::io::Write;
use std::time::Duration;

use clap::Parser;
use mkso_fault_proxy::{Api, Calls, DropMode, FaultProxy, Faults, Throttle};

/// A seeded fault-injecting HTTP proxy in front of moto or gcplocal.
#[derive(Debug, Parser)]
#[command(version)]
struct Args {
    /// The emulator, e.g. http://127.0.0.1:5000.
    #[arg(long)]
    upstream: String,
    /// Where to listen (port 0: a free one).
    #[arg(long, default_value = "127.0.0.1:0")]
    listen: std::net::SocketAddr,
    /// The service behind it: how calls are classified and errors answered.
    #[arg(long, value_enum, default_value = "ec2")]
    api: Api,
    /// Seeds the draws.
    #[arg(long, default_value_t = 0)]
    seed: u64,
    /// Fraction of calls failed before the emulator sees them.
    #[arg(long, default_value_t = 0.0)]
    fail_before: f64,
    /// Fraction of calls whose answer is lost after the emulator acted.
    #[arg(long, default_value_t = 0.0)]
    drop_after: f64,
    /// How a lost answer looks.
    #[arg(long, value_enum, default_value = "reset")]
    drop_mode: DropMode,
    /// Delay before the emulator sees a call, in milliseconds.
    #[arg(long, default_value_t = 0)]
    delay_before_ms: u64,
    /// Delay after the emulator acted, in milliseconds.
    #[arg(long, default_value_t = 0)]
    delay_after_ms: u64,
    /// Apply the faults to every call, not only mutating ones.
    #[arg(long)]
    all_calls: bool,
    /// Throttle with token buckets shaped like the service's published limits.
    #[arg(long)]
    throttle: bool,
    /// With --throttle: refill the buckets this many times as fast.
    #[arg(long, default_value_t = 1.0)]
    throttle_scale: f64,
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() -> std::io::Result<()> {
    let a = Args::parse();
    let api = a.api;
    let faults = Faults {
        seed: a.seed,
        fail_before: a.fail_before,
        drop_after: a.drop_after,
        drop_mode: a.drop_mode,
        delay_before: Duration::from_millis(a.delay_before_ms),
        delay_after: Duration::from_millis(a.delay_after_ms),
        only: if a.all_calls {
            Calls::All
        } else {
            Calls::Mutating
        },
        throttle: match (a.throttle, api) {
            (false, _) => Throttle::new(),
            (true, Api::Ec2) => Throttle::ec2().scaled(a.throttle_scale),
            (true, Api::Gcp) => Throttle::gcp().scaled(a.throttle_scale),
        },
        ..Faults::default()
    };
    let proxy = FaultProxy::start_on(a.listen, &a.upstream, api, faults).await?;
    let mut out = std::io::stdout();
    writeln!(out, "listening on {}", proxy.url())?;
    out.flush()?;
    tokio::signal::ctrl_c().await?;
    let stats = serde_json::to_string(&proxy.stats()).map_err(std::io::Error::other)?;
    writeln!(out, "{stats}")?;
    Ok(())
}
