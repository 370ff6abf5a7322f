//! Bounded channels with a named drop counter.
//!
//! Every queue on the pipeline is bounded. Bulk telemetry (kernel events) is offered with
//! [`CountedSender::offer`], which never waits: when the queue is full the event is dropped and
//! counted, so the ring-buffer reader never stalls on a slow consumer. Security-relevant,
//! low-rate input (auth lines, findings) uses [`CountedSender::send`], which waits for room and
//! loses nothing.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use tokio::sync::mpsc;

/// Counts what one channel dropped. Cloned handles share the count.
#[derive(Debug, Clone)]
pub struct DropCounter {
    name: &'static str,
    dropped: Arc<AtomicU64>,
}

impl DropCounter {
    pub fn new(name: &'static str) -> Self {
        Self {
            name,
            dropped: Arc::new(AtomicU64::new(0)),
        }
    }

    /// The channel's name as it appears in Loss events and status (`<name>_dropped_total`).
    pub fn name(&self) -> &'static str {
        self.name
    }

    pub fn add(&self, n: u64) {
        self.dropped.fetch_add(n, Ordering::Relaxed);
    }

    /// Total dropped since start.
    pub fn total(&self) -> u64 {
        self.dropped.load(Ordering::Relaxed)
    }
}

/// The sending half of a bounded channel that knows its drop counter.
#[derive(Debug)]
pub struct CountedSender<T> {
    tx: mpsc::Sender<T>,
    drops: DropCounter,
}

impl<T> Clone for CountedSender<T> {
    fn clone(&self) -> Self {
        Self {
            tx: self.tx.clone(),
            drops: self.drops.clone(),
        }
    }
}

/// Why a send did not deliver.
#[derive(Debug, thiserror::Error)]
#[error("channel {name} is closed: the pipeline has stopped")]
pub struct Closed {
    pub name: &'static str,
}

impl<T> CountedSender<T> {
    /// Offer without waiting. Returns false (and counts a drop) when the queue is full.
    /// A closed channel is an error: the consumer is gone and the producer should stop.
    pub fn offer(&self, value: T) -> Result<bool, Closed> {
        match self.tx.try_send(value) {
            Ok(()) => Ok(true),
            Err(mpsc::error::TrySendError::Full(_)) => {
                self.drops.add(1);
                Ok(false)
            }
            Err(mpsc::error::TrySendError::Closed(_)) => Err(Closed {
                name: self.drops.name(),
            }),
        }
    }

    /// Wait for room and deliver; loses nothing.
    pub async fn send(&self, value: T) -> Result<(), Closed> {
        self.tx.send(value).await.map_err(|_| Closed {
            name: self.drops.name(),
        })
    }

    /// Blocking variant of [`Self::send`] for producers on plain threads.
    pub fn blocking_send(&self, value: T) -> Result<(), Closed> {
        self.tx.blocking_send(value).map_err(|_| Closed {
            name: self.drops.name(),
        })
    }

    pub fn drops(&self) -> &DropCounter {
        &self.drops
    }
}

/// A bounded channel of `capacity` items whose drops are counted under `name`.
pub fn bounded<T>(name: &'static str, capacity: usize) -> (CountedSender<T>, mpsc::Receiver<T>) {
    let (tx, rx) = mpsc::channel(capacity);
    (
        CountedSender {
            tx,
            drops: DropCounter::new(name),
        },
        rx,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn full_channel_counts_drops_and_never_waits() {
        let (tx, mut rx) = bounded::<u32>("test", 2);
        assert!(tx.offer(1).expect("open"));
        assert!(tx.offer(2).expect("open"));
        assert!(!tx.offer(3).expect("open"));
        assert_eq!(tx.drops().total(), 1);
        assert_eq!(rx.recv().await, Some(1));
        assert!(tx.offer(4).expect("open"));
        drop(rx);
        assert!(tx.offer(5).is_err());
    }
}
