//! CPython's test_streams.py cases and stream-bug regressions, run inside
//! the `conformance` guest component through the real host (see
//! `tests/CONFORMANCE.md`). One Rust test per case, named as the case.

mod common;

use common::{deadline, guest};
use std::sync::{Arc, OnceLock};
use std::time::Duration;
use wasio::component::{Command, Runtime};
use wasio::net::{NetConfig, Policy, WriterConfig};

/// The component, compiled and linked once per test binary.
fn command() -> &'static (Runtime, Command) {
    static PRE: OnceLock<(Runtime, Command)> = OnceLock::new();
    PRE.get_or_init(|| {
        let runtime = Runtime::new().expect("engine");
        let component = runtime.load_file(&guest("conformance")).expect("component");
        let pre = runtime
            .command_pre(&component, "conformance")
            .expect("a command component");
        (runtime, pre)
    })
}

/// Grants: listen and connect on 127.0.0.1, any port, and Unix sockets in
/// `dir`; a short close grace period so bounded waits stay short.
fn net(dir: &std::path::Path, cases: &[&str]) -> NetConfig {
    let loopback = "127.0.0.1:*".parse().unwrap();
    let unix: Vec<_> = cases
        .iter()
        .map(|c| format!("unix:{}/{c}.sock", dir.display()).parse().unwrap())
        .collect();
    NetConfig {
        policy: Policy {
            connect: [vec![loopback], unix.clone()].concat(),
            listen: ["127.0.0.1:*".parse().unwrap()]
                .into_iter()
                .chain(unix)
                .collect(),
        },
        writer: WriterConfig {
            close_grace: Duration::from_millis(500),
            ..WriterConfig::default()
        },
        ..NetConfig::default()
    }
}

const UNIX_CASES: &[&str] = &[
    "open_unix_connection",
    "open_unix_connection_error",
    "start_unix_server",
];

async fn run_case(name: &str) {
    let dir = std::env::temp_dir().join(format!("wasio-conf-{}-{name}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let args = vec![name.to_string(), dir.display().to_string()];
    let (runtime, pre) = command();
    let result = deadline(wasio::run::run_command(
        runtime,
        pre,
        Arc::new(net(&dir, UNIX_CASES)),
        args,
    ))
    .await;
    let _ = std::fs::remove_dir_all(&dir);
    match result {
        Ok(Ok(())) => {}
        Ok(Err(failure)) => panic!("{failure}"),
        Err(trap) => panic!("{name} trapped: {trap:?}"),
    }
}

macro_rules! cases {
    ($($name:ident),* $(,)?) => {
        $(
            #[tokio::test]
            async fn $name() {
                run_case(stringify!($name)).await;
            }
        )*

        /// The component's list of cases is exactly this file's.
        #[tokio::test]
        async fn every_case_is_run() {
            let mut args = vec!["check-names".to_string()];
            args.extend([$(stringify!($name).to_string()),*]);
            let (runtime, pre) = command();
            let result = wasio::run::run_command(runtime, pre, Arc::new(NetConfig::default()), args)
                .await
                .expect("no trap");
            if let Err(mismatch) = result {
                panic!("{mismatch}");
            }
        }
    };
}

cases! {
    test_feed_empty_data,
    test_feed_nonempty_data,
    test_read_zero,
    test_read,
    test_read_line_breaks,
    test_read_eof,
    test_read_until_eof,
    test_read_exception,
    test_invalid_limit,
    test_read_limit,
    test_readline,
    test_readline_limit_with_existing_data,
    test_at_eof,
    test_readline_limit,
    test_readline_nolimit_nowait,
    test_readline_eof,
    test_readline_empty_eof,
    test_readline_read_byte_count,
    test_readline_exception,
    test_readuntil_separator,
    test_readuntil_multi_chunks,
    test_readuntil_multi_chunks_1,
    test_readuntil_eof,
    test_readuntil_limit_found_sep,
    test_readuntil_multi_separator,
    test_readuntil_multi_separator_limit,
    test_readuntil_multi_separator_negative_offset,
    test_readuntil_bytearray,
    test_readexactly_zero_or_less,
    test_readexactly,
    test_readexactly_limit,
    test_readexactly_eof,
    test_readexactly_exception,
    test_exception,
    test_exception_waiter,
    test_exception_cancel,
    test_async_iteration_by_lines,
    test_concurrent_waiting_reads,
    test_feed_data_after_eof,
    test_open_connection,
    test_open_unix_connection,
    test_open_connection_error,
    test_open_unix_connection_error,
    test_start_server,
    test_start_unix_server,
    test_multiple_drain,
    test_drain_raises,
    test_wait_closed_on_close,
    test_wait_closed_on_close_with_unread_data,
    test_async_writer_api,
    test_async_writer_api_exception_after_close,
    test_eof_feed_when_closing_writer,
    test_unhandled_exception,
    test_get_extra_info,
    test_write_eof_half_close,
    test_server_close_clients_and_wait_closed,
    test_server_abort_clients,
    gh_74116_concurrent_drains_then_disconnect,
    gh_75279_write_drain_loop_to_vanished_peer,
    gh_116279_never_draining_writer_is_bounded,
    gh_83939_wait_closed_with_unresponsive_peer,
    gh_104344_server_close_while_handlers_run,
    gh_110894_handler_error_closes_connection,
    gh_79246_read_after_fin_is_empty,
    asyncio_99_readexactly_ten_times_the_limit,
    asyncio_168_read_to_eof_beyond_the_limit,
    gh_81322_lines_around_the_limit_in_pieces,
    gh_75828_write_eof_after_close,
    gh_109321_dropping_a_writer_closes_the_socket,
    gh_155888_writelines_with_empty_chunks_then_close,
}
