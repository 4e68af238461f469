//! Idle timeouts: one sweeper task per server closes the connections that
//! have moved no byte for the timeout.
//!
//! A watcher task and a timer per connection cost about as much as a
//! short connection's whole exchange, so connections are kept in one
//! table instead, and a single task looks at all of them every
//! [sweep period](sweep_period) (an eighth of the timeout, between 10 ms
//! and 1 s). A sweep learns only whether a connection moved bytes since
//! the last one, not when (a flag per socket: no clock read per message),
//! so a connection is closed between the timeout and two periods after it
//! since its last byte, never before.
//!
//! The table holds weak references, so it never keeps a connection open;
//! the [`IdleGuard`] that removes a connection's entry is meant to be
//! [attached](super::writer::WriterHandle::attach) to its writer, so the
//! watch lasts exactly as long as the connection, even when a guest keeps
//! it after its handler returned.

use super::lock;
use super::reader::WeakReader;
use super::writer::WeakWriter;
use crate::streams::StreamError;
use std::collections::HashMap;
use std::sync::{Arc, Mutex, Weak};
use std::time::Duration;

/// Watches connections for idleness; see the [module docs](self).
pub struct IdleSweeper {
    shared: Arc<Shared>,
}

struct Shared {
    timeout: Duration,
    table: Mutex<Table>,
}

#[derive(Default)]
struct Table {
    next_key: u64,
    watched: HashMap<u64, Watched>,
}

/// What closing an idle connection needs.
#[derive(Clone)]
struct Watched {
    peer: Arc<str>,
    reader: WeakReader,
    writer: WeakWriter,
}

/// Keeps a connection under watch; dropping it stops watching.
#[must_use = "the connection is watched only while the guard lives"]
pub struct IdleGuard {
    shared: Arc<Shared>,
    key: u64,
}

impl IdleSweeper {
    /// Starts the sweeper task on the current Tokio runtime. It ends once
    /// this sweeper and every [`IdleGuard`] are dropped.
    pub fn start(timeout: Duration) -> Self {
        let shared = Arc::new(Shared {
            timeout,
            table: Mutex::new(Table::default()),
        });
        tokio::spawn(sweep(Arc::downgrade(&shared), sweep_period(timeout)));
        Self { shared }
    }

    /// Watches a connection until the returned guard is dropped: when it
    /// is idle for the timeout, its pending read fails with
    /// [`StreamError::TimedOut`] and the socket is shut down.
    pub fn watch(&self, peer: &str, reader: WeakReader, writer: WeakWriter) -> IdleGuard {
        let mut table = lock(&self.shared.table);
        let key = table.next_key;
        table.next_key += 1;
        table.watched.insert(
            key,
            Watched {
                peer: peer.into(),
                reader,
                writer,
            },
        );
        IdleGuard {
            shared: self.shared.clone(),
            key,
        }
    }
}

impl Drop for IdleGuard {
    fn drop(&mut self) {
        lock(&self.shared.table).watched.remove(&self.key);
    }
}

/// How often the table is scanned: an eighth of the timeout, within 10 ms
/// and 1 s.
pub fn sweep_period(timeout: Duration) -> Duration {
    (timeout / 8).clamp(Duration::from_millis(10), Duration::from_secs(1))
}

async fn sweep(shared: Weak<Shared>, period: Duration) {
    let mut ticks = tokio::time::interval(period);
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        ticks.tick().await;
        let Some(shared) = shared.upgrade() else {
            return;
        };
        // Look at a copy, outside the lock: the writer handles upgraded
        // here may be the last ones, and dropping a writer drops its guard,
        // which takes the lock.
        let watched: Vec<Watched> = lock(&shared.table).watched.values().cloned().collect();
        for w in watched {
            let Some(writer) = w.writer.upgrade() else {
                continue;
            };
            if writer.is_closed() || writer.quiet_for() < shared.timeout {
                continue;
            }
            tracing::info!(peer = %w.peer, idle = ?shared.timeout, "idle timeout: closing the connection");
            if let Some(reader) = w.reader.upgrade() {
                reader.set_exception(StreamError::TimedOut("idle timeout".into()));
            }
            writer.abort();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::sweep_period;
    use std::time::Duration;

    #[test]
    fn the_sweep_period_is_an_eighth_of_the_timeout_within_bounds() {
        assert_eq!(
            sweep_period(Duration::from_secs(4)),
            Duration::from_millis(500)
        );
        assert_eq!(
            sweep_period(Duration::from_secs(60)),
            Duration::from_secs(1)
        );
        assert_eq!(
            sweep_period(Duration::from_millis(20)),
            Duration::from_millis(10)
        );
    }
}
