//! The test handlers' wire protocol (shared by `test-handler` and
//! `test-blocking`): commands are lines, answers are frames.

use wasio_guest::StreamError;

/// Bytes from hex text (`0a0d` is `\n\r`); odd or bad digits are skipped.
pub fn hex(s: &str) -> Vec<u8> {
    (0..s.len() / 2)
        .filter_map(|i| u8::from_str_radix(s.get(2 * i..2 * i + 2)?, 16).ok())
        .collect()
}

/// The answer frame of a command's result.
pub fn frame(result: Result<Vec<u8>, StreamError>) -> Vec<u8> {
    match result {
        Ok(data) => [format!("ok {}\n", data.len()).into_bytes(), data].concat(),
        Err(StreamError::IncompleteRead(e)) => {
            let expected = e.expected.map_or("none".to_string(), |n| n.to_string());
            let head = format!("err incomplete-read {expected} {}\n", e.partial.len());
            [head.into_bytes(), e.partial].concat()
        }
        Err(StreamError::LimitOverrun(e)) => {
            format!("err limit-overrun {}\n", e.consumed).into_bytes()
        }
        Err(e) => format!("err {}\n", e.kind()).into_bytes(),
    }
}

/// `flood N`'s data: chunk `[from, to)` of the pattern `i % 251`.
pub fn pattern(from: u64, to: u64) -> Vec<u8> {
    (from..to).map(|i| (i % 251) as u8).collect()
}

/// Runs forever without calling the host: the CPU watchdog must stop it.
pub fn spin() -> ! {
    let mut x = 0u64;
    loop {
        x = std::hint::black_box(x.wrapping_add(1));
    }
}

/// Allocates (and touches) memory without bound: the memory limit must
/// stop it.
pub fn alloc() -> ! {
    let mut hoard: Vec<Vec<u8>> = Vec::new();
    loop {
        hoard.push(vec![1u8; 1 << 20]);
        std::hint::black_box(&hoard);
    }
}
