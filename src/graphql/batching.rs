//! When DataLoader batches start. async-graphql starts a batch a fixed delay after its first
//! key; a request that takes longer than that to reach every key of one level (a page of 100
//! parents, a busy machine) then splits the level into several statements. Here a batch starts
//! only once the request has nothing left to do but wait: every resolver of the level has
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

type Parked = Arc<Mutex<Vec<BoxFuture<'static, ()>>>>;

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
            request: Box::pin(request),
            parked: self.parked.clone(),
        }
        .await
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
}

impl<F: Future> Future for Gate<F> {
    type Output = F::Output;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<F::Output> {
        let woken = Arc::new(WakeFlag {
            woken: AtomicBool::new(false),
            outer: cx.waker().clone(),
        });
        let waker = Waker::from(woken.clone());
        let poll = self.request.as_mut().poll(&mut Context::from_waker(&waker));
        if poll.is_pending() && !woken.woken.load(Ordering::SeqCst) {
            // Idle: everything the request could do without the parked batches, it has done.
            for batch in lock(&self.parked).drain(..) {
                tokio::spawn(batch);
            }
        }
        // When the request woke itself while being polled (a cooperative yield), it has more
        // to do before it is idle; it will be polled again, since the outer waker was woken.
        poll
    }
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
