//! asyncio's reader rules, one test per rule. Names follow the CPython
//! tests they mirror where there is one.

use super::*;

fn reader(limit: usize) -> ReadBuffer {
    ReadBuffer::new(limit).unwrap()
}

fn fed(limit: usize, chunks: &[&[u8]], eof: bool) -> ReadBuffer {
    let mut r = reader(limit);
    for c in chunks {
        r.feed_data(c).unwrap();
    }
    if eof {
        r.feed_eof();
    }
    r
}

/// Starts an operation as the I/O layer does: exception first, then poll.
fn start(
    r: &mut ReadBuffer,
    op: impl FnOnce(&mut ReadBuffer) -> Poll<StreamResult<Bytes>>,
) -> Poll<StreamResult<Bytes>> {
    if let Err(e) = r.check_exception() {
        return Poll::Ready(Err(e));
    }
    op(r)
}

fn ok(p: Poll<StreamResult<Bytes>>) -> Vec<u8> {
    match p {
        Poll::Ready(Ok(b)) => b.to_vec(),
        other => panic!("expected data, got {other:?}"),
    }
}

fn err(p: Poll<StreamResult<Bytes>>) -> StreamError {
    match p {
        Poll::Ready(Err(e)) => e,
        other => panic!("expected an error, got {other:?}"),
    }
}

fn readline(r: &mut ReadBuffer) -> Poll<StreamResult<Bytes>> {
    r.poll_readline(&mut ScanState::default())
}

fn readuntil(r: &mut ReadBuffer, seps: &[&[u8]]) -> Poll<StreamResult<Bytes>> {
    r.poll_readuntil(seps, &mut ScanState::default())
}

/// What is left, read without touching the rules under test.
fn rest(r: &mut ReadBuffer) -> Vec<u8> {
    r.take_all().to_vec()
}

#[test]
fn zero_limit_is_invalid() {
    assert!(matches!(
        ReadBuffer::new(0),
        Err(StreamError::InvalidArgument(_))
    ));
}

#[test]
fn read_zero_is_empty_at_once() {
    let mut r = reader(10);
    assert_eq!(ok(r.poll_read(0)), b"");
    r.feed_data(b"data").unwrap();
    assert_eq!(ok(r.poll_read(0)), b"");
    assert_eq!(r.len(), 4);
}

#[test]
fn read_n_returns_what_is_buffered_up_to_n() {
    let mut r = reader(10);
    assert!(r.poll_read(5).is_pending());
    r.feed_data(b"abc").unwrap();
    assert_eq!(ok(r.poll_read(5)), b"abc");
    r.feed_data(b"line1line2").unwrap();
    assert_eq!(ok(r.poll_read(5)), b"line1");
    assert_eq!(ok(r.poll_read(30)), b"line2");
}

#[test]
fn read_at_eof_is_empty() {
    let mut r = fed(10, &[b"x"], true);
    assert_eq!(ok(r.poll_read(5)), b"x");
    assert_eq!(ok(r.poll_read(5)), b"");
    assert_eq!(ok(r.poll_read(-1)), b"");
}

#[test]
fn read_until_eof_waits_for_eof_and_may_exceed_the_limit() {
    let mut r = reader(3);
    r.feed_data(b"chunk1\n").unwrap();
    assert!(r.poll_read(-1).is_pending());
    r.feed_data(b"chunk2").unwrap();
    r.feed_eof();
    assert_eq!(ok(r.poll_read(-1)), b"chunk1\nchunk2");
    assert!(r.at_eof());
}

#[test]
fn readline_returns_one_line() {
    let mut r = fed(100, &[b"line1\nline2\n"], false);
    assert_eq!(ok(readline(&mut r)), b"line1\n");
    assert_eq!(ok(readline(&mut r)), b"line2\n");
    assert!(readline(&mut r).is_pending());
}

#[test]
fn readline_waits_across_chunks_and_remembers_its_scan() {
    let mut r = reader(100);
    let mut scan = ScanState::default();
    r.feed_data(b"chunk1 ").unwrap();
    assert!(r.poll_readline(&mut scan).is_pending());
    r.feed_data(b"chunk2 ").unwrap();
    assert!(r.poll_readline(&mut scan).is_pending());
    r.feed_data(b"chunk3\nrest").unwrap();
    assert_eq!(ok(r.poll_readline(&mut scan)), b"chunk1 chunk2 chunk3\n");
    assert_eq!(rest(&mut r), b"rest");
}

#[test]
fn test_readline_eof_returns_partial_line() {
    let mut r = fed(100, &[b"some data"], true);
    assert_eq!(ok(readline(&mut r)), b"some data");
    assert_eq!(ok(readline(&mut r)), b"");
}

#[test]
fn test_readline_empty_eof() {
    let mut r = fed(100, &[], true);
    assert_eq!(ok(readline(&mut r)), b"");
}

#[test]
fn test_readline_limit_with_existing_data_discards_line_and_separator() {
    // CPython: limit 3, b'li' b'ne1\nline2\n' -> ValueError, b'line2\n' left.
    let mut r = fed(3, &[b"li", b"ne1\nline2\n"], false);
    assert_eq!(
        err(readline(&mut r)),
        StreamError::LimitOverrun {
            message: FOUND_BEYOND.into(),
            consumed: 5
        }
    );
    assert_eq!(rest(&mut r), b"line2\n");
}

#[test]
fn test_readline_limit_without_separator_clears_buffer() {
    // CPython: limit 3, b'li' b'ne1' b'li' -> ValueError, buffer empty.
    let mut r = fed(3, &[b"li", b"ne1", b"li"], false);
    assert!(matches!(
        err(readline(&mut r)),
        StreamError::LimitOverrun { message, consumed: 7 } if message == NOT_FOUND
    ));
    assert!(r.is_empty());
}

#[test]
fn test_readline_limit_second_line_is_kept() {
    // CPython test_readline_limit: limit 7, chunk1 chunk2\n chunk3\n.
    let mut r = fed(7, &[b"chunk1", b"chunk2\n", b"chunk3\n"], true);
    assert!(matches!(
        err(readline(&mut r)),
        StreamError::LimitOverrun { .. }
    ));
    assert_eq!(ok(readline(&mut r)), b"chunk3\n");
}

#[test]
fn lines_of_limit_minus_one_limit_and_limit_plus_one() {
    let limit = 8;
    // A line whose separator starts at index `limit` is still accepted
    // (asyncio compares the separator's start, not the line's length).
    for len in [limit - 1, limit] {
        let mut line = vec![b'a'; len];
        line.push(b'\n');
        let mut r = fed(limit, &[&line], false);
        assert_eq!(ok(readline(&mut r)), line, "line of {len} bytes");
    }
    let mut line = vec![b'a'; limit + 1];
    line.push(b'\n');
    let mut r = fed(limit, &[&line, b"next\n"], false);
    assert!(matches!(
        err(readline(&mut r)),
        StreamError::LimitOverrun { consumed: 9, .. }
    ));
    assert_eq!(ok(readline(&mut r)), b"next\n");
}

#[test]
fn readline_overrun_while_waiting_discards_what_was_buffered() {
    let mut r = reader(4);
    let mut scan = ScanState::default();
    r.feed_data(b"abc").unwrap();
    assert!(r.poll_readline(&mut scan).is_pending());
    r.feed_data(b"defg").unwrap();
    assert!(matches!(
        err(r.poll_readline(&mut scan)),
        StreamError::LimitOverrun { message, consumed: 7 } if message == NOT_FOUND
    ));
    assert!(r.is_empty());
    // The rest of the long line then reads as a line of its own.
    r.feed_data(b"h\n").unwrap();
    assert_eq!(ok(readline(&mut r)), b"h\n");
}

#[test]
fn test_readuntil_multi_chunks_separator_split_across_chunks() {
    let mut r = reader(100);
    let mut scan = ScanState::default();
    r.feed_data(b"lineAA").unwrap();
    assert!(r.poll_readuntil(&[b"AAA"], &mut scan).is_pending());
    r.feed_data(b"AAline2").unwrap();
    assert_eq!(ok(r.poll_readuntil(&[b"AAA"], &mut scan)), b"lineAAA");
    assert_eq!(rest(&mut r), b"Aline2");
}

#[test]
fn readuntil_separator_split_one_byte_at_a_time() {
    let mut r = reader(100);
    let mut scan = ScanState::default();
    for b in b"ab\r" {
        r.feed_data(&[*b]).unwrap();
        assert!(r.poll_readuntil(&[b"\r\n"], &mut scan).is_pending());
    }
    r.feed_data(b"\nz").unwrap();
    assert_eq!(ok(r.poll_readuntil(&[b"\r\n"], &mut scan)), b"ab\r\n");
}

#[test]
fn test_readuntil_eof_is_incomplete_read_with_no_expected() {
    let mut r = fed(100, &[b"some dataAA"], true);
    assert_eq!(
        err(readuntil(&mut r, &[b"AAA"])),
        StreamError::IncompleteRead {
            partial: Bytes::from_static(b"some dataAA"),
            expected: None
        }
    );
    assert!(r.is_empty());
}

#[test]
fn test_readuntil_limit_found_sep_leaves_data_buffered() {
    let mut r = fed(3, &[b"some dataAA"], false);
    let mut scan = ScanState::default();
    assert!(matches!(
        err(r.poll_readuntil(&[b"AAA"], &mut scan)),
        StreamError::LimitOverrun { message, consumed: 9 } if message == NOT_FOUND
    ));
    assert_eq!(r.len(), 11);
    r.feed_data(b"A").unwrap();
    assert_eq!(
        err(readuntil(&mut r, &[b"AAA"])),
        StreamError::LimitOverrun {
            message: FOUND_BEYOND.into(),
            consumed: 9
        }
    );
    assert_eq!(r.len(), 12);
}

#[test]
fn test_readuntil_multiple_separators_shortest_result_wins() {
    let mut r = fed(100, &[b"aaaXbbbYcccZ"], false);
    assert_eq!(ok(readuntil(&mut r, &[b"Z", b"Y", b"X"])), b"aaaX");
    assert_eq!(ok(readuntil(&mut r, &[b"Z", b"Yccc"])), b"bbbYccc");
    assert_eq!(rest(&mut r), b"Z");
    // A longer separator that ends first wins over a shorter one.
    let mut r = fed(100, &[b"xxABC"], false);
    assert_eq!(ok(readuntil(&mut r, &[b"C", b"AB"])), b"xxAB");
}

#[test]
fn test_readuntil_multi_separator_limit_ties_go_to_the_shortest() {
    // Both end at 10; the shorter one starts at 9 > limit 3.
    let mut r = fed(3, &[b"some dataA"], false);
    assert_eq!(
        err(readuntil(&mut r, &[b"ome dataA", b"A"])),
        StreamError::LimitOverrun {
            message: FOUND_BEYOND.into(),
            consumed: 9
        }
    );
    assert_eq!(r.len(), 10);
}

#[test]
fn test_readuntil_multi_separator_negative_offset() {
    let mut r = fed(100, &[b"data"], false);
    let mut scan = ScanState::default();
    let seps: [&[u8]; 2] = [b"A", b"long sep"];
    assert!(r.poll_readuntil(&seps, &mut scan).is_pending());
    r.feed_data(b"Z").unwrap();
    assert!(r.poll_readuntil(&seps, &mut scan).is_pending());
    r.feed_data(b"Aaaa").unwrap();
    assert_eq!(ok(r.poll_readuntil(&seps, &mut scan)), b"dataZA");
    assert_eq!(rest(&mut r), b"aaa");
}

#[test]
fn test_readuntil_bad_separators() {
    let none: [&[u8]; 0] = [];
    assert!(matches!(
        validate_separators(&none),
        Err(StreamError::InvalidArgument(_))
    ));
    assert!(matches!(
        validate_separators(&[&b"a"[..], b""]),
        Err(StreamError::InvalidArgument(_))
    ));
    assert!(validate_separators(&[b"\n"]).is_ok());
}

#[test]
fn test_readexactly() {
    let mut r = reader(100);
    assert!(r.poll_readexactly(6).is_pending());
    r.feed_data(b"chunk").unwrap();
    assert!(r.poll_readexactly(6).is_pending());
    r.feed_data(b"1chunk2").unwrap();
    assert_eq!(ok(r.poll_readexactly(6)), b"chunk1");
    assert_eq!(ok(r.poll_readexactly(0)), b"");
}

#[test]
fn test_readexactly_eof_is_incomplete_read() {
    let mut r = fed(100, &[b"chunk"], true);
    assert_eq!(
        err(r.poll_readexactly(10)),
        StreamError::IncompleteRead {
            partial: Bytes::from_static(b"chunk"),
            expected: Some(10)
        }
    );
    assert!(r.at_eof());
}

#[test]
fn readexactly_beyond_the_limit_completes() {
    let mut r = reader(4);
    for _ in 0..10 {
        r.feed_data(b"abcd").unwrap();
    }
    assert_eq!(ok(r.poll_readexactly(40)).len(), 40);
}

#[test]
fn test_exception_is_raised_before_buffered_data() {
    let mut r = fed(100, &[b"line\n"], false);
    r.set_exception(StreamError::Io("boom".into()));
    let boom = StreamError::Io("boom".into());
    assert_eq!(err(start(&mut r, |r| r.poll_read(2))), boom);
    assert_eq!(err(start(&mut r, |r| r.poll_read(0))), boom);
    assert_eq!(err(start(&mut r, readline)), boom);
    assert_eq!(err(start(&mut r, |r| r.poll_readexactly(2))), boom);
    assert_eq!(r.len(), 5, "the data stays buffered");
    assert_eq!(r.exception(), Some(&StreamError::Io("boom".into())));
}

#[test]
fn test_exception_waiter_is_woken_with_the_exception() {
    let mut r = reader(100);
    assert!(start(&mut r, |r| r.poll_read(10)).is_pending());
    r.set_exception(StreamError::ConnectionReset("gone".into()));
    assert!(matches!(
        err(r.poll_read(10)),
        StreamError::ConnectionReset(_)
    ));
}

#[test]
fn exception_after_data_arrived_lets_the_started_read_complete() {
    let mut r = reader(100);
    assert!(start(&mut r, |r| r.poll_readexactly(3)).is_pending());
    r.feed_data(b"abc").unwrap();
    r.set_exception(StreamError::Io("late".into()));
    assert_eq!(ok(r.poll_readexactly(3)), b"abc");
}

#[test]
fn test_at_eof() {
    let mut r = reader(100);
    assert!(!r.at_eof());
    r.feed_data(b"some data\n").unwrap();
    assert!(!r.at_eof());
    assert_eq!(ok(readline(&mut r)), b"some data\n");
    assert!(!r.at_eof());
    r.feed_eof();
    assert!(r.at_eof());
}

#[test]
fn test_feed_data_after_eof_is_invalid_state() {
    let mut r = fed(100, &[b"x"], true);
    assert!(matches!(
        r.feed_data(b"y"),
        Err(StreamError::InvalidState(_))
    ));
    assert!(matches!(r.spare(1), Err(StreamError::InvalidState(_))));
    assert_eq!(rest(&mut r), b"x");
}

#[test]
fn the_cap_bounds_what_is_buffered() {
    let mut r = reader(4).with_cap(12);
    assert_eq!(r.cap(), 12);
    r.feed_data(b"0123456789").unwrap();
    assert_eq!(r.room(), 2);
    assert_eq!(r.feed_data(b"abc"), Err(StreamError::ReadBufferFull(12)));
    r.feed_data(b"ab").unwrap();
    assert!(matches!(r.spare(1), Err(StreamError::ReadBufferFull(12))));
    // The cap never undercuts the limit rules: at least 2 x limit + 1.
    assert_eq!(reader(100).with_cap(10).cap(), 201);
}

#[test]
fn flow_control_pauses_above_twice_the_limit() {
    let mut r = reader(4);
    r.feed_data(b"12345678").unwrap();
    assert!(!r.is_over_high_water());
    r.feed_data(b"9").unwrap();
    assert!(r.is_over_high_water());
    assert_eq!(ok(r.poll_read(1)), b"1");
    assert!(!r.is_over_high_water());
}

#[test]
fn scan_restarts_when_bytes_were_taken_meanwhile() {
    let mut r = reader(100);
    let mut scan = ScanState::default();
    r.feed_data(b"abcdef").unwrap();
    assert!(r.poll_readuntil(&[b"\n"], &mut scan).is_pending());
    // Another operation takes bytes from the front while readuntil waits.
    assert_eq!(ok(r.poll_read(4)), b"abcd");
    r.feed_data(b"\n").unwrap();
    assert_eq!(ok(r.poll_readuntil(&[b"\n"], &mut scan)), b"ef\n");
}

/// wasio's own: what `try-` reads' readiness compares.
#[test]
fn progress_moves_with_data_eof_and_errors_only() {
    let mut b = reader(16);
    let start = b.progress();
    assert_eq!(b.progress(), start);
    b.feed_data(b"abc").unwrap();
    let fed = b.progress();
    assert_ne!(fed, start);
    // Taking bytes out is not progress: they were received before.
    assert!(b.poll_read(2).is_ready());
    assert_eq!(b.progress(), fed);
    b.feed_eof();
    let eof = b.progress();
    assert_ne!(eof, fed);
    b.set_exception(StreamError::ConnectionReset("x".into()));
    assert_ne!(b.progress(), eof);
}
