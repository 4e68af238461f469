//! Shared test helpers: an in-process `wasio` server on a loopback port
//! running a guest component, and small client helpers. Every wait is
//! bounded by [`deadline`].

#![allow(dead_code)]

use std::future::Future;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::sync::oneshot;
use wasio::component::Runtime;
use wasio::component::engine::InstanceLimits;
use wasio::net::{Address, Listener, NetConfig};
use wasio::serve::{Service, serve};

/// The longest any test step may take before the test fails.
pub const STEP: Duration = Duration::from_secs(30);

/// Runs `f` with a time bound, failing the test past it.
pub async fn deadline<T>(f: impl Future<Output = T>) -> T {
    tokio::time::timeout(STEP, f)
        .await
        .expect("test step timed out")
}

/// A guest component built by build.rs, by crate name with underscores.
pub fn guest(name: &str) -> PathBuf {
    Path::new(wasio::bundled::GUEST_DIR).join(format!("{name}.wasm"))
}

/// A running in-process server; stops when dropped.
pub struct TestServer {
    /// Where it listens.
    pub addr: Address,
    _stop: oneshot::Sender<()>,
}

impl TestServer {
    /// The TCP address (panics for a Unix server).
    pub fn tcp(&self) -> SocketAddr {
        match &self.addr {
            Address::Inet(a) => *a,
            other => panic!("not a TCP server: {other}"),
        }
    }
}

/// Serves the guest `component` on `listener` with reader `limit`.
pub fn serve_on(listener: Listener, component: &str, limit: usize, net: NetConfig) -> TestServer {
    serve_with(
        listener,
        component,
        limit,
        net,
        InstanceLimits::default(),
        |_| {},
    )
}

/// Serves with explicit instance limits, and `adjust` to change the
/// service (server limits, instance model) before it starts.
pub fn serve_with(
    listener: Listener,
    component: &str,
    limit: usize,
    net: NetConfig,
    limits: InstanceLimits,
    adjust: impl FnOnce(&mut Service),
) -> TestServer {
    let runtime = Runtime::with_limits(limits).expect("engine");
    let loaded = runtime
        .load_file(&guest(component))
        .expect("component loads");
    let handler = runtime
        .handler_pre(&loaded, component)
        .expect("a handler component");
    let addr = listener.local_addr().expect("bound");
    let mut service = Service::new(runtime, handler, net, limit);
    adjust(&mut service);
    let service = Arc::new(service);
    let (stop, stopped) = oneshot::channel::<()>();
    tokio::spawn(serve(service, vec![listener], async move {
        let _ = stopped.await;
    }));
    TestServer { addr, _stop: stop }
}

/// Serves `component` on 127.0.0.1 at a free port.
pub fn serve_tcp(component: &str, limit: usize, net: NetConfig) -> TestServer {
    let listener = Listener::bind_tcp("127.0.0.1:0".parse().unwrap(), 1024).expect("bind");
    serve_on(listener, component, limit, net)
}

/// A client of the test-handler's command protocol.
pub struct Driver {
    pub stream: TcpStream,
}

/// One answer of the test handler.
#[derive(Debug, PartialEq, Eq)]
pub enum Reply {
    /// `ok <len>\n<data>`
    Ok(Vec<u8>),
    /// `err <kind> [details]\n` (incomplete-read's partial bytes follow).
    Err(String, Vec<u8>),
}

impl Driver {
    /// Connects to `server`.
    pub async fn connect(server: &TestServer) -> Self {
        let stream = deadline(TcpStream::connect(server.tcp()))
            .await
            .expect("connect");
        stream.set_nodelay(true).unwrap();
        Self { stream }
    }

    /// Sends raw bytes.
    pub async fn send(&mut self, bytes: &[u8]) {
        deadline(self.stream.write_all(bytes)).await.expect("send");
    }

    /// Reads one header line.
    async fn line(&mut self) -> String {
        let mut line = Vec::new();
        loop {
            let byte = deadline(self.stream.read_u8()).await.expect("reply header");
            if byte == b'\n' {
                return String::from_utf8(line).expect("ASCII header");
            }
            line.push(byte);
        }
    }

    /// Reads exactly `n` bytes.
    pub async fn exact(&mut self, n: usize) -> Vec<u8> {
        let mut data = vec![0; n];
        deadline(self.stream.read_exact(&mut data))
            .await
            .expect("reply body");
        data
    }

    /// Reads one reply.
    pub async fn reply(&mut self) -> Reply {
        let header = self.line().await;
        let words: Vec<&str> = header.split(' ').collect();
        match words.as_slice() {
            ["ok", len] => Reply::Ok(self.exact(len.parse().unwrap()).await),
            ["err", "incomplete-read", expected, len] => {
                let partial = self.exact(len.parse().unwrap()).await;
                Reply::Err(format!("incomplete-read {expected}"), partial)
            }
            ["err", rest @ ..] => Reply::Err(rest.join(" "), Vec::new()),
            _ => panic!("bad reply header {header:?}"),
        }
    }

    /// Sends a command (and any data after it) and reads the reply.
    pub async fn call(&mut self, bytes: &[u8]) -> Reply {
        self.send(bytes).await;
        self.reply().await
    }

    /// Reads until the server closes; returns what came.
    pub async fn read_to_eof(&mut self) -> Vec<u8> {
        let mut rest = Vec::new();
        deadline(self.stream.read_to_end(&mut rest))
            .await
            .expect("read to EOF");
        rest
    }
}

/// `Reply::Ok(data)`.
pub fn ok(data: &[u8]) -> Reply {
    Reply::Ok(data.to_vec())
}
