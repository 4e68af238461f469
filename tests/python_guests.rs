//! Python guests: the seed's echo server and client written in Python
//! (examples/python, built with componentize-py by examples/python/build.sh)
//! against the Rust ones, in all four pairings, through the `wasio` binary;
//! and a check of the Python wrapper's whole API (streams_check).
//!
//! Each Python component is about 20 MB of Wasm that `wasio` compiles at
//! every start (6 to 12 s on 2 cores), so these tests compile one at a time.
//!
//! The Python components are built on first use (the script keeps them
//! while they are newer than their sources). When the Python toolchain
//! cannot be installed (no python3, or PyPI out of reach) the tests print
//! why and pass without running; `WASIO_REQUIRE_PYTHON=1` makes that a
//! failure instead.

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader, Lines};
use tokio::net::TcpStream;
use tokio::process::{Child, ChildStdout, Command};

const WASIO: &str = env!("CARGO_BIN_EXE_wasio");

/// The longest any test step may take before the test fails.
const STEP: Duration = Duration::from_secs(30);
/// A step that compiles a Python component (about 20 MB of Wasm: 6 to 12 s
/// with Cranelift on an idle 2-core machine) before it runs.
const COMPILE_STEP: Duration = Duration::from_secs(120);
/// The whole Python build: a venv, componentize-py from PyPI, two components
/// (about 30 s on 2 cores).
const BUILD: Duration = Duration::from_secs(600);

/// What the seed's client prints.
const CLIENT_OUTPUT: &str = "Send: 'Hello World!'\nReceived: 'Hello World!'\nClose the socket\n";

/// The Python components, or why they cannot be had.
enum PyGuests {
    Built(PathBuf),
    /// The toolchain cannot be installed: the tests skip, saying so.
    Unavailable(String),
}

/// Builds the Python components once per test process (the build script
/// does nothing when they are up to date).
fn python_guests() -> &'static PyGuests {
    static GUESTS: OnceLock<PyGuests> = OnceLock::new();
    GUESTS.get_or_init(build_python_guests)
}

fn build_python_guests() -> PyGuests {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap();
    let script = root.join("examples/python/build.sh");
    // The target directory the `wasio` binary is in (target/release/wasio).
    let target = Path::new(WASIO).parent().unwrap().parent().unwrap();
    let mut child = std::process::Command::new("bash")
        .arg(&script)
        .env("CARGO_TARGET_DIR", target)
        .stdin(Stdio::null())
        // The script's progress goes straight to the terminal (not captured
        // by the test harness): the first build takes a while.
        .stdout(Stdio::from(std::io::stderr()))
        .stderr(Stdio::inherit())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot run {}: {e}", script.display()));
    let start = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().expect("wait for build.sh") {
            break status;
        }
        if start.elapsed() > BUILD {
            let _ = child.kill();
            let _ = child.wait();
            panic!(
                "{} did not finish within {} s",
                script.display(),
                BUILD.as_secs()
            );
        }
        std::thread::sleep(Duration::from_millis(100));
    };
    match status.code() {
        Some(0) => PyGuests::Built(target.join("python")),
        // build.sh: the toolchain cannot be installed.
        Some(3) => PyGuests::Unavailable(format!(
            "{} could not install the Python toolchain (python3 with venv, and \
             componentize-py from PyPI); see its message above",
            script.display()
        )),
        _ => panic!("{} failed ({status})", script.display()),
    }
}

/// The Python component `name` (e.g. "echo_server"), or `None` after
/// printing why the test is skipped.
fn python(name: &str, test: &str) -> Option<PathBuf> {
    match python_guests() {
        PyGuests::Built(dir) => Some(dir.join(format!("{name}.wasm"))),
        PyGuests::Unavailable(why) => {
            if std::env::var_os("WASIO_REQUIRE_PYTHON").is_some_and(|v| v != "0") {
                panic!("{why} (and WASIO_REQUIRE_PYTHON is set)");
            }
            // Straight to stderr, past the harness's capture: a skip must
            // be seen.
            let _ = writeln!(std::io::stderr(), "SKIPPED python_guests::{test}: {why}");
            None
        }
    }
}

/// Runs `f` with a time bound, failing the test past it.
async fn within<T>(limit: Duration, what: &str, f: impl Future<Output = T>) -> T {
    tokio::time::timeout(limit, f)
        .await
        .unwrap_or_else(|_| panic!("{what}: no result within {} s", limit.as_secs()))
}

/// One test at a time compiles a Python component: two at once on 2 cores
/// would each take twice as long.
async fn compile_slot() -> tokio::sync::MutexGuard<'static, ()> {
    static SLOT: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());
    SLOT.lock().await
}

/// A `wasio serve` child on a free loopback port.
struct Server {
    child: Child,
    lines: Lines<BufReader<ChildStdout>>,
    port: u16,
    stderr: Arc<Mutex<String>>,
}

impl Server {
    /// Starts `wasio serve [COMPONENT] --listen 127.0.0.1:0 FLAGS` (the
    /// bundled Rust echo server without a component) and waits for
    /// "Serving on".
    async fn start(component: Option<&Path>, flags: &[&str]) -> Server {
        let mut cmd = Command::new(WASIO);
        // Compiled components are cached under target/, not in ~/.cache.
        cmd.env("XDG_CACHE_HOME", env!("CARGO_TARGET_TMPDIR"));
        cmd.arg("serve");
        if let Some(c) = component {
            cmd.arg(c);
        }
        let mut child = cmd
            .args(["--listen", "127.0.0.1:0"])
            .args(flags)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .expect("wasio starts");
        let stderr = Arc::new(Mutex::new(String::new()));
        let mut err_pipe = child.stderr.take().unwrap();
        let sink = stderr.clone();
        tokio::spawn(async move {
            let mut buf = [0; 4096];
            while let Ok(n @ 1..) = err_pipe.read(&mut buf).await {
                sink.lock()
                    .unwrap()
                    .push_str(&String::from_utf8_lossy(&buf[..n]));
            }
        });
        let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
        let limit = if component.is_some() {
            COMPILE_STEP
        } else {
            STEP
        };
        let first = within(limit, "wasio serve's first line", lines.next_line())
            .await
            .unwrap();
        let Some(first) = first else {
            let _ = within(STEP, "wasio serve exits", child.wait()).await;
            panic!(
                "wasio serve printed nothing: {}",
                stderr.lock().unwrap().clone()
            );
        };
        let port = first
            .strip_prefix("Serving on 127.0.0.1:")
            .unwrap_or_else(|| panic!("unexpected first line {first:?}"))
            .parse()
            .unwrap();
        Server {
            child,
            lines,
            port,
            stderr,
        }
    }

    /// The server's next stdout line.
    async fn next_line(&mut self) -> String {
        match within(STEP, "a server line", self.lines.next_line()).await {
            Ok(Some(line)) => line,
            other => panic!(
                "no server line ({other:?}); its stderr: {}",
                self.stderr.lock().unwrap()
            ),
        }
    }

    /// Checks that the server printed the seed's three lines for one client.
    async fn expect_seed_lines(&mut self) {
        let received = self.next_line().await;
        assert!(
            is_received_line(&received),
            "unexpected server line {received:?}"
        );
        assert_eq!(self.next_line().await, "Send: 'Hello World!'");
        assert_eq!(self.next_line().await, "Close the client socket");
    }

    async fn stop(mut self) {
        self.child.kill().await.unwrap();
    }
}

/// The seed server's first line: `Received 'Hello World!' from
/// ('127.0.0.1', PORT)`.
fn is_received_line(line: &str) -> bool {
    line.strip_prefix("Received 'Hello World!' from ('127.0.0.1', ")
        .and_then(|rest| rest.strip_suffix(')'))
        .is_some_and(|port| port.parse::<u16>().is_ok())
}

/// Runs `wasio run [COMPONENT] --allow-connect 127.0.0.1:PORT -- ARGS` (the
/// bundled Rust echo client without a component).
async fn run_client(component: Option<&Path>, args: &[&str], port: u16) -> std::process::Output {
    let mut cmd = Command::new(WASIO);
    // Compiled components are cached under target/, not in ~/.cache.
    cmd.env("XDG_CACHE_HOME", env!("CARGO_TARGET_TMPDIR"));
    cmd.arg("run");
    if let Some(c) = component {
        cmd.arg(c);
    }
    let out = cmd
        .args(["--allow-connect", &format!("127.0.0.1:{port}")])
        .arg("--")
        .args(args)
        .stdin(Stdio::null())
        .kill_on_drop(true)
        .output();
    let limit = if component.is_some() {
        COMPILE_STEP
    } else {
        STEP
    };
    within(limit, "wasio run", out).await.expect("wasio runs")
}

/// The seed's client (`client`, or the Rust one) against the seed's server
/// (`server`, or the Rust one), `connections` times in a row (each a fresh
/// server instance): both sides print the seed's lines.
async fn pairing(client: Option<&Path>, server: Option<&Path>, connections: usize) {
    let mut srv = {
        let _slot = compile_slot().await;
        Server::start(server, &[]).await
    };
    let port = srv.port.to_string();
    for _ in 0..connections {
        let out = {
            let _slot = compile_slot().await;
            run_client(client, &["Hello World!", "127.0.0.1", &port], srv.port).await
        };
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert!(
            out.status.success(),
            "the client failed ({}): {stdout}{}\nserver stderr: {}",
            out.status,
            String::from_utf8_lossy(&out.stderr),
            srv.stderr.lock().unwrap()
        );
        assert_eq!(stdout, CLIENT_OUTPUT);
        srv.expect_seed_lines().await;
    }
    srv.stop().await;
}

#[tokio::test]
async fn python_client_to_rust_server() {
    let Some(client) = python("echo_client", "python_client_to_rust_server") else {
        return;
    };
    pairing(Some(&client), None, 1).await;
}

#[tokio::test]
async fn rust_client_to_python_server() {
    let Some(server) = python("echo_server", "rust_client_to_python_server") else {
        return;
    };
    pairing(None, Some(&server), 3).await;
}

#[tokio::test]
async fn python_client_to_python_server() {
    let Some(client) = python("echo_client", "python_client_to_python_server") else {
        return;
    };
    let server = client.with_file_name("echo_server.wasm");
    pairing(Some(&client), Some(&server), 1).await;
}

#[tokio::test]
async fn rust_client_to_rust_server() {
    pairing(None, None, 1).await;
}

/// The Python client reports an error as asyncio's exception: here the
/// sandbox's refusal (no `--allow-connect`) as `PermissionError`.
#[tokio::test]
async fn python_client_reports_errors_as_exceptions() {
    let Some(client) = python("echo_client", "python_client_reports_errors_as_exceptions") else {
        return;
    };
    let _slot = compile_slot().await;
    let out = Command::new(WASIO)
        .env("XDG_CACHE_HOME", env!("CARGO_TARGET_TMPDIR"))
        .arg("run")
        .arg(&client)
        .args(["--", "hi", "127.0.0.1", "9"])
        .stdin(Stdio::null())
        .kill_on_drop(true)
        .output();
    let out = within(COMPILE_STEP, "wasio run", out).await.unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(
        stderr.contains("failed: PermissionError: connect to 127.0.0.1:9"),
        "{stderr}"
    );
}

/// The rest of the wrapper's API (examples/python/streams_check.py): every
/// read operation and exception on in-memory readers, and `start_server`
/// with a `client_connected_cb` plus a client of it in one Python instance.
#[tokio::test]
async fn the_python_streams_api_checks_pass() {
    let Some(check) = python("streams_check", "the_python_streams_api_checks_pass") else {
        return;
    };
    let _slot = compile_slot().await;
    let out = Command::new(WASIO)
        .env("XDG_CACHE_HOME", env!("CARGO_TARGET_TMPDIR"))
        .arg("run")
        .arg(&check)
        .args([
            "--allow-listen",
            "127.0.0.1:*",
            "--allow-connect",
            "127.0.0.1:*",
        ])
        .stdin(Stdio::null())
        .kill_on_drop(true)
        .output();
    let out = within(COMPILE_STEP, "wasio run", out).await.unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(stdout.ends_with("checks passed\n"), "{stdout}");
}

/// The pooled instance model: one Python instance serves many connections
/// at once (componentize-py runs each `handle` call as its own task) and
/// each gets the seed's echo and lines.
#[tokio::test]
async fn a_pooled_python_instance_serves_concurrent_connections() {
    const N: usize = 20;
    let Some(server) = python(
        "echo_server",
        "a_pooled_python_instance_serves_concurrent_connections",
    ) else {
        return;
    };
    let mut srv = {
        let _slot = compile_slot().await;
        Server::start(
            Some(&server),
            &["--instance-model", "pooled", "--pool-concurrency", "100"],
        )
        .await
    };
    // All connect and send before any reads its echo: N handlers wait in
    // the same instance at once.
    let mut streams = Vec::new();
    for _ in 0..N {
        let mut stream = within(STEP, "connect", TcpStream::connect(("127.0.0.1", srv.port)))
            .await
            .expect("connect");
        within(STEP, "send", stream.write_all(b"Hello World!"))
            .await
            .unwrap();
        streams.push(stream);
    }
    for mut stream in streams {
        let mut echo = Vec::new();
        within(STEP, "echo", stream.read_to_end(&mut echo))
            .await
            .unwrap();
        assert_eq!(echo, b"Hello World!");
    }
    // N times the seed's three lines; concurrent handlers may interleave.
    let mut lines = Vec::new();
    for _ in 0..3 * N {
        lines.push(srv.next_line().await);
    }
    let count = |f: &dyn Fn(&str) -> bool| lines.iter().filter(|l| f(l)).count();
    assert_eq!(count(&|l| is_received_line(l)), N, "{lines:#?}");
    assert_eq!(count(&|l| l == "Send: 'Hello World!'"), N, "{lines:#?}");
    assert_eq!(count(&|l| l == "Close the client socket"), N, "{lines:#?}");
    srv.stop().await;
}
