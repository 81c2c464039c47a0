//! Loaders made on first use. A request uses two or three of the dozen loaders of `Loaders`;
//! making every one up front (each a DataLoader with its own maps, locks and cache) cost about
//! thirty allocations per request, most of them for nothing.

use std::ops::Deref;
use std::sync::{Arc, OnceLock};

use crate::db::reads::Reads;
use crate::loaders::batching::BatchScheduler;

/// What every loader of a request is made with; shared by its `Lazy` loaders.
pub struct Makings {
    pub db: Reads,
    pub scheduler: BatchScheduler,
}

/// A loader made by `make` the first time it is used.
pub struct Lazy<T> {
    made: OnceLock<T>,
    makings: Arc<Makings>,
    make: fn(&Makings) -> T,
}

impl<T> Lazy<T> {
    pub fn new(makings: &Arc<Makings>, make: fn(&Makings) -> T) -> Self {
        Lazy {
            made: OnceLock::new(),
            makings: Arc::clone(makings),
            make,
        }
    }

    /// The loader, if it has been used.
    pub fn made(&self) -> Option<&T> {
        self.made.get()
    }
}

impl<T> Deref for Lazy<T> {
    type Target = T;

    fn deref(&self) -> &T {
        self.made.get_or_init(|| (self.make)(&self.makings))
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};

    use super::*;

    static MADE: AtomicUsize = AtomicUsize::new(0);

    fn counted(_: &Makings) -> usize {
        MADE.fetch_add(1, Ordering::SeqCst) + 1
    }

    #[tokio::test]
    async fn a_loader_is_made_once_and_only_when_used() {
        // Arrange
        let db = sea_orm::Database::connect("sqlite::memory:")
            .await
            .expect("an in-memory database");
        let makings = Arc::new(Makings {
            db: Reads::new(db, 1, std::time::Duration::from_secs(1), None),
            scheduler: BatchScheduler::new(),
        });
        let lazy = Lazy::new(&makings, counted);
        let before = MADE.load(Ordering::SeqCst);

        // Act / Assert
        assert!(lazy.made().is_none());
        assert_eq!(MADE.load(Ordering::SeqCst), before, "made before use");
        let first = *lazy;
        let second = *lazy;
        assert_eq!(first, second);
        assert_eq!(MADE.load(Ordering::SeqCst), before + 1, "made once");
        assert!(lazy.made().is_some());
    }
}
