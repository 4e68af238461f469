//! The `wasio` command: see `wasio --help`.

use clap::Parser;
use std::process::ExitCode;
use std::sync::Arc;
use wasio::cli::{Cli, Command, RunArgs, ServeArgs};
use wasio::component::Runtime;
use wasio::net::{Endpoint, Listener};
use wasio::serve::Service;
use wasio::{bundled, run, serve};
use wasmtime::error::Context as _;

fn main() -> ExitCode {
    let cli = Cli::parse();
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("WASIO_LOG")
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .with_writer(std::io::stderr)
        .init();
    let runtime = match tokio_runtime(cli.threads) {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("wasio: error: cannot start the Tokio runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    // The command runs as a task, not inside `block_on`: with the
    // multi-thread scheduler the accept loop then hands each connection to
    // a task on its own worker thread, without a cross-thread wake-up per
    // connection (a quarter more connections per second on one core).
    let command = cli.command.unwrap_or(Command::Serve(ServeArgs::default()));
    let result = runtime.block_on(async {
        tokio::spawn(async move {
            match command {
                Command::Serve(args) => serve_main(args).await,
                Command::Run(args) => run_main(args).await,
            }
        })
        .await
    });
    match result {
        Ok(Ok(code)) => code,
        // A panic exits as it would have on this thread (code 101).
        Err(join) if join.is_panic() => std::panic::resume_unwind(join.into_panic()),
        Err(join) => {
            eprintln!("wasio: error: the command's task failed: {join}");
            ExitCode::FAILURE
        }
        Ok(Err(err)) => {
            eprintln!("wasio: error: {err:?}");
            ExitCode::FAILURE
        }
    }
}

/// The Tokio runtime for `threads` worker threads (default: the CPUs this
/// process may run on).
///
/// One thread gets the current-thread scheduler. The multi-thread one with
/// a single worker is slower there and unfair under load: its local run
/// queue holds 256 tasks, so with 1,000 busy connections most wait in the
/// shared queue, which it checks once every 61 polls (measured at 1,000
/// pingpong connections on one core: 14% fewer round trips per second, and
/// a p99 latency of 168 ms against 15 ms).
fn tokio_runtime(threads: Option<u16>) -> std::io::Result<tokio::runtime::Runtime> {
    let threads = match threads {
        Some(n) => usize::from(n),
        None => std::thread::available_parallelism().map_or(1, |n| n.get()),
    };
    if threads == 1 {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
    } else {
        tokio::runtime::Builder::new_multi_thread()
            .worker_threads(threads)
            .enable_all()
            .build()
    }
}

async fn serve_main(args: ServeArgs) -> wasmtime::Result<ExitCode> {
    let net = args.net.to_config().map_err(wasmtime::Error::msg)?;
    let limits = args.serve_limits().map_err(wasmtime::Error::msg)?;
    let runtime = Runtime::with_options(
        args.instance_limits().map_err(wasmtime::Error::msg)?,
        args.instance.cache_dir().as_deref(),
    )?;
    let (component, name) = match &args.component {
        Some(path) => (runtime.load_file(path)?, path.display().to_string()),
        None => (
            runtime.load_bytes(bundled::ECHO_SERVER, "the bundled echo server")?,
            "the bundled echo server".to_string(),
        ),
    };
    let handler = runtime.handler_pre(&component, &name)?;

    let endpoints = if args.listen.is_empty() {
        vec![
            "127.0.0.1:8888"
                .parse::<Endpoint>()
                .map_err(wasmtime::Error::msg)?,
        ]
    } else {
        args.listen.clone()
    };
    let mut listeners = Vec::new();
    for endpoint in &endpoints {
        let bound = match endpoint {
            Endpoint::Inet {
                host,
                port: Some(port),
            } => Listener::bind_tcp_host(host, *port, args.backlog).await,
            Endpoint::Inet { port: None, .. } => {
                wasmtime::bail!("--listen {endpoint}: give a port (0 picks a free one)")
            }
            Endpoint::Unix(path) => Listener::bind_unix(path, args.backlog).map(|l| vec![l]),
        }
        .with_context(|| format!("cannot listen on {endpoint}"))?;
        for listener in bound {
            if let Some(addr) = listener.local_addr() {
                println!("Serving on {addr}");
            }
            listeners.push(listener);
        }
    }
    let model = args.model();
    let tokio = tokio::runtime::Handle::current();
    tracing::info!(
        component = %name,
        engine = ?handler.kind(),
        ?model,
        max_connections = limits.max_connections,
        threads = tokio.metrics().num_workers(),
        scheduler = ?tokio.runtime_flavor(),
        "serving"
    );

    let mut service = Service::new(runtime, handler, net, args.limit as usize);
    service.limits = limits;
    service.model = model;
    let service = Arc::new(service);
    serve::serve(service, listeners, shutdown_signal()).await;
    Ok(ExitCode::SUCCESS)
}

async fn shutdown_signal() {
    use tokio::signal::unix::{SignalKind, signal};
    let mut term = signal(SignalKind::terminate()).ok();
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {}
        _ = async { match term.as_mut() { Some(t) => { t.recv().await; } None => std::future::pending().await } } => {}
    }
}

async fn run_main(args: RunArgs) -> wasmtime::Result<ExitCode> {
    let mut net_args = args.net.clone();
    let runtime = Runtime::with_options(
        args.instance.to_limits().map_err(wasmtime::Error::msg)?,
        args.instance.cache_dir().as_deref(),
    )?;
    let (component, name) = match &args.component {
        Some(path) => (runtime.load_file(path)?, path.display().to_string()),
        None => {
            // The bundled echo client may reach the target it is given.
            if net_args.allow_connect.is_empty() {
                let host = args.args.get(1).map_or("127.0.0.1", String::as_str);
                let port = args.args.get(2).map_or("8888", String::as_str);
                if let Ok(endpoint) = format!("{host}:{port}").parse() {
                    net_args.allow_connect.push(endpoint);
                }
            }
            (
                runtime.load_bytes(bundled::ECHO_CLIENT, "the bundled echo client")?,
                "the bundled echo client".to_string(),
            )
        }
    };
    let net = net_args.to_config().map_err(wasmtime::Error::msg)?;
    let command = runtime.command_pre(&component, &name)?;
    match run::run_command(&runtime, &command, Arc::new(net), args.args).await? {
        Ok(()) => Ok(ExitCode::SUCCESS),
        Err(message) => {
            eprintln!("wasio: {name} failed: {message}");
            Ok(ExitCode::FAILURE)
        }
    }
}
