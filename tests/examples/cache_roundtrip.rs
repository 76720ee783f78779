//! Round trip of a cached answer over D-Bus from one persistent connection (cache issue: goal
//! < 10 ms), with `org.freedesktop.DBus.Peer.Ping` to the daemon measured in the same run as the
//! reference (the bare bus round trip). Run by `scripts/bench-cache-roundtrip.sh`, which starts the
//! bus and the daemon: `cache_roundtrip ADDRESS [N]`.

use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use medllm_api::{Daemon1Proxy, Dict};
use zbus::zvariant::OwnedValue;

const QUESTION: &str =
    "How long should a course of amoxicillin for an adult with strep throat last?";

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<()> {
    let mut args = std::env::args().skip(1);
    let address = args.next().context("usage: cache_roundtrip ADDRESS [N]")?;
    let n: usize = args.next().map(|s| s.parse()).transpose()?.unwrap_or(1000);
    let conn = zbus::connection::Builder::address(address.as_str())?
        .build()
        .await?;
    let daemon = Daemon1Proxy::new(&conn).await?;
    let mut opts = Dict::new();
    opts.insert("max_tokens".into(), OwnedValue::from(32u32));
    let (_, first) = daemon.ask(QUESTION, &opts).await?;
    let tier = |d: &Dict| {
        d.get("cache")
            .and_then(|v| String::try_from(v.clone()).ok())
            .unwrap_or_default()
    };
    eprintln!("first ask: cache {}", tier(&first));
    let (_, second) = daemon.ask(QUESTION, &opts).await?;
    if tier(&second) != "exact" {
        bail!(
            "the second ask was not an exact cache hit: {}",
            tier(&second)
        );
    }
    let mut hits = Vec::with_capacity(n);
    for _ in 0..n {
        let t = Instant::now();
        daemon.ask(QUESTION, &opts).await?;
        hits.push(t.elapsed());
    }
    let mut pings = Vec::with_capacity(n);
    for _ in 0..n {
        let t = Instant::now();
        conn.call_method(
            Some(medllm_api::BUS_NAME),
            medllm_api::OBJECT_PATH,
            Some("org.freedesktop.DBus.Peer"),
            "Ping",
            &(),
        )
        .await?;
        pings.push(t.elapsed());
    }
    println!(
        "cached Ask (exact hit, one connection): {}",
        summary(&mut hits)
    );
    println!(
        "Peer.Ping to the daemon (reference):    {}",
        summary(&mut pings)
    );
    Ok(())
}

fn summary(v: &mut [Duration]) -> String {
    v.sort();
    let q = |p: f64| v[((v.len() as f64 * p) as usize).min(v.len() - 1)].as_secs_f64() * 1e3;
    format!(
        "p50 {:.2} ms  p90 {:.2} ms  p99 {:.2} ms  (n={})",
        q(0.5),
        q(0.9),
        q(0.99),
        v.len()
    )
}
