//! Every reader operation, driven by a native Tokio client over real TCP
//! through the `test-handler` guest component (see its command protocol);
//! those the blocking guest API has too also through `test-blocking`, so
//! both handler styles are held to the same semantics.
//! The server's reader limit is 32 bytes, so limit rules show with small
//! data.

mod common;

use common::{Driver, Reply, TestServer, deadline, ok, serve_tcp};
use wasio::net::NetConfig;

const LIMIT: usize = 32;

fn server() -> TestServer {
    serve_tcp("test_handler", LIMIT, NetConfig::default())
}

/// A server of each handler style: async (`test-handler`) and blocking
/// (`test-blocking`).
fn servers() -> [TestServer; 2] {
    ["test_handler", "test_blocking"].map(|c| serve_tcp(c, LIMIT, NetConfig::default()))
}

fn err(kind: &str) -> Reply {
    Reply::Err(kind.to_string(), Vec::new())
}

/// Half-closes the client's side (the server then sees EOF).
async fn shutdown(d: &mut Driver) {
    use tokio::io::AsyncWriteExt;
    deadline(d.stream.shutdown()).await.expect("shutdown");
}

#[tokio::test]
async fn readline_returns_one_line_at_a_time() {
    for server in servers() {
        let mut d = Driver::connect(&server).await;
        assert_eq!(d.call(b"readline\nhello\n").await, ok(b"hello\n"));
        // The line arrives in two segments: readline waits for the rest.
        d.send(b"readline\nhel").await;
        d.send(b"lo again\n").await;
        assert_eq!(d.reply().await, ok(b"hello again\n"));
    }
}

#[tokio::test]
async fn readline_over_the_limit_is_limit_overrun_and_the_line_is_discarded() {
    for server in servers() {
        let mut d = Driver::connect(&server).await;
        let mut msg = b"readline\n".to_vec();
        msg.extend_from_slice(&[b'a'; 40]);
        msg.extend_from_slice(b"\nreadline\nnext\n");
        d.send(&msg).await;
        assert_eq!(d.reply().await, err("limit-overrun 40"));
        assert_eq!(d.reply().await, ok(b"next\n"));
    }
}

#[tokio::test]
async fn readline_at_eof_returns_the_partial_line() {
    for server in servers() {
        let mut d = Driver::connect(&server).await;
        d.send(b"readline\npartial").await;
        shutdown(&mut d).await;
        assert_eq!(d.reply().await, ok(b"partial"));
        assert_eq!(
            d.read_to_eof().await,
            b"",
            "the handler ends at EOF and closes"
        );
    }
}

#[tokio::test]
async fn read_n_returns_up_to_n_and_read_zero_is_empty() {
    for server in servers() {
        let mut d = Driver::connect(&server).await;
        assert_eq!(d.call(b"read 5\nabcde").await, ok(b"abcde"));
        assert_eq!(d.call(b"read 0\n").await, ok(b""));
        assert_eq!(d.call(b"read 100\nxyz").await, ok(b"xyz"));
    }
}

#[tokio::test]
async fn read_to_eof_may_exceed_the_limit() {
    for server in servers() {
        let mut d = Driver::connect(&server).await;
        let body: Vec<u8> = (0..10 * LIMIT as u32).map(|i| (i % 251) as u8).collect();
        d.send(b"read -1\n").await;
        d.send(&body).await;
        shutdown(&mut d).await;
        assert_eq!(d.reply().await, Reply::Ok(body));
    }
}

#[tokio::test]
async fn readexactly_waits_across_segments_and_beyond_the_limit() {
    for server in servers() {
        let mut d = Driver::connect(&server).await;
        d.send(b"readexactly 10\n12345").await;
        d.send(b"67890").await;
        assert_eq!(d.reply().await, ok(b"1234567890"));
        let big = vec![b'z'; 10 * LIMIT];
        d.send(format!("readexactly {}\n", big.len()).as_bytes())
            .await;
        d.send(&big).await;
        assert_eq!(d.reply().await, Reply::Ok(big));
    }
}

#[tokio::test]
async fn readexactly_at_eof_is_incomplete_read_with_expected() {
    for server in servers() {
        let mut d = Driver::connect(&server).await;
        d.send(b"readexactly 10\nabc").await;
        shutdown(&mut d).await;
        assert_eq!(
            d.reply().await,
            Reply::Err("incomplete-read 10".into(), b"abc".to_vec())
        );
    }
}

#[tokio::test]
async fn readuntil_returns_data_with_its_separator() {
    for server in servers() {
        let mut d = Driver::connect(&server).await;
        // Separator "--" (hex 2d2d), split across two segments.
        d.send(b"readuntil 2d2d\nab-").await;
        d.send(b"-").await;
        assert_eq!(d.reply().await, ok(b"ab--"));
    }
}

#[tokio::test]
async fn readuntil_at_eof_is_incomplete_read_without_expected() {
    for server in servers() {
        let mut d = Driver::connect(&server).await;
        d.send(b"readuntil 2d2d\nabc-").await;
        shutdown(&mut d).await;
        assert_eq!(
            d.reply().await,
            Reply::Err("incomplete-read none".into(), b"abc-".to_vec())
        );
    }
}

#[tokio::test]
async fn readuntil_past_the_limit_is_limit_overrun_with_consumed() {
    for server in servers() {
        let mut d = Driver::connect(&server).await;
        let mut msg = b"readuntil 2d2d\n".to_vec();
        msg.extend_from_slice(&[b'x'; 40]);
        msg.extend_from_slice(b"--");
        d.send(&msg).await;
        // Found, but it starts at 40 > limit: consumed is where it starts.
        assert_eq!(d.reply().await, err("limit-overrun 40"));
    }
}

#[tokio::test]
async fn readuntil_any_returns_the_shortest_match() {
    let server = server();
    let mut d = Driver::connect(&server).await;
    // Separators "X" and "A": "bA" ends before "bAX".
    d.send(b"readuntil-any 58,41\nbAX\n").await;
    assert_eq!(d.reply().await, ok(b"bA"));
    // What was left ("X\n") is read as the next command line.
    assert_eq!(d.reply().await, err("invalid-argument"));
}

#[tokio::test]
async fn at_eof_is_false_with_data_left_and_true_after_reading_read_to_eof() {
    let server = server();
    let mut d = Driver::connect(&server).await;
    d.send(b"eof-probe\ntail").await;
    shutdown(&mut d).await;
    assert_eq!(d.reply().await, ok(b"01:tail"));
}

#[tokio::test]
async fn a_second_waiting_read_is_invalid_state() {
    let server = server();
    let mut d = Driver::connect(&server).await;
    assert_eq!(d.call(b"concurrent-reads\n").await, ok(b"x:invalid-state"));
}

#[tokio::test]
async fn get_extra_info_reports_peer_and_socket_names() {
    for server in servers() {
        let mut d = Driver::connect(&server).await;
        let me = d.stream.local_addr().unwrap();
        let expected = format!("('127.0.0.1', {})", me.port());
        assert_eq!(d.call(b"extra peername\n").await, ok(expected.as_bytes()));
        let expected = format!("('127.0.0.1', {})", server.tcp().port());
        assert_eq!(d.call(b"extra sockname\n").await, ok(expected.as_bytes()));
        assert_eq!(d.call(b"extra bogus\n").await, ok(b"None"));
    }
}

#[tokio::test]
async fn write_eof_half_closes_and_the_client_can_still_send() {
    let server = server();
    let mut d = Driver::connect(&server).await;
    assert_eq!(d.call(b"write-eof\n").await, ok(b""));
    // The server's side is shut: EOF while ours is still open.
    assert_eq!(d.read_to_eof().await, b"");
    // Our side still works: the handler reads this command and closes.
    d.send(b"quit\n").await;
}
