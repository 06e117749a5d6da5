//! Refresh ahead of expiry: one task holding a timer per token cell, each due at its
//! token's expiry minus the margin, re-armed whenever a token is published. Nothing
//! polls: an idle cluster makes no calls until a token is due.
//!
//! A binary heap of deadlines; re-arming pushes a new entry with the cell's next
//! generation, and entries of older generations are skipped when they come due.
//! (tokio-util's `DelayQueue` would need its `time` feature, rebuilding the HTTP stack.)

use std::cmp::{Ordering, Reverse};
use std::collections::BinaryHeap;
use std::sync::atomic::Ordering::AcqRel;
use std::sync::atomic::Ordering::Acquire;
use std::sync::{Arc, Mutex, Weak};
use std::time::Duration;

use tokio::sync::Notify;
use tokio::task::JoinHandle;
use tokio::time::Instant;

use super::cell::TokenCell;

/// Refreshes ahead of expiry ask upstream at most this often per token.
pub const BACKGROUND_SPACING: Duration = Duration::from_secs(30);

struct Entry {
    at: Instant,
    generation: u64,
    cell: Weak<TokenCell>,
}

impl PartialEq for Entry {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other) == Ordering::Equal
    }
}

impl Eq for Entry {}

impl PartialOrd for Entry {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Entry {
    fn cmp(&self, other: &Self) -> Ordering {
        (self.at, self.generation).cmp(&(other.at, other.generation))
    }
}

#[derive(Default)]
struct Queue {
    heap: Mutex<BinaryHeap<Reverse<Entry>>>,
    wake: Notify,
}

impl Queue {
    fn heap(&self) -> std::sync::MutexGuard<'_, BinaryHeap<Reverse<Entry>>> {
        self.heap.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The cells whose current timer is due now.
    fn due(&self) -> Vec<Arc<TokenCell>> {
        let now = Instant::now();
        let mut heap = self.heap();
        let mut due = Vec::new();
        while heap.peek().is_some_and(|Reverse(e)| e.at <= now) {
            let Some(Reverse(entry)) = heap.pop() else {
                break;
            };
            if let Some(cell) = entry.cell.upgrade() {
                if cell.armed.load(Acquire) == entry.generation {
                    due.push(cell);
                }
            }
        }
        due
    }
}

/// The timer task; it stops when the scheduler is dropped.
pub struct Scheduler {
    queue: Arc<Queue>,
    task: JoinHandle<()>,
}

impl Scheduler {
    pub fn start() -> Scheduler {
        let queue = Arc::new(Queue::default());
        let task = tokio::spawn(run(Arc::clone(&queue)));
        Scheduler { queue, task }
    }

    /// (Re)arms the cell's timer: any earlier one no longer fires.
    pub fn arm(&self, cell: &Arc<TokenCell>, at: Instant) {
        let generation = cell.armed.fetch_add(1, AcqRel) + 1;
        self.queue.heap().push(Reverse(Entry {
            at,
            generation,
            cell: Arc::downgrade(cell),
        }));
        self.queue.wake.notify_one();
    }

    pub fn disarm(&self, cell: &TokenCell) {
        cell.armed.fetch_add(1, AcqRel);
    }
}

impl Drop for Scheduler {
    fn drop(&mut self) {
        self.task.abort();
    }
}

async fn run(queue: Arc<Queue>) {
    loop {
        let next = queue.heap().peek().map(|Reverse(e)| e.at);
        match next {
            Some(at) => tokio::select! {
                () = tokio::time::sleep_until(at) => {}
                () = queue.wake.notified() => {}
            },
            None => queue.wake.notified().await,
        }
        for cell in queue.due() {
            tokio::spawn(cell.refresh_ahead());
        }
    }
}
