//! When DataLoader batches start. async-graphql starts a batch a fixed delay after its first
//! key; a request that takes longer than that to reach every key of one level (a page of 100
//! parents, a busy machine) then splits the level into several statements. Here a batch starts
//! only once the request has nothing left to do but wait: every resolver that can run has
//! registered its key, so one level is one batch however many rows it holds and however slow
//! the machine is.
//!
//! `BatchScheduler::spawner` is given to the loaders in place of `tokio::spawn`; it parks the
//! batch. `BatchScheduler::run` drives the request and, each time the request is idle (pending,
//! and not merely yielding to be cooperative), hands the parked batches to tokio.

use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll, Wake, Waker};

use futures_util::future::BoxFuture;
use futures_util::Stream;

type Parked = Arc<Mutex<Vec<BoxFuture<'static, ()>>>>;

/// Polls in a row that may pass with batches parked before they start anyway: a safeguard
/// against a request that keeps waking itself and would otherwise never look idle.
const MAX_BUSY_POLLS: u32 = 64;

/// The batch scheduler of one request.
#[derive(Clone, Default)]
pub struct BatchScheduler {
    parked: Parked,
}

impl BatchScheduler {
    pub fn new() -> Self {
        Self::default()
    }

    /// A DataLoader spawner that parks batches until the request is idle.
    pub fn spawner(&self) -> impl Fn(BoxFuture<'static, ()>) + Send + Sync + 'static {
        let parked = self.parked.clone();
        move |batch| lock(&parked).push(batch)
    }

    /// Runs `request` (the GraphQL execution that uses the loaders) to completion.
    pub async fn run<F: Future>(&self, request: F) -> F::Output {
        Gate {
            // tokio's cooperative budget would make the request return Pending and defer its
            // own wake-up until after the poll, which looks exactly like idleness here. The
            // request only awaits the database and the loaders, so opting out costs nothing.
            request: Box::pin(tokio::task::unconstrained(request)),
            parked: self.parked.clone(),
            busy_polls: 0,
        }
        .await
    }

    /// Runs `stream` (a subscription's, whose items use the loaders) with the same gate: a
    /// batch starts once the item being resolved has nothing left to do but wait.
    pub fn run_stream<S: Stream>(&self, stream: S) -> impl Stream<Item = S::Item> {
        StreamGate {
            stream: Box::pin(stream),
            parked: self.parked.clone(),
            busy_polls: 0,
        }
    }
}

fn lock(parked: &Parked) -> std::sync::MutexGuard<'_, Vec<BoxFuture<'static, ()>>> {
    // A panic while pushing cannot leave the Vec half-written; keep going with it.
    parked
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

struct Gate<F: Future> {
    request: Pin<Box<F>>,
    parked: Parked,
    busy_polls: u32,
}

impl<F: Future> Future for Gate<F> {
    type Output = F::Output;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<F::Output> {
        let this = &mut *self;
        poll_gated(&this.parked, &mut this.busy_polls, cx, |cx| {
            this.request.as_mut().poll(cx)
        })
    }
}

/// A subscription's stream under a scheduler: each item is resolved like a request.
struct StreamGate<S: Stream> {
    stream: Pin<Box<S>>,
    parked: Parked,
    busy_polls: u32,
}

impl<S: Stream> Stream for StreamGate<S> {
    type Item = S::Item;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<S::Item>> {
        let this = &mut *self;
        poll_gated(&this.parked, &mut this.busy_polls, cx, |cx| {
            this.stream.as_mut().poll_next(cx)
        })
    }
}

/// Polls with `poll`, then starts the parked batches if that left the work idle.
fn poll_gated<T>(
    parked: &Parked,
    busy_polls: &mut u32,
    cx: &mut Context<'_>,
    poll: impl FnOnce(&mut Context<'_>) -> Poll<T>,
) -> Poll<T> {
    let woken = Arc::new(WakeFlag {
        woken: AtomicBool::new(false),
        outer: cx.waker().clone(),
    });
    let waker = Waker::from(woken.clone());
    let polled = poll(&mut Context::from_waker(&waker));
    if polled.is_ready() {
        return polled;
    }
    // When the work woke itself while being polled (a cooperative yield, as futures-util's
    // `FuturesUnordered` does every 32 futures), it has more to do before it is idle; it will
    // be polled again, since the outer waker was woken.
    let busy = woken.woken.load(Ordering::SeqCst);
    *busy_polls = if busy { *busy_polls + 1 } else { 0 };
    if !busy || *busy_polls >= MAX_BUSY_POLLS {
        *busy_polls = 0;
        for batch in lock(parked).drain(..) {
            tokio::spawn(batch);
        }
    }
    polled
}

/// Wakes the outer task and records that it happened.
struct WakeFlag {
    woken: AtomicBool,
    outer: Waker,
}

impl Wake for WakeFlag {
    fn wake(self: Arc<Self>) {
        self.wake_by_ref();
    }

    fn wake_by_ref(self: &Arc<Self>) {
        self.woken.store(true, Ordering::SeqCst);
        self.outer.wake_by_ref();
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;
    use std::sync::Mutex;
    use std::time::Duration;

    use async_graphql::dataloader::{DataLoader, Loader};

    use super::*;

    /// Records the keys of every batch it is asked for.
    #[derive(Clone, Default)]
    struct RecordingLoader(Arc<Mutex<Vec<Vec<i32>>>>);

    impl Loader<i32> for RecordingLoader {
        type Value = i32;
        type Error = String;

        async fn load(&self, keys: &[i32]) -> Result<HashMap<i32, i32>, String> {
            let mut keys = keys.to_vec();
            keys.sort();
            self.0.lock().map_err(|e| e.to_string())?.push(keys.clone());
            Ok(keys.into_iter().map(|key| (key, key * 10)).collect())
        }
    }

    /// Yields to the scheduler `n` times the way `FuturesUnordered` does: wake, then Pending.
    async fn cooperative_yields(n: usize) {
        let mut left = n;
        std::future::poll_fn(move |cx| {
            if left == 0 {
                return Poll::Ready(());
            }
            left -= 1;
            cx.waker().wake_by_ref();
            Poll::Pending
        })
        .await;
    }

    fn loader(
        scheduler: &BatchScheduler,
        batches: &RecordingLoader,
    ) -> DataLoader<RecordingLoader> {
        DataLoader::new(batches.clone(), scheduler.spawner()).delay(Duration::ZERO)
    }

    /// Under a scheduler, loads key 1 at once and key 2 once `between` is done; returns the
    /// batches the loader was asked for.
    async fn batches_when_the_second_key_waits_for(
        between: impl Future<Output = ()>,
    ) -> Vec<Vec<i32>> {
        let batches = RecordingLoader::default();
        let scheduler = BatchScheduler::new();
        let loader = loader(&scheduler, &batches);
        let (first, second) = scheduler
            .run(async {
                futures_util::join!(loader.load_one(1), async {
                    between.await;
                    loader.load_one(2).await
                })
            })
            .await;
        assert_eq!((first, second), (Ok(Some(10)), Ok(Some(20))));
        let recorded = batches.0.lock().expect("lock").clone();
        recorded
    }

    #[tokio::test]
    async fn keys_registered_across_cooperative_yields_share_one_batch() {
        // The request yields many times between the keys, but never waits: still one level.
        let batches =
            batches_when_the_second_key_waits_for(cooperative_yields(MAX_BUSY_POLLS as usize / 2))
                .await;
        assert_eq!(batches, vec![vec![1, 2]]);
    }

    #[tokio::test]
    async fn a_request_that_waits_starts_the_parked_batch() {
        // The request waits on a timer (idle): the first batch must not wait for the second key.
        let batches =
            batches_when_the_second_key_waits_for(tokio::time::sleep(Duration::from_millis(20)))
                .await;
        assert_eq!(batches, vec![vec![1], vec![2]]);
    }

    #[tokio::test]
    async fn a_request_that_never_rests_still_gets_its_batches() {
        // Arrange
        let batches = RecordingLoader::default();
        let scheduler = BatchScheduler::new();
        let loader = loader(&scheduler, &batches);

        // Act: something keeps waking the request long after the key was registered.
        let (value, ()) = scheduler
            .run(async {
                futures_util::join!(
                    loader.load_one(1),
                    cooperative_yields(MAX_BUSY_POLLS as usize * 4)
                )
            })
            .await;

        // Assert
        assert_eq!(value, Ok(Some(10)));
    }
}
