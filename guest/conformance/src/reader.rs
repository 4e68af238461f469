//! The StreamReader cases (in-memory readers fed by hand).

use crate::check::{Fail, Outcome};
use crate::{check, check_bytes, check_err};
use futures::FutureExt;
use wasio_guest::{IncompleteReadError, LimitOverrunError, StreamError, StreamReader};

const DATA: &[u8] = b"line1\nline2\nline3\n";
const NOT_FOUND: &str = "Separator is not found, and chunk exceed the limit";
const FOUND: &str = "Separator is found, but chunk is longer than limit";

fn reader(limit: Option<u32>) -> Result<StreamReader, Fail> {
    Ok(StreamReader::new(limit)?)
}

fn feed(s: &StreamReader, chunks: &[&[u8]]) -> Outcome {
    for c in chunks {
        s.feed_data(c)?;
    }
    Ok(())
}

/// What is left in the buffer (CPython's `stream._buffer`): feeds EOF and
/// reads everything, so call it last.
pub(crate) async fn rest(s: &StreamReader) -> Result<Vec<u8>, Fail> {
    s.feed_eof();
    Ok(s.read(-1).await?)
}

fn custom() -> StreamError {
    StreamError::InvalidArgument("ValueError()".into())
}

pub async fn test_feed_empty_data() -> Outcome {
    let s = reader(None)?;
    s.feed_data(b"")?;
    check_bytes!(rest(&s).await?, b"");
    Ok(())
}

pub async fn test_feed_nonempty_data() -> Outcome {
    let s = reader(None)?;
    s.feed_data(DATA)?;
    check_bytes!(rest(&s).await?, DATA);
    Ok(())
}

pub async fn test_read_zero() -> Outcome {
    let s = reader(None)?;
    s.feed_data(DATA)?;
    check_bytes!(s.read(0).await?, b"");
    check_bytes!(rest(&s).await?, DATA);
    Ok(())
}

pub async fn test_read() -> Outcome {
    let s = reader(None)?;
    let (data, fed) = futures::join!(s.read(30), async { s.feed_data(DATA) });
    fed?;
    check_bytes!(data?, DATA);
    check_bytes!(rest(&s).await?, b"");
    Ok(())
}

pub async fn test_read_line_breaks() -> Outcome {
    let s = reader(None)?;
    feed(&s, &[b"line1", b"line2"])?;
    check_bytes!(s.read(5).await?, b"line1");
    check_bytes!(rest(&s).await?, b"line2");
    Ok(())
}

pub async fn test_read_eof() -> Outcome {
    let s = reader(None)?;
    let (data, ()) = futures::join!(s.read(1024), async { s.feed_eof() });
    check_bytes!(data?, b"");
    check_bytes!(rest(&s).await?, b"");
    Ok(())
}

pub async fn test_read_until_eof() -> Outcome {
    let s = reader(None)?;
    let (data, fed) = futures::join!(s.read(-1), async {
        feed(&s, &[b"chunk1\n", b"chunk2"])?;
        s.feed_eof();
        Outcome::Ok(())
    });
    fed?;
    check_bytes!(data?, b"chunk1\nchunk2");
    check_bytes!(rest(&s).await?, b"");
    Ok(())
}

pub async fn test_read_exception() -> Outcome {
    let s = reader(None)?;
    s.feed_data(b"line\n")?;
    check_bytes!(s.read(2).await?, b"li");
    s.set_exception(custom());
    check_err!(s.read(2).await, e if e == custom());
    Ok(())
}

pub async fn test_invalid_limit() -> Outcome {
    check_err!(StreamReader::new(Some(0)), StreamError::InvalidArgument(m) if m.contains("imit"));
    // limit=-1 is not representable: the limit is unsigned.
    Ok(())
}

pub async fn test_read_limit() -> Outcome {
    let s = reader(Some(3))?;
    s.feed_data(b"chunk")?;
    check_bytes!(s.read(5).await?, b"chunk");
    check_bytes!(rest(&s).await?, b"");
    Ok(())
}

pub async fn test_readline() -> Outcome {
    let s = reader(None)?;
    s.feed_data(b"chunk1 ")?;
    let (line, fed) = futures::join!(s.readline(), async {
        feed(&s, &[b"chunk2 ", b"chunk3 ", b"\n chunk4"])
    });
    fed?;
    check_bytes!(line?, b"chunk1 chunk2 chunk3 \n");
    check_bytes!(rest(&s).await?, b" chunk4");
    Ok(())
}

pub async fn test_readline_limit_with_existing_data() -> Outcome {
    let s = reader(Some(3))?;
    feed(&s, &[b"li", b"ne1\nline2\n"])?;
    check_err!(s.readline().await, StreamError::LimitOverrun(LimitOverrunError { message, .. }) if message == FOUND);
    check_bytes!(rest(&s).await?, b"line2\n");

    let s = reader(Some(3))?;
    feed(&s, &[b"li", b"ne1", b"li"])?;
    check_err!(s.readline().await, StreamError::LimitOverrun(LimitOverrunError { message, .. }) if message == NOT_FOUND);
    check_bytes!(rest(&s).await?, b"");
    Ok(())
}

pub async fn test_at_eof() -> Outcome {
    let s = reader(None)?;
    check!(!s.at_eof());
    s.feed_data(b"some data\n")?;
    check!(!s.at_eof());
    s.readline().await?;
    check!(!s.at_eof());
    s.feed_data(b"some data\n")?;
    s.feed_eof();
    s.readline().await?;
    check!(s.at_eof());
    Ok(())
}

pub async fn test_readline_limit() -> Outcome {
    let s = reader(Some(7))?;
    let (line, fed) = futures::join!(s.readline(), async {
        feed(&s, &[b"chunk1", b"chunk2", b"chunk3\n"])?;
        s.feed_eof();
        Outcome::Ok(())
    });
    fed?;
    check_err!(line, StreamError::LimitOverrun(_));
    check_bytes!(rest(&s).await?, b"");

    // All fed before the read starts (CPython's call_soon runs first).
    let s = reader(Some(7))?;
    feed(&s, &[b"chunk1", b"chunk2\n", b"chunk3\n"])?;
    s.feed_eof();
    check_err!(s.readline().await, StreamError::LimitOverrun(_));
    check_bytes!(rest(&s).await?, b"chunk3\n");

    let s = reader(Some(7))?;
    s.feed_data(b"1234567\n")?;
    check_bytes!(s.readline().await?, b"1234567\n");
    s.feed_data(b"12345678\n")?;
    check_err!(s.readline().await, StreamError::LimitOverrun(_));
    s.feed_data(b"12345678")?;
    check_err!(s.readline().await, StreamError::LimitOverrun(_));
    check_bytes!(rest(&s).await?, b"");
    Ok(())
}

pub async fn test_readline_nolimit_nowait() -> Outcome {
    let s = reader(None)?;
    feed(&s, &[&DATA[..6], &DATA[6..]])?;
    check_bytes!(s.readline().await?, b"line1\n");
    check_bytes!(rest(&s).await?, b"line2\nline3\n");
    Ok(())
}

pub async fn test_readline_eof() -> Outcome {
    let s = reader(None)?;
    s.feed_data(b"some data")?;
    s.feed_eof();
    check_bytes!(s.readline().await?, b"some data");
    Ok(())
}

pub async fn test_readline_empty_eof() -> Outcome {
    let s = reader(None)?;
    s.feed_eof();
    check_bytes!(s.readline().await?, b"");
    Ok(())
}

pub async fn test_readline_read_byte_count() -> Outcome {
    let s = reader(None)?;
    s.feed_data(DATA)?;
    s.readline().await?;
    check_bytes!(s.read(7).await?, b"line2\nl");
    check_bytes!(rest(&s).await?, b"ine3\n");
    Ok(())
}

pub async fn test_readline_exception() -> Outcome {
    let s = reader(None)?;
    s.feed_data(b"line\n")?;
    check_bytes!(s.readline().await?, b"line\n");
    s.set_exception(custom());
    check_err!(s.readline().await, e if e == custom());
    check!(s.exception() == Some(custom()));
    Ok(())
}

pub async fn test_readuntil_separator() -> Outcome {
    let s = reader(None)?;
    check_err!(s.readuntil(b"").await, StreamError::InvalidArgument(m) if m.contains("Separator should be"));
    check_err!(s.readuntil_any(&[b""]).await, StreamError::InvalidArgument(m) if m.contains("Separator should be"));
    check_err!(s.readuntil_any(&[]).await, StreamError::InvalidArgument(m) if m.contains("Separator should contain"));
    Ok(())
}

pub async fn test_readuntil_multi_chunks() -> Outcome {
    let s = reader(None)?;
    s.feed_data(b"lineAAA")?;
    check_bytes!(s.readuntil(b"AAA").await?, b"lineAAA");
    s.feed_data(b"lineAAA")?;
    check_bytes!(s.readuntil(b"AAA").await?, b"lineAAA");
    s.feed_data(b"lineAAAxxx")?;
    check_bytes!(s.readuntil(b"AAA").await?, b"lineAAA");
    check_bytes!(rest(&s).await?, b"xxx");
    Ok(())
}

pub async fn test_readuntil_multi_chunks_1() -> Outcome {
    let cases: [(&[&[u8]], &[u8]); 5] = [
        (&[b"QWEaa", b"XYaa", b"a"], b"QWEaaXYaaa"),
        (&[b"QWEaa", b"XYa", b"aa"], b"QWEaaXYaaa"),
        (&[b"aaa"], b"aaa"),
        (&[b"Xaaa"], b"Xaaa"),
        (&[b"XXX", b"a", b"a", b"a"], b"XXXaaa"),
    ];
    for (chunks, expected) in cases {
        let s = reader(None)?;
        feed(&s, chunks)?;
        check_bytes!(s.readuntil(b"aaa").await?, expected);
        check_bytes!(rest(&s).await?, b"");
    }
    Ok(())
}

pub async fn test_readuntil_eof() -> Outcome {
    let s = reader(None)?;
    s.feed_data(b"some dataAA")?;
    s.feed_eof();
    let err = s.readuntil(b"AAA").await;
    check_err!(&err, StreamError::IncompleteRead(IncompleteReadError { partial, expected: None }) if partial == b"some dataAA");
    let text = err.unwrap_err().to_string();
    check!(
        text == "11 bytes read on a total of undefined expected bytes",
        "{text}"
    );
    check_bytes!(rest(&s).await?, b"");
    Ok(())
}

pub async fn test_readuntil_limit_found_sep() -> Outcome {
    let s = reader(Some(3))?;
    s.feed_data(b"some dataAA")?;
    check_err!(s.readuntil(b"AAA").await, StreamError::LimitOverrun(LimitOverrunError { message, consumed: 9 }) if message == NOT_FOUND);
    s.feed_data(b"A")?;
    check_err!(s.readuntil(b"AAA").await, StreamError::LimitOverrun(LimitOverrunError { message, consumed: 9 }) if message == FOUND);
    check_bytes!(rest(&s).await?, b"some dataAAA");
    Ok(())
}

pub async fn test_readuntil_multi_separator() -> Outcome {
    let s = reader(None)?;
    s.feed_data(b"line 1\nline 2\r")?;
    check_bytes!(s.readuntil_any(&[b"\r", b"\n"]).await?, b"line 1\n");
    check_bytes!(s.readuntil_any(&[b"\r", b"\n"]).await?, b"line 2\r");
    s.feed_data(b"ABCDEFG")?;
    check_bytes!(s.readuntil_any(&[b"DEF", b"BCDE"]).await?, b"ABCDE");
    check_bytes!(rest(&s).await?, b"FG");
    Ok(())
}

pub async fn test_readuntil_multi_separator_limit() -> Outcome {
    let s = reader(Some(3))?;
    s.feed_data(b"some dataA")?;
    check_err!(
        s.readuntil_any(&[b"A", b"ome dataA"]).await,
        StreamError::LimitOverrun(LimitOverrunError { message, consumed: 9 }) if message == FOUND
    );
    check_bytes!(rest(&s).await?, b"some dataA");
    Ok(())
}

pub async fn test_readuntil_multi_separator_negative_offset() -> Outcome {
    let s = reader(None)?;
    s.feed_data(b"data")?;
    let (data, fed) = futures::join!(s.readuntil_any(&[b"A", b"long sep"]), async {
        feed(&s, &[b"Z", b"Aaaa"])
    });
    fed?;
    check_bytes!(data?, b"dataZA");
    check_bytes!(rest(&s).await?, b"aaa");
    Ok(())
}

pub async fn test_readuntil_bytearray() -> Outcome {
    let s = reader(None)?;
    s.feed_data(b"some data\r\n")?;
    let sep: Vec<u8> = b"\r\n".to_vec();
    check_bytes!(s.readuntil(&sep).await?, b"some data\r\n");
    check_bytes!(rest(&s).await?, b"");
    Ok(())
}

pub async fn test_readexactly_zero_or_less() -> Outcome {
    let s = reader(None)?;
    s.feed_data(DATA)?;
    check_bytes!(s.readexactly(0).await?, b"");
    // readexactly(-1) is not representable: the count is unsigned.
    check_bytes!(rest(&s).await?, DATA);
    Ok(())
}

pub async fn test_readexactly() -> Outcome {
    let s = reader(None)?;
    let n = 2 * DATA.len() as u64;
    let (data, fed) = futures::join!(s.readexactly(n), async { feed(&s, &[DATA, DATA, DATA]) });
    fed?;
    check_bytes!(data?, [DATA, DATA].concat());
    check_bytes!(rest(&s).await?, DATA);
    Ok(())
}

pub async fn test_readexactly_limit() -> Outcome {
    let s = reader(Some(3))?;
    s.feed_data(b"chunk")?;
    check_bytes!(s.readexactly(5).await?, b"chunk");
    check_bytes!(rest(&s).await?, b"");
    Ok(())
}

pub async fn test_readexactly_eof() -> Outcome {
    let s = reader(None)?;
    let n = 2 * DATA.len() as u64;
    let (data, fed) = futures::join!(s.readexactly(n), async {
        s.feed_data(DATA)?;
        s.feed_eof();
        Outcome::Ok(())
    });
    fed?;
    check_err!(&data, StreamError::IncompleteRead(IncompleteReadError { partial, expected: Some(36) }) if partial == DATA);
    let text = data.unwrap_err().to_string();
    check!(
        text == "18 bytes read on a total of 36 expected bytes",
        "{text}"
    );
    check_bytes!(rest(&s).await?, b"");
    Ok(())
}

pub async fn test_readexactly_exception() -> Outcome {
    let s = reader(None)?;
    s.feed_data(b"line\n")?;
    check_bytes!(s.readexactly(2).await?, b"li");
    s.set_exception(custom());
    check_err!(s.readexactly(2).await, e if e == custom());
    Ok(())
}

pub async fn test_exception() -> Outcome {
    let s = reader(None)?;
    check!(s.exception().is_none());
    s.set_exception(custom());
    check!(s.exception() == Some(custom()));
    Ok(())
}

pub async fn test_exception_waiter() -> Outcome {
    let s = reader(None)?;
    let (line, ()) = futures::join!(s.readline(), async { s.set_exception(custom()) });
    check_err!(line, e if e == custom());
    Ok(())
}

pub async fn test_exception_cancel() -> Outcome {
    let s = reader(None)?;
    {
        // Start a readline, let it wait, then cancel it by dropping it.
        let mut pending = Box::pin(s.readline());
        check!(
            (&mut pending).now_or_never().is_none(),
            "readline should wait"
        );
    }
    s.set_exception(StreamError::InvalidState("message".into()));
    check!(s.exception() == Some(StreamError::InvalidState("message".into())));
    // The cancelled read no longer counts as waiting: a new one may wait.
    let s = reader(None)?;
    {
        let mut pending = Box::pin(s.readline());
        check!(
            (&mut pending).now_or_never().is_none(),
            "readline should wait"
        );
    }
    let (line, fed) = futures::join!(s.readline(), async { s.feed_data(b"ok\n") });
    fed?;
    check_bytes!(line?, b"ok\n");
    Ok(())
}

/// `async for line in reader` (StreamReader.__anext__).
pub async fn test_async_iteration_by_lines() -> Outcome {
    let s = reader(None)?;
    s.feed_data(DATA)?;
    s.feed_data(b"tail")?;
    s.feed_eof();
    let mut lines = Vec::new();
    while let Some(line) = s.next_line().await {
        lines.push(line?);
    }
    check!(
        lines == [&b"line1\n"[..], b"line2\n", b"line3\n", b"tail"],
        "{lines:?}"
    );
    Ok(())
}

/// `_wait_for_data`: a second read that would wait raises RuntimeError.
pub async fn test_concurrent_waiting_reads() -> Outcome {
    let s = reader(None)?;
    let (first, second) = futures::join!(s.read(1), async {
        let second = s.read(1).await;
        s.feed_data(b"x")?;
        Ok::<_, Fail>(second)
    });
    check_err!(second?, StreamError::InvalidState(m) if m.contains("already waiting"));
    check_bytes!(first?, b"x");
    Ok(())
}

/// `feed_data` after `feed_eof` (asyncio asserts).
pub async fn test_feed_data_after_eof() -> Outcome {
    let s = reader(None)?;
    s.feed_data(b"x")?;
    s.feed_eof();
    check_err!(s.feed_data(b"y"), StreamError::InvalidState(_));
    check_bytes!(rest(&s).await?, b"x");
    Ok(())
}
