//! Untrusted handlers under attack and under faults: each misbehaviour
//! ends only the connections it affects, host memory stays bounded (the
//! test process's RSS, which includes the in-process server, stays under
//! [`RSS_BOUND`]), and a well-behaved client keeps getting correct echoes.

mod common;

use common::{Driver, Reply, TestServer, deadline, ok, serve_with};
use std::time::Duration;
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpStream;
use wasio::component::engine::InstanceLimits;
use wasio::net::{Listener, NetConfig, ReaderConfig};
use wasio::serve::{InstanceModel, Service};

/// The host memory bound asserted under every attack (also in README).
const RSS_BOUND: u64 = 256 * 1024 * 1024;

/// The resident set size of this process (server and clients), in bytes.
fn rss() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").expect("procfs");
    let kib: u64 = status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .expect("VmRSS");
    kib * 1024
}

fn assert_rss_bounded(when: &str) {
    let rss = rss();
    eprintln!("RSS {when}: {} MiB", rss / (1024 * 1024));
    assert!(rss < RSS_BOUND, "RSS {when} is {} MiB", rss / (1024 * 1024));
}

fn limits() -> InstanceLimits {
    InstanceLimits {
        max_memory: 32 * 1024 * 1024,
        max_run_time: Duration::from_millis(200),
        pool_size: Some(2_100),
    }
}

fn server(
    component: &str,
    limit: usize,
    net: NetConfig,
    adjust: impl FnOnce(&mut Service),
) -> TestServer {
    let listener = Listener::bind_tcp("127.0.0.1:0".parse().unwrap(), 4096).expect("bind");
    serve_with(listener, component, limit, net, limits(), adjust)
}

/// A well-behaved client of the line-echo handler.
async fn echo_once(server: &TestServer, line: &str) {
    let stream = deadline(TcpStream::connect(server.tcp())).await.unwrap();
    let mut stream = BufReader::new(stream);
    stream.get_mut().write_all(line.as_bytes()).await.unwrap();
    let mut echo = String::new();
    deadline(stream.read_line(&mut echo)).await.unwrap();
    assert_eq!(echo, line);
}

/// Reads until the server closes or resets the connection.
async fn until_closed(stream: &mut TcpStream) {
    let mut buf = vec![0u8; 64 * 1024];
    loop {
        match deadline(stream.read(&mut buf)).await {
            Ok(0) | Err(_) => return,
            Ok(_) => {}
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn misbehaving_guests_end_only_their_own_connections() {
    // Both handler styles: an async guest returns to the host at every
    // wait, a blocking one is suspended on its own stack; the watchdog and
    // the memory limit must stop either.
    for style in ["test_handler", "test_blocking"] {
        let server = server(style, 1024, NetConfig::default(), |_| {});
        let mut good = Driver::connect(&server).await;
        for attack in ["spin\n", "alloc\n", "panic\n"] {
            let mut bad = Driver::connect(&server).await;
            bad.send(attack.as_bytes()).await;
            assert_eq!(
                bad.read_to_eof().await,
                b"",
                "{style}: {attack:?} ends its connection"
            );
            let line = format!("after {}", attack);
            assert_eq!(
                good.call(format!("readline\n{line}").as_bytes()).await,
                ok(line.as_bytes()),
                "{style}: served after {attack:?}"
            );
            assert_rss_bounded(&format!("{style}: after {attack:?}"));
        }
        // New connections are still served.
        let mut fresh = Driver::connect(&server).await;
        assert_eq!(fresh.call(b"read 2\nok").await, ok(b"ok"));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn instance_models_share_state_only_when_pooled() {
    // Per connection: every client sees a fresh instance.
    let server_a = server("test_handler", 1024, NetConfig::default(), |_| {});
    for _ in 0..3 {
        let mut d = Driver::connect(&server_a).await;
        assert_eq!(d.call(b"count\n").await, ok(b"1"));
    }
    // Pooled: one instance serves them in turn, and is replaced after a
    // trap and after its quota.
    let server_b = server("test_handler", 1024, NetConfig::default(), |s| {
        s.model = InstanceModel::Pooled {
            concurrency: 8,
            reuse: 4,
        };
    });
    let mut counts = Vec::new();
    for _ in 0..3 {
        let mut d = Driver::connect(&server_b).await;
        let Reply::Ok(n) = d.call(b"count\n").await else {
            panic!()
        };
        counts.push(String::from_utf8(n).unwrap());
    }
    assert_eq!(counts, ["1", "2", "3"]);
    let mut bad = Driver::connect(&server_b).await;
    bad.send(b"panic\n").await;
    assert_eq!(bad.read_to_eof().await, b"");
    let mut d = Driver::connect(&server_b).await;
    assert_eq!(
        d.call(b"count\n").await,
        ok(b"1"),
        "a new instance after the trap"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_pooled_blocking_handler_still_serves_connections_side_by_side() {
    // echo_lines lifts `handle` synchronously (blocking style), and the
    // component model does not enter such an export again while a call is
    // in progress: a pool that gave both connections one instance would
    // leave the second unanswered until the first closed.
    let server = server("echo_lines", 1024, NetConfig::default(), |s| {
        s.model = InstanceModel::Pooled {
            concurrency: 8,
            reuse: 100,
        };
    });
    let mut open = Vec::new();
    for line in ["first\n", "second\n", "third\n"] {
        let stream = deadline(TcpStream::connect(server.tcp())).await.unwrap();
        let mut stream = BufReader::new(stream);
        stream.get_mut().write_all(line.as_bytes()).await.unwrap();
        let mut echo = String::new();
        deadline(stream.read_line(&mut echo)).await.unwrap();
        assert_eq!(echo, line, "echoed while the earlier connections stay open");
        open.push(stream);
    }
    // The earlier connections were not disturbed.
    for stream in &mut open {
        stream.get_mut().write_all(b"again\n").await.unwrap();
        let mut echo = String::new();
        deadline(stream.read_line(&mut echo)).await.unwrap();
        assert_eq!(echo, "again\n");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_thousand_slowloris_connections_are_closed_by_the_idle_timeout() {
    rlimit::increase_nofile_limit(u64::MAX).ok();
    let server = server("echo_lines", 64 * 1024, NetConfig::default(), |s| {
        s.limits.idle_timeout = Some(Duration::from_secs(1));
    });
    let mut slow = Vec::new();
    for _ in 0..1000 {
        let mut s = deadline(TcpStream::connect(server.tcp())).await.unwrap();
        s.write_all(b"GET / HTTP/1.1\r\nHost: ").await.unwrap();
        slow.push(s);
    }
    // Served during the attack.
    echo_once(&server, "still here\n").await;
    for s in &mut slow {
        until_closed(s).await;
    }
    assert_rss_bounded("after 1,000 slowloris connections");
    echo_once(&server, "and after\n").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_connection_kept_after_its_handler_returned_is_still_closed_when_idle() {
    // In a pooled instance a guest task may keep a connection after
    // `handle` has returned; the idle timeout must still apply (no read
    // timeout here, so nothing else would close it).
    let net = NetConfig {
        reader: ReaderConfig {
            read_timeout: None,
            ..ReaderConfig::default()
        },
        ..NetConfig::default()
    };
    let server = server("test_handler", 1024, net, |s| {
        s.model = InstanceModel::Pooled {
            concurrency: 10,
            reuse: 100,
        };
        s.limits.idle_timeout = Some(Duration::from_millis(500));
    });
    let mut kept = Driver::connect(&server).await;
    kept.send(b"detach\n").await;
    let start = std::time::Instant::now();
    until_closed(&mut kept.stream).await;
    assert!(
        start.elapsed() >= Duration::from_millis(400),
        "closed after {:?}, before the idle timeout",
        start.elapsed()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_trickling_client_hits_the_read_timeout() {
    let net = NetConfig {
        reader: ReaderConfig {
            read_timeout: Some(Duration::from_millis(500)),
            ..ReaderConfig::default()
        },
        ..NetConfig::default()
    };
    let server = server("echo_lines", 64 * 1024, net, |_| {});
    let mut s = deadline(TcpStream::connect(server.tcp())).await.unwrap();
    // One byte every 100 ms never completes a line within the timeout.
    let trickle = async {
        for _ in 0..100 {
            if s.write_all(b"a").await.is_err() {
                return;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!("the trickling connection was never closed");
    };
    deadline(trickle).await;
    echo_once(&server, "fine\n").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_peer_that_never_reads_cannot_pin_a_flooding_handler() {
    let server = server("test_handler", 1024, NetConfig::default(), |s| {
        s.limits.idle_timeout = Some(Duration::from_secs(1));
    });
    let mut never_reads = Driver::connect(&server).await;
    never_reads.send(b"flood 1000000000\n").await;
    // The handler blocks in drain once the kernel buffers fill; the idle
    // timeout then closes the connection. Meanwhile others are served.
    let mut good = Driver::connect(&server).await;
    assert_eq!(good.call(b"read 4\ngood").await, ok(b"good"));
    assert_rss_bounded("while a handler floods a peer that never reads");
    until_closed(&mut never_reads.stream).await;
    // (The first good client went idle too, so ask on a new connection.)
    let mut later = Driver::connect(&server).await;
    assert_eq!(later.call(b"read 5\nstill").await, ok(b"still"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_200_mb_line_without_newline_is_refused_not_buffered() {
    let server = server("echo_lines", 64 * 1024, NetConfig::default(), |_| {});
    let mut s = deadline(TcpStream::connect(server.tcp())).await.unwrap();
    let chunk = vec![b'a'; 1 << 20];
    let mut sent = 0usize;
    let flood = async {
        while sent < 200 << 20 {
            match s.write_all(&chunk).await {
                Ok(()) => sent += chunk.len(),
                Err(_) => return,
            }
        }
    };
    deadline(flood).await;
    assert!(sent < 200 << 20, "the server took all {sent} bytes");
    assert_rss_bounded("after a 200 MB line");
    echo_once(&server, "short line\n").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reset_storm_leaves_the_server_serving() {
    let server = server("echo_lines", 64 * 1024, NetConfig::default(), |_| {});
    for i in 0..500 {
        let s = deadline(TcpStream::connect(server.tcp())).await.unwrap();
        let _ = s.try_write(b"partial line");
        // Close with SO_LINGER 0: the server sees a reset.
        s.set_zero_linger().unwrap();
        drop(s);
        if i % 100 == 0 {
            echo_once(&server, &format!("during {i}\n")).await;
        }
    }
    echo_once(&server, "after the storm\n").await;
    assert_rss_bounded("after 500 resets");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connections_beyond_the_limit_are_closed_at_once() {
    let server = server("test_handler", 1024, NetConfig::default(), |s| {
        s.limits.max_connections = 2;
    });
    let mut a = Driver::connect(&server).await;
    let mut b = Driver::connect(&server).await;
    assert_eq!(a.call(b"read 1\na").await, ok(b"a"));
    assert_eq!(b.call(b"read 1\nb").await, ok(b"b"));
    let mut c = Driver::connect(&server).await;
    assert_eq!(c.read_to_eof().await, b"", "the third connection is closed");
    drop(a);
    // A slot frees up once a connection ends.
    let served = deadline(async {
        loop {
            let mut d = Driver::connect(&server).await;
            d.send(b"read 1\nd").await;
            let mut head = [0u8; 1];
            if d.stream.read(&mut head).await.unwrap_or(0) == 1 {
                return;
            }
        }
    });
    served.await;
    assert_eq!(b.call(b"read 1\nb").await, ok(b"b"));
}
