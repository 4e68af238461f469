//! CPython's `Lib/test/test_asyncio/test_streams.py`, ported to the
//! `wasio-guest` API and run inside a component through the real host
//! (`tests/conformance.rs` runs one case per call; `tests/CONFORMANCE.md`
//! maps every CPython test to its case or says why it does not apply).
//!
//! Where CPython inspects the private `_buffer`, a case checks the same
//! fact through later reads ([`reader::rest`]). Where CPython feeds data
//! from a callback after the read started, a case joins the read with the
//! feeding (the read is polled first, so it is waiting when data comes).
//!
//! `run(["CASE"])` runs one case; `run(["check-names", ...])` checks that
//! the host's list of cases is exactly this one.

mod check;
mod connection;
mod reader;
mod regressions;

use check::Outcome;
use std::future::Future;
use std::pin::Pin;
use std::sync::OnceLock;

type Case = fn() -> Pin<Box<dyn Future<Output = Outcome>>>;

fn boxed<F: Future<Output = Outcome> + 'static>(f: F) -> Pin<Box<dyn Future<Output = Outcome>>> {
    Box::pin(f)
}

/// A directory the host lets this component listen and connect in
/// (Unix socket cases); given as the second argument.
pub(crate) static SOCKET_DIR: OnceLock<String> = OnceLock::new();

macro_rules! cases {
    ($($module:ident :: $name:ident),* $(,)?) => {
        const CASES: &[(&str, Case)] = &[$((stringify!($name), || boxed($module::$name()))),*];
    };
}

cases! {
    reader::test_feed_empty_data,
    reader::test_feed_nonempty_data,
    reader::test_read_zero,
    reader::test_read,
    reader::test_read_line_breaks,
    reader::test_read_eof,
    reader::test_read_until_eof,
    reader::test_read_exception,
    reader::test_invalid_limit,
    reader::test_read_limit,
    reader::test_readline,
    reader::test_readline_limit_with_existing_data,
    reader::test_at_eof,
    reader::test_readline_limit,
    reader::test_readline_nolimit_nowait,
    reader::test_readline_eof,
    reader::test_readline_empty_eof,
    reader::test_readline_read_byte_count,
    reader::test_readline_exception,
    reader::test_readuntil_separator,
    reader::test_readuntil_multi_chunks,
    reader::test_readuntil_multi_chunks_1,
    reader::test_readuntil_eof,
    reader::test_readuntil_limit_found_sep,
    reader::test_readuntil_multi_separator,
    reader::test_readuntil_multi_separator_limit,
    reader::test_readuntil_multi_separator_negative_offset,
    reader::test_readuntil_bytearray,
    reader::test_readexactly_zero_or_less,
    reader::test_readexactly,
    reader::test_readexactly_limit,
    reader::test_readexactly_eof,
    reader::test_readexactly_exception,
    reader::test_exception,
    reader::test_exception_waiter,
    reader::test_exception_cancel,
    reader::test_async_iteration_by_lines,
    reader::test_concurrent_waiting_reads,
    reader::test_feed_data_after_eof,
    connection::test_open_connection,
    connection::test_open_unix_connection,
    connection::test_open_connection_error,
    connection::test_open_unix_connection_error,
    connection::test_start_server,
    connection::test_start_unix_server,
    connection::test_multiple_drain,
    connection::test_drain_raises,
    connection::test_wait_closed_on_close,
    connection::test_wait_closed_on_close_with_unread_data,
    connection::test_async_writer_api,
    connection::test_async_writer_api_exception_after_close,
    connection::test_eof_feed_when_closing_writer,
    connection::test_unhandled_exception,
    connection::test_get_extra_info,
    connection::test_write_eof_half_close,
    connection::test_server_close_clients_and_wait_closed,
    connection::test_server_abort_clients,
    regressions::gh_74116_concurrent_drains_then_disconnect,
    regressions::gh_75279_write_drain_loop_to_vanished_peer,
    regressions::gh_116279_never_draining_writer_is_bounded,
    regressions::gh_83939_wait_closed_with_unresponsive_peer,
    regressions::gh_104344_server_close_while_handlers_run,
    regressions::gh_110894_handler_error_closes_connection,
    regressions::gh_79246_read_after_fin_is_empty,
    regressions::asyncio_99_readexactly_ten_times_the_limit,
    regressions::asyncio_168_read_to_eof_beyond_the_limit,
    regressions::gh_81322_lines_around_the_limit_in_pieces,
    regressions::gh_75828_write_eof_after_close,
    regressions::gh_109321_dropping_a_writer_closes_the_socket,
    regressions::gh_155888_writelines_with_empty_chunks_then_close,
}

async fn main(args: Vec<String>) -> Result<(), String> {
    match args.as_slice() {
        [cmd, names @ ..] if cmd == "check-names" => {
            let ours: Vec<&str> = CASES.iter().map(|(n, _)| *n).collect();
            let missing: Vec<&&str> = ours
                .iter()
                .filter(|n| !names.iter().any(|m| m == *n))
                .collect();
            let unknown: Vec<&String> = names
                .iter()
                .filter(|m| !ours.contains(&m.as_str()))
                .collect();
            if missing.is_empty() && unknown.is_empty() {
                Ok(())
            } else {
                Err(format!(
                    "not run by the host: {missing:?}; unknown to the component: {unknown:?}"
                ))
            }
        }
        [name, rest @ ..] => {
            if let Some(dir) = rest.first() {
                let _ = SOCKET_DIR.set(dir.clone());
            }
            let (_, case) = CASES
                .iter()
                .find(|(n, _)| n == name)
                .ok_or_else(|| format!("no case named {name:?}"))?;
            case().await.map_err(|fail| format!("{name}: {}", fail.0))
        }
        [] => Err("usage: CASE [SOCKET_DIR] | check-names CASE...".into()),
    }
}

wasio_guest::export_command!(main);
