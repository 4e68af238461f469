//! Property test: [`ReadBuffer`] against a deliberately naive model of
//! asyncio's rules (a whole-buffer search on every poll, no saved scan
//! offset), over random feeds, EOFs, limits and operations. An operation
//! that waits is polled again after every feed, as the I/O layer does.

use super::*;
use proptest::prelude::*;

/// asyncio's StreamReader, written as plainly as possible.
struct Model {
    buf: Vec<u8>,
    limit: usize,
    eof: bool,
}

fn overrun(message: &str, consumed: usize) -> StreamError {
    StreamError::LimitOverrun {
        message: message.into(),
        consumed: consumed as u64,
    }
}

impl Model {
    fn take(&mut self, n: usize) -> Bytes {
        Bytes::from(self.buf.drain(..n).collect::<Vec<u8>>())
    }

    fn read(&mut self, n: i64) -> Poll<StreamResult<Bytes>> {
        match n {
            0 => Poll::Ready(Ok(Bytes::new())),
            n if n < 0 && self.eof => Poll::Ready(Ok(self.take(self.buf.len()))),
            n if n < 0 => Poll::Pending,
            _ if self.buf.is_empty() && !self.eof => Poll::Pending,
            n => Poll::Ready(Ok(self.take((n as usize).min(self.buf.len())))),
        }
    }

    fn readexactly(&mut self, n: usize) -> Poll<StreamResult<Bytes>> {
        if self.buf.len() >= n {
            Poll::Ready(Ok(self.take(n)))
        } else if self.eof {
            let partial = self.take(self.buf.len());
            Poll::Ready(Err(StreamError::IncompleteRead {
                partial,
                expected: Some(n as u64),
            }))
        } else {
            Poll::Pending
        }
    }

    fn readuntil(&mut self, seps: &[&[u8]]) -> Poll<StreamResult<Bytes>> {
        let min = seps.iter().map(|s| s.len()).min().unwrap();
        let max = seps.iter().map(|s| s.len()).max().unwrap();
        let len = self.buf.len();
        if len >= min {
            let best = seps
                .iter()
                .filter_map(|sep| {
                    let start = self.buf.windows(sep.len()).position(|w| w == *sep)?;
                    Some((start + sep.len(), sep.len(), start))
                })
                .min();
            if let Some((end, _, start)) = best {
                return Poll::Ready(if start > self.limit {
                    Err(overrun(FOUND_BEYOND, start))
                } else {
                    Ok(self.take(end))
                });
            }
            let offset = (len + 1).saturating_sub(max);
            if offset > self.limit {
                return Poll::Ready(Err(overrun(NOT_FOUND, offset)));
            }
        }
        if self.eof {
            let partial = self.take(len);
            return Poll::Ready(Err(StreamError::IncompleteRead {
                partial,
                expected: None,
            }));
        }
        Poll::Pending
    }

    fn readline(&mut self) -> Poll<StreamResult<Bytes>> {
        match self.readuntil(&[b"\n"]) {
            Poll::Ready(Err(StreamError::IncompleteRead { partial, .. })) => {
                Poll::Ready(Ok(partial))
            }
            Poll::Ready(Err(StreamError::LimitOverrun { message, consumed })) => {
                let at = consumed as usize;
                if self.buf.get(at) == Some(&b'\n') {
                    self.take(at + 1);
                } else {
                    self.buf.clear();
                }
                Poll::Ready(Err(StreamError::LimitOverrun { message, consumed }))
            }
            other => other,
        }
    }
}

#[derive(Debug, Clone)]
enum Op {
    Read(i64),
    Readline,
    Readexactly(u64),
    Readuntil(Vec<Vec<u8>>),
}

#[derive(Debug, Clone)]
enum Step {
    Feed(Vec<u8>),
    Eof,
    Start(Op),
}

fn byte() -> impl Strategy<Value = u8> {
    prop_oneof![Just(b'a'), Just(b'b'), Just(b'\n'), Just(b'X')]
}

fn op() -> impl Strategy<Value = Op> {
    let sep = prop::collection::vec(byte(), 1..4);
    prop_oneof![
        (-1i64..12).prop_map(Op::Read),
        Just(Op::Readline),
        (0u64..24).prop_map(Op::Readexactly),
        prop::collection::vec(sep, 1..4).prop_map(Op::Readuntil),
    ]
}

fn step() -> impl Strategy<Value = Step> {
    prop_oneof![
        4 => prop::collection::vec(byte(), 0..10).prop_map(Step::Feed),
        1 => Just(Step::Eof),
        4 => op().prop_map(Step::Start),
    ]
}

/// Polls the running operation on both sides; they must agree.
fn poll_both(
    op: &Op,
    scan: &mut ScanState,
    real: &mut ReadBuffer,
    model: &mut Model,
) -> Result<bool, TestCaseError> {
    let (got, want) = match op {
        Op::Read(n) => (real.poll_read(*n), model.read(*n)),
        Op::Readline => (real.poll_readline(scan), model.readline()),
        Op::Readexactly(n) => (real.poll_readexactly(*n), model.readexactly(*n as usize)),
        Op::Readuntil(seps) => {
            let seps: Vec<&[u8]> = seps.iter().map(Vec::as_slice).collect();
            (real.poll_readuntil(&seps, scan), model.readuntil(&seps))
        }
    };
    prop_assert_eq!(&got, &want, "{:?}", op);
    prop_assert_eq!(real.len(), model.buf.len());
    Ok(got.is_ready())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 10_000, ..ProptestConfig::default() })]

    #[test]
    fn read_buffer_matches_the_model(limit in 1usize..12, steps in prop::collection::vec(step(), 1..40)) {
        let mut real = ReadBuffer::new(limit).unwrap();
        let mut model = Model { buf: Vec::new(), limit, eof: false };
        let mut running: Option<(Op, ScanState)> = None;
        for step in steps {
            match step {
                Step::Feed(data) => {
                    prop_assert_eq!(real.feed_data(&data).is_ok(), !model.eof);
                    if !model.eof {
                        model.buf.extend_from_slice(&data);
                    }
                }
                Step::Eof => {
                    real.feed_eof();
                    model.eof = true;
                }
                Step::Start(op) => {
                    if running.is_none() {
                        running = Some((op, ScanState::default()));
                    }
                }
            }
            if let Some((op, scan)) = running.as_mut()
                && poll_both(op, scan, &mut real, &mut model)?
            {
                running = None;
            }
            prop_assert_eq!(real.at_eof(), model.eof && model.buf.is_empty());
        }
    }
}
