//! The benchmark load generator's correctness checks (`bench/`, crate
//! `wasio-bench`), run on a short, small load so they stay in the test
//! suite: pingpong, lines and bulk against in-process wasio servers must
//! verify every echoed byte with no error, and a server that corrupts one
//! byte must be caught. The benchmark's numbers are not checked here.

mod common;

use common::serve_tcp;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;
use wasio::net::NetConfig;
use wasio_bench::connect_rate::{ConnectRateConfig, run_connect_rate};
use wasio_bench::{LoadConfig, LoadReport, Mode, run_load};

const LIMIT: usize = 64 * 1024;

fn small(addr: std::net::SocketAddr, mode: Mode, size: usize) -> LoadConfig {
    LoadConfig {
        addr,
        mode,
        connections: 4,
        size,
        duration: Duration::from_millis(800),
        warmup: Duration::from_millis(200),
        connect_concurrency: 4,
    }
}

fn assert_clean(report: &LoadReport) {
    assert_eq!(
        report.errors.count, 0,
        "{} failed: {:?}",
        report.mode, report.errors.first
    );
    assert_eq!(report.connected, report.connections);
    assert!(
        report.ops > 0,
        "{}: no operation in the window",
        report.mode
    );
    assert!(report.verified_bytes > 0);
    // The result line carries the same facts.
    let line = report.to_json(&[("server".into(), "test".into())]);
    assert_eq!(line["errors"], 0);
    assert_eq!(line["server"], "test");
    assert!(line["verified_bytes"].as_u64().unwrap() > 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pingpong_against_the_raw_echo_handler_verifies_every_byte() {
    let server = serve_tcp("echo_raw", LIMIT, NetConfig::default());
    let report = common::deadline(run_load(&small(server.tcp(), Mode::Pingpong, 64)))
        .await
        .expect("load runs");
    assert_clean(&report);
    assert!(!report.latencies.is_empty());
    assert_eq!(report.verified_bytes % 64, 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lines_against_the_line_echo_handler_verifies_every_byte() {
    let server = serve_tcp("echo_lines", LIMIT, NetConfig::default());
    let report = common::deadline(run_load(&small(server.tcp(), Mode::Lines, 64)))
        .await
        .expect("load runs");
    assert_clean(&report);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bulk_against_the_raw_echo_handler_gets_everything_back() {
    let server = serve_tcp("echo_raw", LIMIT, NetConfig::default());
    let report = common::deadline(run_load(&small(server.tcp(), Mode::Bulk, 16 * 1024)))
        .await
        .expect("load runs");
    assert_clean(&report);
    assert!(report.mb_per_sec() > 0.0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connection_rate_against_the_line_echo_handler() {
    let server = serve_tcp("echo_lines", LIMIT, NetConfig::default());
    let cfg = ConnectRateConfig {
        addr: server.tcp(),
        concurrency: 2,
        size: 64,
        duration: Duration::from_millis(500),
        warmup: Duration::from_millis(100),
    };
    let report = common::deadline(run_connect_rate(&cfg))
        .await
        .expect("connect-rate runs");
    assert_clean(&report);
}

/// Against the IPv4 loopback, connections come from several source
/// addresses in turn (from one, the kernel's ephemeral ports cap the rate).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_connection_rate_spreads_over_loopback_source_addresses() {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (peers_tx, mut peers) = tokio::sync::mpsc::unbounded_channel();
    tokio::spawn(async move {
        while let Ok((mut stream, peer)) = listener.accept().await {
            let _ = peers_tx.send(peer.ip());
            tokio::spawn(async move {
                let (mut r, mut w) = stream.split();
                let _ = tokio::io::copy(&mut r, &mut w).await;
            });
        }
    });
    let cfg = ConnectRateConfig {
        addr,
        concurrency: 1,
        size: 64,
        duration: Duration::from_millis(300),
        warmup: Duration::ZERO,
    };
    let report = common::deadline(run_connect_rate(&cfg))
        .await
        .expect("connect-rate runs");
    assert_clean(&report);
    let (mut accepted, mut seen) = (0, std::collections::HashSet::new());
    while let Ok(ip) = peers.try_recv() {
        assert!(ip.is_loopback(), "{ip}");
        accepted += 1;
        seen.insert(ip);
    }
    assert!(accepted >= 16, "only {accepted} connections in 300 ms");
    // 127.0.0.1 to 127.0.0.16, each in turn.
    assert_eq!(seen.len(), 16, "{accepted} connections came from {seen:?}");
}

/// The checks are real: an echo server that flips one byte in every
/// thousand is reported as errors in both pingpong and bulk.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_corrupted_echo_is_reported_as_an_error() {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        while let Ok((mut stream, _)) = listener.accept().await {
            tokio::spawn(async move {
                let mut seen: u64 = 0;
                let mut buf = vec![0u8; 64 * 1024];
                while let Ok(n) = stream.read(&mut buf).await {
                    if n == 0 {
                        break;
                    }
                    for byte in &mut buf[..n] {
                        seen += 1;
                        if seen.is_multiple_of(1000) {
                            *byte ^= 1;
                        }
                    }
                    if stream.write_all(&buf[..n]).await.is_err() {
                        break;
                    }
                }
            });
        }
    });
    for (mode, size) in [(Mode::Pingpong, 64), (Mode::Bulk, 16 * 1024)] {
        let mut cfg = small(addr, mode, size);
        cfg.duration = Duration::from_millis(300);
        let report = common::deadline(run_load(&cfg)).await.expect("load runs");
        assert!(
            report.errors.count > 0,
            "{mode:?}: the corrupted echo went unnoticed"
        );
        let first = report.errors.first.unwrap();
        assert!(first.contains("differs"), "{first}");
    }
}
