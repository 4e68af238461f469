//! The `no_std` handlers (`echo-raw`, `echo-lines` and `echo-raw-async`:
//! wasio-guest without its `std` feature, see
//! guest/wasio-guest/src/runtime.rs): they
//! link none of std's WASI start-up, their heap grows past the initial
//! memory as a std guest's does, and a handler error still reaches stderr.

mod common;

use common::{STEP, deadline, guest, serve_tcp};
use std::process::Stdio;
use std::time::Duration;
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpStream;
use tokio::process::Command;
use wasio::component::Runtime;
use wasio::net::NetConfig;

/// The imports a `no_std` handler may have: wasio's interface and the
/// `wasi:io/poll` it uses (its readers' pollables), what writing to stderr
/// needs, and the world's own types (the reader and writer resources
/// `handle` takes, plain names).
fn allowed(import: &str) -> bool {
    let interfaces = [
        "wasio:streams/",
        "wasi:io/poll@",
        "wasi:cli/stderr@",
        "wasi:io/streams@",
        "wasi:io/error@",
    ];
    !import.contains(':') || interfaces.iter().any(|prefix| import.starts_with(prefix))
}

#[test]
fn the_no_std_handlers_import_only_streams_and_stderr() {
    let runtime = Runtime::new().expect("engine");
    for name in ["echo_raw", "echo_lines", "echo_raw_async"] {
        let loaded = runtime.load_file(&guest(name)).expect("component loads");
        let ty = loaded.component.component_type();
        let imports: Vec<String> = ty
            .imports(loaded.component.engine())
            .map(|(import, _)| import.to_string())
            .collect();
        assert!(
            imports.iter().any(|i| i.starts_with("wasio:streams/")),
            "{name}: {imports:?}"
        );
        let extra: Vec<&String> = imports.iter().filter(|i| !allowed(i)).collect();
        assert!(
            extra.is_empty(),
            "{name} links std's WASI start-up (built in a group with std components?): {extra:?}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_no_std_heap_grows_and_reuses_memory_for_lines_of_a_mebibyte() {
    const LIMIT: usize = 2 * 1024 * 1024;
    let server = serve_tcp("echo_lines", LIMIT, NetConfig::default());
    let stream = deadline(TcpStream::connect(server.tcp())).await.unwrap();
    let (read_half, mut write_half) = stream.into_split();
    let mut reader = BufReader::new(read_half);
    // Past the initial memory's free end (a few KiB) at once, then smaller
    // and larger again: the allocator grows, frees and reuses.
    for (i, size) in [1, 100_000, 1 << 20, 300_000, 1 << 20, 10]
        .into_iter()
        .enumerate()
    {
        let mut line: Vec<u8> = (0..size - 1).map(|j| b'a' + ((i + j) % 26) as u8).collect();
        line.push(b'\n');
        let writer = write_half.write_all(&line);
        let mut echoed = Vec::with_capacity(size);
        let (written, read) =
            deadline(async { tokio::join!(writer, reader.read_until(b'\n', &mut echoed)) }).await;
        written.unwrap();
        assert_eq!(read.unwrap(), size);
        assert!(
            echoed == line,
            "line {i} of {size} bytes came back different"
        );
    }
    write_half.shutdown().await.unwrap();
    let mut rest = Vec::new();
    deadline(reader.read_to_end(&mut rest)).await.unwrap();
    assert!(rest.is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_async_no_std_handler_echoes_small_and_large_writes() {
    let server = serve_tcp("echo_raw_async", 64 * 1024, NetConfig::default());
    let stream = deadline(TcpStream::connect(server.tcp())).await.unwrap();
    let (mut read_half, mut write_half) = stream.into_split();
    // 64 bytes, then 1 MiB: reads of up to 64 KiB each, the heap growing
    // to hold them, drain waiting while the echo backs up.
    for size in [64, 1 << 20] {
        let sent: Vec<u8> = (0..size).map(|i| (i % 251) as u8).collect();
        let mut echoed = vec![0; size];
        let (written, read) = deadline(async {
            tokio::join!(
                write_half.write_all(&sent),
                read_half.read_exact(&mut echoed)
            )
        })
        .await;
        written.unwrap();
        read.unwrap();
        assert!(echoed == sent, "{size} bytes came back different");
    }
    write_half.shutdown().await.unwrap();
    let mut rest = Vec::new();
    deadline(read_half.read_to_end(&mut rest)).await.unwrap();
    assert!(rest.is_empty());
}

#[tokio::test]
async fn a_no_std_handler_reports_its_error_on_stderr() {
    let component = guest("echo_raw");
    let mut child = Command::new(env!("CARGO_BIN_EXE_wasio"))
        .env("XDG_CACHE_HOME", env!("CARGO_TARGET_TMPDIR"))
        .arg("serve")
        .arg(&component)
        .args(["--listen", "127.0.0.1:0"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .expect("wasio starts");
    let mut stdout = BufReader::new(child.stdout.take().unwrap()).lines();
    let first = deadline(stdout.next_line()).await.unwrap().unwrap();
    let port: u16 = first
        .strip_prefix("Serving on 127.0.0.1:")
        .unwrap_or_else(|| panic!("unexpected first line {first:?}"))
        .parse()
        .unwrap();

    // One echo, so the handler is in its next `read`; then a reset, which
    // that read returns as an error.
    let mut client = deadline(TcpStream::connect(("127.0.0.1", port)))
        .await
        .unwrap();
    client.write_all(b"ping").await.unwrap();
    let mut echo = [0; 4];
    deadline(client.read_exact(&mut echo)).await.unwrap();
    assert_eq!(&echo, b"ping");
    client.set_zero_linger().unwrap();
    drop(client);

    let mut stderr = BufReader::new(child.stderr.take().unwrap()).lines();
    let line = tokio::time::timeout(STEP, async {
        while let Some(line) = stderr.next_line().await.unwrap() {
            if line.starts_with("handler error: ") {
                return line;
            }
        }
        panic!("wasio's stderr ended without the handler's error");
    })
    .await
    .expect("the handler's error within the time bound");
    assert!(line.contains("connection-reset"), "{line}");
    child.kill().await.unwrap();
    let _ = tokio::time::timeout(Duration::from_secs(5), child.wait()).await;
}
