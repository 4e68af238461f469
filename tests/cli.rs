//! The `wasio` binary as a user runs it: the seed's echo client against the
//! seed's echo server, and clear errors for bad input.

mod common;

use common::{STEP, deadline, guest};
use std::process::Stdio;
use tokio::io::{AsyncBufReadExt, BufReader, Lines};
use tokio::process::{Child, ChildStdout, Command};

const WASIO: &str = env!("CARGO_BIN_EXE_wasio");

/// Starts `wasio serve ARGS --listen 127.0.0.1:0`; returns the child, its
/// stdout lines after "Serving on", and the port.
async fn serve(args: &[&str]) -> (Child, Lines<BufReader<ChildStdout>>, u16) {
    let mut child = Command::new(WASIO)
        .env("XDG_CACHE_HOME", env!("CARGO_TARGET_TMPDIR"))
        .arg("serve")
        .args(args)
        .args(["--listen", "127.0.0.1:0"])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .expect("wasio starts");
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let first = deadline(lines.next_line())
        .await
        .unwrap()
        .expect("a first line");
    let port = first
        .strip_prefix("Serving on 127.0.0.1:")
        .unwrap_or_else(|| panic!("unexpected first line {first:?}"))
        .parse()
        .unwrap();
    (child, lines, port)
}

async fn wasio(args: &[&str]) -> std::process::Output {
    let child = Command::new(WASIO)
        .env("XDG_CACHE_HOME", env!("CARGO_TARGET_TMPDIR"))
        .args(args)
        .stdin(Stdio::null())
        .kill_on_drop(true)
        .output();
    tokio::time::timeout(STEP, child)
        .await
        .expect("wasio finished")
        .expect("wasio ran")
}

#[tokio::test]
async fn the_seed_client_talks_to_the_seed_server() {
    seed_exchange(&[], None).await;
}

/// One thread runs the current-thread scheduler, more the multi-thread one:
/// both serve and run.
#[tokio::test]
async fn the_seed_exchange_works_on_either_scheduler() {
    seed_exchange(&["--threads", "1"], None).await;
    seed_exchange(&["--threads", "2"], None).await;
}

/// A command lifted synchronously (`export_blocking_command!`) runs as the
/// async one does.
#[tokio::test]
async fn the_blocking_seed_client_talks_to_the_seed_server() {
    let client = guest("echo_client_blocking");
    seed_exchange(&[], Some(client.to_str().unwrap())).await;
}

/// The seed's echo client (the bundled one, or the `component` given)
/// against the seed's echo server, both with `threads` flags, checking
/// every line either prints.
async fn seed_exchange(threads: &[&str], component: Option<&str>) {
    let (mut server, mut server_out, port) = serve(threads).await;
    let port_arg = port.to_string();
    let mut client = vec!["run"];
    client.extend_from_slice(threads);
    // A component given by path gets no grant by default.
    let grant = format!("127.0.0.1:{port}");
    if let Some(component) = component {
        client.extend(["--allow-connect", &grant, component]);
    }
    client.extend(["--", "Hello World!", "127.0.0.1", &port_arg]);
    let out = wasio(&client).await;
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        String::from_utf8(out.stdout).unwrap(),
        "Send: 'Hello World!'\nReceived: 'Hello World!'\nClose the socket\n"
    );
    let mut next = async || deadline(server_out.next_line()).await.unwrap().unwrap();
    let received = next().await;
    assert!(
        received.starts_with("Received 'Hello World!' from ('127.0.0.1', "),
        "{received}"
    );
    assert_eq!(next().await, "Send: 'Hello World!'");
    assert_eq!(next().await, "Close the client socket");
    server.kill().await.unwrap();
}

fn stderr(out: &std::process::Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

#[tokio::test]
async fn a_missing_component_file_is_a_clear_error() {
    let out = wasio(&["serve", "/nonexistent/handler.wasm"]).await;
    assert!(!out.status.success());
    assert!(
        stderr(&out).contains("cannot read component file /nonexistent/handler.wasm"),
        "{}",
        stderr(&out)
    );
}

#[tokio::test]
async fn a_file_that_is_not_a_component_is_a_clear_error() {
    let path = std::env::temp_dir().join(format!("wasio-not-wasm-{}.wasm", std::process::id()));
    std::fs::write(&path, "not wasm").unwrap();
    let out = wasio(&["serve", path.to_str().unwrap()]).await;
    let _ = std::fs::remove_file(&path);
    assert!(!out.status.success());
    assert!(
        stderr(&out).contains("is not a valid WebAssembly component"),
        "{}",
        stderr(&out)
    );
}

#[tokio::test]
async fn a_component_of_the_wrong_world_is_a_clear_error() {
    let client = guest("echo_client");
    let out = wasio(&["serve", client.to_str().unwrap()]).await;
    assert!(!out.status.success());
    assert!(
        stderr(&out).contains("implements wasio:streams/command"),
        "{}",
        stderr(&out)
    );
    let server = guest("echo_server");
    let out = wasio(&["run", server.to_str().unwrap()]).await;
    assert!(!out.status.success());
    assert!(
        stderr(&out).contains("implements wasio:streams/handler"),
        "{}",
        stderr(&out)
    );
}

#[tokio::test]
async fn an_address_in_use_is_a_clear_error() {
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = taken.local_addr().unwrap().to_string();
    let out = wasio(&["serve", "--listen", &addr]).await;
    assert!(!out.status.success());
    let err = stderr(&out);
    assert!(
        err.contains(&format!("cannot listen on {addr}")) && err.contains("in use"),
        "{err}"
    );
}

#[tokio::test]
async fn bad_flags_are_usage_errors() {
    let out = wasio(&["serve", "--frobnicate"]).await;
    assert_eq!(out.status.code(), Some(2));
    let out = wasio(&["serve", "--listen", "nohost"]).await;
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("expected HOST:PORT"),
        "{}",
        stderr(&out)
    );
    let out = wasio(&["serve", "--limit", "0"]).await;
    assert_eq!(out.status.code(), Some(2));
    let out = wasio(&["--threads", "0", "serve"]).await;
    assert_eq!(out.status.code(), Some(2));
}

#[tokio::test]
async fn the_client_reports_a_refused_connection() {
    // A port that was free a moment ago: nothing listens there.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let out = wasio(&["run", "--", "hi", "127.0.0.1", &port.to_string()]).await;
    assert!(!out.status.success());
    assert!(
        stderr(&out).contains("connection-refused"),
        "{}",
        stderr(&out)
    );
}

#[tokio::test]
async fn help_explains_the_commands_and_flags() {
    let out = wasio(&["serve", "--help"]).await;
    let help = String::from_utf8(out.stdout).unwrap();
    for flag in [
        "--listen",
        "--allow-connect",
        "--allow-listen",
        "--limit",
        "--threads",
        "--write-buffer-cap",
        "--close-grace",
    ] {
        assert!(help.contains(flag), "serve --help lacks {flag}");
    }
}

#[tokio::test]
async fn sigterm_with_connections_open_exits_cleanly_within_the_grace_period() {
    let (mut server, _out, port) = serve(&["--shutdown-grace", "1"]).await;
    // Three clients that never send: their handlers wait in read(100).
    let mut clients = Vec::new();
    for _ in 0..3 {
        clients.push(
            deadline(tokio::net::TcpStream::connect(("127.0.0.1", port)))
                .await
                .unwrap(),
        );
    }
    // Let the server accept them before the signal.
    let mut probe = deadline(tokio::net::TcpStream::connect(("127.0.0.1", port)))
        .await
        .unwrap();
    {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        probe.write_all(b"ping").await.unwrap();
        let mut echo = [0u8; 4];
        deadline(probe.read_exact(&mut echo)).await.unwrap();
    }
    let pid = server.id().expect("running").to_string();
    let started = std::time::Instant::now();
    let kill = std::process::Command::new("kill")
        .args(["-TERM", &pid])
        .status()
        .unwrap();
    assert!(kill.success());
    let status = deadline(server.wait()).await.unwrap();
    let took = started.elapsed();
    assert!(status.success(), "exit status {status}");
    assert!(
        took < std::time::Duration::from_secs(2),
        "took {took:?}: more than the 1 s grace period plus one second"
    );
}
