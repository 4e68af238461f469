//! Connections through real components: many at once, Unix sockets, traps,
//! the sandbox, write flow control; and the host's writer over real
//! sockets.

mod common;

use bytes::Bytes;
use common::{Driver, Reply, deadline, ok, serve_on, serve_tcp};
use std::time::Duration;
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::{TcpListener, TcpStream, UnixStream};
use wasio::net::{Endpoint, Listener, NetConfig, Policy, Socket, StreamWriter, WriterConfig};
use wasio::streams::StreamError;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_thousand_concurrent_connections_each_echo_correctly() {
    const N: usize = 1000;
    rlimit::increase_nofile_limit(u64::MAX).ok();
    let server = serve_tcp("echo_lines", 64 * 1024, NetConfig::default());
    let addr = server.tcp();
    // All connect first, so that all 1,000 are open at the same time.
    let mut clients = Vec::with_capacity(N);
    for _ in 0..N {
        clients.push(deadline(TcpStream::connect(addr)).await.expect("connect"));
    }
    let mut tasks = tokio::task::JoinSet::new();
    for (i, stream) in clients.into_iter().enumerate() {
        tasks.spawn(async move {
            let mut stream = BufReader::new(stream);
            let line = format!("client {i} says hello\n");
            stream.get_mut().write_all(line.as_bytes()).await.unwrap();
            let mut echo = String::new();
            stream.read_line(&mut echo).await.unwrap();
            assert_eq!(echo, line);
            // Half-close: the handler sees EOF and closes its side.
            stream.get_mut().shutdown().await.unwrap();
            let mut rest = Vec::new();
            stream.read_to_end(&mut rest).await.unwrap();
            assert!(rest.is_empty());
        });
    }
    let mut done = 0;
    while let Some(result) = deadline(tasks.join_next()).await {
        result.expect("client task");
        done += 1;
    }
    assert_eq!(done, N);
}

#[tokio::test]
async fn unix_socket_echo() {
    let dir = std::env::temp_dir().join(format!("wasio-test-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("echo.sock");
    let listener = Listener::bind_unix(&path, 16).expect("bind unix");
    let server = serve_on(listener, "echo_lines", 1024, NetConfig::default());
    let stream = deadline(UnixStream::connect(&path)).await.expect("connect");
    let mut stream = BufReader::new(stream);
    for line in ["one\n", "two\n"] {
        stream.get_mut().write_all(line.as_bytes()).await.unwrap();
        let mut echo = String::new();
        deadline(stream.read_line(&mut echo)).await.unwrap();
        assert_eq!(echo, line);
    }
    drop(server);
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test]
async fn a_trapping_guest_ends_only_its_own_connection() {
    let server = serve_tcp("test_handler", 1024, NetConfig::default());
    let mut good = Driver::connect(&server).await;
    let mut bad = Driver::connect(&server).await;
    assert_eq!(good.call(b"readline\nbefore\n").await, ok(b"before\n"));
    bad.send(b"panic\n").await;
    assert_eq!(
        bad.read_to_eof().await,
        b"",
        "the trapped connection is closed"
    );
    assert_eq!(good.call(b"readline\nafter\n").await, ok(b"after\n"));
    // And new connections are still served.
    let mut fresh = Driver::connect(&server).await;
    assert_eq!(fresh.call(b"read 3\nnew").await, ok(b"new"));
}

#[tokio::test]
async fn connects_outside_the_allow_list_are_not_permitted() {
    let target = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = target.local_addr().unwrap().port();
    let granted: Endpoint = format!("127.0.0.1:{port}").parse().unwrap();
    let net = NetConfig {
        policy: Policy {
            connect: vec![granted],
            listen: vec![],
        },
        ..NetConfig::default()
    };
    let server = serve_tcp("test_handler", 1024, net);
    let mut d = Driver::connect(&server).await;
    let other = port.wrapping_add(1).max(1);
    let denied = format!("connect 127.0.0.1 {other}\n");
    assert_eq!(
        d.call(denied.as_bytes()).await,
        Reply::Err("not-permitted".into(), vec![])
    );
    assert_eq!(
        d.call(b"connect localhost 80\n").await,
        Reply::Err("not-permitted".into(), vec![])
    );
    let allowed = format!("connect 127.0.0.1 {port}\n");
    assert_eq!(d.call(allowed.as_bytes()).await, ok(b""));
    deadline(target.accept())
        .await
        .expect("the granted connect arrived");
}

#[tokio::test]
async fn a_guest_flooding_a_slow_reader_stays_within_the_water_marks() {
    flood_a_slow_reader("test_handler").await;
}

#[tokio::test]
async fn a_blocking_guest_flooding_a_slow_reader_stays_within_the_water_marks() {
    // Its drain blocks on its own stack until the peer catches up.
    flood_a_slow_reader("test_blocking").await;
}

/// `flood`s 16 MiB at a client that reads slowly, checking every byte
/// and the most the host buffered.
async fn flood_a_slow_reader(component: &str) {
    const TOTAL: usize = 16 * 1024 * 1024;
    let server = serve_tcp(component, 1024, NetConfig::default());
    let mut d = Driver::connect(&server).await;
    d.send(format!("flood {TOTAL}\n").as_bytes()).await;
    // Read in small steps, well behind the writer.
    let mut received = 0usize;
    let mut buf = vec![0u8; 4096];
    while received < TOTAL {
        let want = buf.len().min(TOTAL - received);
        let n = deadline(d.stream.read(&mut buf[..want])).await.unwrap();
        assert!(n > 0, "connection closed after {received} bytes");
        for (k, byte) in buf[..n].iter().enumerate() {
            assert_eq!(*byte, ((received + k) % 251) as u8, "byte {}", received + k);
        }
        received += n;
    }
    let Reply::Ok(max) = d.reply().await else {
        panic!("flood failed")
    };
    let max: usize = String::from_utf8(max).unwrap().parse().unwrap();
    // drain() waits above 64 KiB until 16 KiB: the guest never had more
    // than one 64 KiB write on top of the high-water mark buffered.
    assert!(max <= 128 * 1024, "host buffered {max} bytes");
}

/// A connected pair: our writer on one end, a raw peer on the other.
async fn writer_pair(config: &WriterConfig) -> (StreamWriter, TcpStream) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let client = TcpStream::connect(listener.local_addr().unwrap());
    let (client, accepted) = tokio::join!(client, listener.accept());
    let socket = std::sync::Arc::new(Socket::from(accepted.unwrap().0));
    (StreamWriter::new(socket, config), client.unwrap())
}

/// True when `fut` cannot complete right now (polled exactly once).
async fn is_pending<F: std::future::Future>(fut: F) -> bool {
    tokio::time::timeout(Duration::ZERO, fut).await.is_err()
}

/// Writes until the kernel's buffers are full and the writer's buffer is
/// past the default high-water mark (the peer must not be reading).
/// Returns the bytes written.
fn fill_past_high_water(writer: &StreamWriter) -> usize {
    let chunk = Bytes::from(vec![7u8; 64 * 1024]);
    let mut written = 0usize;
    while writer.write_buffer_size() <= 64 * 1024 {
        writer.write(chunk.clone()).expect("write below the cap");
        written += chunk.len();
        assert!(written < 256 * 1024 * 1024, "the socket never filled up");
    }
    written
}

#[tokio::test]
async fn drain_waits_while_the_peer_does_not_read_and_resumes_when_it_does() {
    let (writer, mut peer) = writer_pair(&WriterConfig::default()).await;
    let written = fill_past_high_water(&writer);
    assert!(
        is_pending(writer.drain()).await,
        "drain must wait above the high-water mark"
    );
    assert!(writer.write_buffer_size() <= WriterConfig::default().buffer_cap);
    // The peer reads everything: drain completes.
    let reader = tokio::spawn(async move {
        let mut buf = vec![0u8; 1 << 16];
        let mut total = 0;
        while total < written {
            total += peer.read(&mut buf).await.unwrap();
        }
        total
    });
    deadline(writer.drain()).await.expect("drain resumes");
    assert_eq!(deadline(reader).await.unwrap(), written);
}

#[tokio::test]
async fn try_drain_answers_at_once_only_when_drain_would_not_wait() {
    let (writer, _peer_never_reads) = writer_pair(&WriterConfig::default()).await;
    writer.write(Bytes::from_static(b"hello")).unwrap();
    assert_eq!(
        writer.try_drain(),
        Some(Ok(())),
        "below the high-water mark"
    );
    // A loop of writes and drains is sent through `drain` now and then, so
    // that it spends Tokio's budget: after 32 answers in a row, none until
    // `drain` is called.
    let answered = 1
        + (0..100)
            .take_while(|_| writer.try_drain().is_some())
            .count();
    assert_eq!(answered, 32);
    assert_eq!(writer.try_drain(), None);
    deadline(writer.drain()).await.expect("drain completes");
    assert_eq!(writer.try_drain(), Some(Ok(())), "drain starts a new count");
    // Above the high-water mark drain would wait, so try_drain refuses.
    fill_past_high_water(&writer);
    assert_eq!(writer.try_drain(), None);
    // Once the connection is gone, drain's answer is its error, at once.
    writer.abort();
    assert!(matches!(writer.try_drain(), Some(Err(_))));
}

#[tokio::test]
async fn drain_readiness_resolves_when_try_drain_would_answer() {
    let (writer, mut peer) = writer_pair(&WriterConfig::default()).await;
    // A refusal only to make the caller yield: ready at once, after which
    // try_drain answers again.
    writer.write(Bytes::from_static(b"hello")).unwrap();
    while writer.try_drain().is_some() {}
    assert!(!is_pending(writer.drain_readiness()).await, "ready at once");
    assert_eq!(writer.try_drain(), Some(Ok(())));

    // Above the high-water mark: pending until the peer has read enough.
    let written = fill_past_high_water(&writer);
    assert!(is_pending(writer.drain_readiness()).await);
    assert_eq!(writer.try_drain(), None);
    let reader = tokio::spawn(async move {
        let mut buf = vec![0u8; 1 << 16];
        let mut total = 0;
        while total < written + 5 {
            total += peer.read(&mut buf).await.unwrap();
        }
        peer
    });
    deadline(writer.drain_readiness()).await;
    assert_eq!(writer.try_drain(), Some(Ok(())));
    let _peer = deadline(reader).await.unwrap();

    // A lost connection: ready, and try_drain answers with the error.
    fill_past_high_water(&writer);
    writer.abort();
    deadline(writer.drain_readiness()).await;
    assert!(matches!(writer.try_drain(), Some(Err(_))));
}

#[tokio::test]
async fn write_and_check_drain_writes_and_answers_as_try_drain_would() {
    let (writer, mut peer) = writer_pair(&WriterConfig::default()).await;
    assert_eq!(writer.write_and_check_drain(b"hello"), Ok(true));
    let mut buf = [0u8; 5];
    deadline(peer.read_exact(&mut buf)).await.unwrap();
    assert_eq!(&buf, b"hello", "the bytes were written");
    // It counts as a `try_drain` answer: a write loop still yields.
    let answered = 1
        + (0..100)
            .take_while(|_| writer.write_and_check_drain(b"x") == Ok(true))
            .count();
    assert_eq!(answered, 32);
    deadline(writer.drain()).await.expect("drain completes");
    // Above the high-water mark: written, but drain must be called.
    fill_past_high_water(&writer);
    let before = writer.write_buffer_size();
    assert_eq!(writer.write_and_check_drain(b"queued"), Ok(false));
    assert_eq!(writer.write_buffer_size(), before + 6);
    // After the connection is gone it fails as `write` does.
    writer.abort();
    assert!(writer.write_and_check_drain(b"lost").is_err());
}

#[tokio::test]
async fn the_write_buffer_cap_refuses_writes_instead_of_growing() {
    let config = WriterConfig {
        buffer_cap: 256 * 1024,
        ..WriterConfig::default()
    };
    let (writer, _peer) = writer_pair(&config).await;
    let chunk = Bytes::from(vec![1u8; 64 * 1024]);
    let mut refused = None;
    for _ in 0..10_000 {
        if let Err(e) = writer.write(chunk.clone()) {
            refused = Some(e);
            break;
        }
    }
    assert_eq!(refused, Some(StreamError::WriteBufferFull(256 * 1024)));
    assert!(writer.write_buffer_size() <= 256 * 1024);
}

#[tokio::test]
async fn writes_after_close_fail_and_wait_closed_is_bounded() {
    let config = WriterConfig {
        close_grace: Duration::from_millis(200),
        ..WriterConfig::default()
    };
    let (writer, _peer_never_reads) = writer_pair(&config).await;
    let chunk = Bytes::from(vec![1u8; 64 * 1024]);
    while writer.write_buffer_size() == 0 {
        writer.write(chunk.clone()).unwrap();
    }
    writer.close();
    assert_eq!(writer.write(chunk.clone()), Err(StreamError::Closed));
    assert_eq!(writer.write_eof(), Err(StreamError::Closed));
    // The peer never reads, yet wait_closed returns after the grace period.
    deadline(writer.wait_closed()).await.unwrap();
    assert!(writer.is_closing());
}

#[tokio::test]
async fn writing_to_a_vanished_peer_fails_instead_of_dropping_data() {
    let (writer, peer) = writer_pair(&WriterConfig::default()).await;
    // The peer closes with unread data pending: a reset follows.
    drop(peer);
    let chunk = Bytes::from(vec![1u8; 16 * 1024]);
    let result = deadline(async {
        loop {
            if let Err(e) = writer.write(chunk.clone()) {
                return e;
            }
            if let Err(e) = writer.drain().await {
                return e;
            }
            tokio::task::yield_now().await;
        }
    })
    .await;
    assert!(
        matches!(result, StreamError::ConnectionReset(_)),
        "{result:?}"
    );
}
