//! The small assertion vocabulary of the cases.

use wasio_guest::StreamError;
use wasio_guest::pyrepr::repr_bytes;

/// Why a case failed.
#[derive(Debug)]
pub struct Fail(pub String);

impl From<StreamError> for Fail {
    fn from(e: StreamError) -> Self {
        Fail(format!("unexpected error: {e} ({e:?})"))
    }
}

/// A case's result.
pub type Outcome = Result<(), Fail>;

/// Fails unless `actual == expected`, showing bytes as Python does.
pub fn bytes_eq(actual: &[u8], expected: &[u8], at: &str) -> Outcome {
    if actual == expected {
        Ok(())
    } else {
        Err(Fail(format!(
            "{at}: got {}, expected {}",
            repr_bytes(actual),
            repr_bytes(expected)
        )))
    }
}

/// `check!(cond)`: fails with the condition's text.
#[macro_export]
macro_rules! check {
    ($cond:expr) => {
        if !$cond {
            return Err($crate::check::Fail(format!("line {}: {}", line!(), stringify!($cond))));
        }
    };
    ($cond:expr, $($msg:tt)+) => {
        if !$cond {
            return Err($crate::check::Fail(format!("line {}: {}", line!(), format!($($msg)+))));
        }
    };
}

/// `check_bytes!(actual, expected)`.
#[macro_export]
macro_rules! check_bytes {
    ($actual:expr, $expected:expr) => {
        $crate::check::bytes_eq(&$actual, &$expected[..], &format!("line {}", line!()))?
    };
}

/// `check_err!(result, pattern)`: the result is an error matching `pattern`.
#[macro_export]
macro_rules! check_err {
    ($result:expr, $pat:pat $(if $guard:expr)?) => {
        match $result {
            Err($pat) $(if $guard)? => {}
            other => {
                return Err($crate::check::Fail(format!(
                    "line {}: expected {}, got {:?}",
                    line!(),
                    stringify!($pat),
                    other
                )))
            }
        }
    };
}
