//! The connection the API reads through. On PostgreSQL, a read keeps its pooled connection
//! checked out once its statement has finished, for the next read to use.
//!
//! Why: SQLx's pool tests every connection handed back to it with a round trip to the server (a
//! `Sync` message, answered by `ReadyForQuery`), so each statement cost two round trips, and the
//! database as much CPU for the test as for a small query. A connection kept here is only ever
//! put back after a statement that ran to its end, when there is nothing left to test: the
//! protocol is at rest. A statement that fails drops its connection, which goes back to the
//! pool and is tested there as before. One cancelled half-way (a request past its time limit, a
//! client gone) leaves its connection to a task that waits for the statement's end and keeps it
//! then, still counted against reads' share (`Lease`). A kept connection idle for
//! `IDLE_BEFORE_RETURN` goes back too (a sweep every `SWEEP_EVERY`), so a burst of reads does
//! not hold connections once it is over; so does one kept for `KEEP_AT_MOST` since it left the
//! pool, so the pool's `max_lifetime` still applies.
//!
//! A read whose kept connection the server closed (a restart, a failover) hands every idle kept
//! connection back to the pool and runs again on one from the pool, and on the next if that
//! one died too (the pool hands out recently used connections untested): the client does not
//! pay for connections that died while idle. Only reads come through here (`SELECT`s: running
//! one twice is harmless); writes go through the `DatabaseConnection`.
//!
//! A kept connection goes, when it can, to a read on the thread whose runtime opened it. Each
//! actix worker runs a runtime of its own, and a connection's socket is served by the runtime
//! that opened it: a worker reading on another's connection is woken through the other's
//! thread (an `epoll_wait` there, then a wake-up sent across) for every answer. A connection
//! the pool opens for a read is marked with the read's thread (`Home`); a read takes the most
//! recently used kept connection of its own thread, and only when there is none the most
//! recently used of any (so reads never hold more connections than before). `bench/ROUNDS.md`
//! has what this saved.
//!
//! For the same reason, each worker thread has a share of the connections reads may hold
//! (`Shares`). A read that waited for a connection another thread let go was woken from that
//! thread, and then often took that thread's connection. A read whose thread's share is taken
//! now waits for it, given back by a read on the same runtime, so its thread's kept
//! connections are enough for it. It takes any connection to spare when another thread has
//! no read in flight, or once it has waited `SHARE_PATIENCE` (its thread's share held by slow
//! statements). With more requests than connections, threads woke each other about 0.8 times
//! per request before (`strace` counts the `eventfd` writes), 0.3 times after.
//!
//! Reads keep at most `max_connections - RESERVED` connections, in use or idle: the PostgreSQL
//! event listener (one, held for good), writes and account lookups always find the rest in the
//! pool. Everything but
//! reads on PostgreSQL (writes, transactions, SQLite, MariaDB) goes through the
//! `DatabaseConnection` unchanged. Statements run here are reported to the same kind of metric
//! callback as SeaORM's (`StatementHook`).

use std::cell::Cell;
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex, Weak};
use std::thread::ThreadId;
use std::time::{Duration, Instant, SystemTime};

use sea_orm::metric::Info;
use sea_orm::sea_query::Values;
use sea_orm::sqlx::pool::PoolConnection;
use sea_orm::sqlx::{self, Connection, PgPool, Postgres};
use sea_orm::{
    ConnAcquireErr, ConnectionTrait, DatabaseConnection, DbBackend, DbErr, ExecResult, QueryResult,
    RuntimeErr, Statement,
};
use sea_query_sqlx::SqlxValues;
use tokio::runtime::RuntimeFlavor;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

/// Connections of the pool that reads never keep: the event listener's, and two for writes.
const RESERVED: u32 = 3;

/// The fewest connections a worker thread's share holds (when reads may hold that many), so
/// that the statements one request runs at once (a level's relations and counts, batched) are
/// not held back by their thread's share, however many cores share the pool.
const MIN_SHARE: usize = 4;

/// How long a read waits for its thread's share, when every connection is in use, before it
/// takes any connection let go. Statements that hold the share longer are slow ones; a
/// thread's reads behind them then go on as if there were no shares.
const SHARE_PATIENCE: Duration = Duration::from_millis(20);

/// A kept connection idle this long goes back to the pool (which tests it before its next use
/// when it has been idle a while: the server or a firewall may have closed it).
const IDLE_BEFORE_RETURN: Duration = Duration::from_secs(5);

/// How long a cancelled read's connection may take to finish its statement before it is closed
/// (more than `--statement-timeout`'s default: the server cancels a statement at that point).
const SETTLE_WITHIN: Duration = Duration::from_secs(30);

/// How often idle kept connections are looked at.
const SWEEP_EVERY: Duration = Duration::from_millis(500);

/// A connection out of the pool this long goes back to it after its statement.
const KEEP_AT_MOST: Duration = Duration::from_secs(600);

/// Told of every statement that ran, as SeaORM's metric callback is.
pub type StatementHook = Arc<dyn Fn(&Info<'_>) + Send + Sync>;

/// `DatabaseConnection` for the API's reads (see the module documentation). Cheap to clone:
/// clones share their kept connections.
#[derive(Clone)]
pub struct Reads {
    db: DatabaseConnection,
    kept: Option<Arc<Kept>>,
    hook: Option<StatementHook>,
}

/// The connections kept checked out of a PostgreSQL pool.
struct Kept {
    pool: PgPool,
    /// Most recently used last: the next read takes the warmest.
    idle: Mutex<Idle>,
    /// One per connection reads may hold, in use or idle.
    permits: Arc<Semaphore>,
    /// Each worker thread's part of `permits`, when reads run on several.
    shares: Option<Shares>,
    acquire_timeout: Duration,
}

/// The worker threads' shares of the connections reads may hold: as many each, so that a
/// read that must wait waits for its own thread's reads to finish rather than another
/// thread's (see the module documentation and `Kept::permits_for`). A thread gets its share at
/// its first read; a read on a multi-threaded runtime (`main`'s) counts against the common
/// count only.
struct Shares {
    each: usize,
    /// The worker threads expected.
    threads: usize,
    by_thread: Mutex<Vec<(ThreadId, Arc<Semaphore>)>>,
}

impl Shares {
    /// Shares of `keepable` connections between `threads` threads; none for one thread.
    /// Rounded up, and at least `MIN_SHARE`: the common count still bounds them all, so when
    /// the shares add up to more, a read may wait for another thread's after all (with a
    /// small pool on many cores, as it did before there were shares).
    fn of(keepable: usize, threads: usize) -> Option<Shares> {
        (threads > 1).then(|| Shares {
            each: keepable
                .div_ceil(threads)
                .max(MIN_SHARE.min(keepable))
                .max(1),
            threads,
            by_thread: Mutex::new(Vec::new()),
        })
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Vec<(ThreadId, Arc<Semaphore>)>> {
        // A panic while holding this lock leaves a plain list behind: still usable.
        self.by_thread
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Whether a thread other than `thread` has no read in flight (or has not read yet): a
    /// read of `thread` may then borrow from its share. Borrowing from a busy thread would
    /// make that thread's next read wait for the borrower (woken from the other thread).
    fn another_is_idle(&self, thread: ThreadId) -> bool {
        let by_thread = self.lock();
        by_thread.len() < self.threads
            || by_thread
                .iter()
                .any(|(other, share)| *other != thread && share.available_permits() == self.each)
    }

    /// The share of `thread`.
    fn of_thread(&self, thread: ThreadId) -> Arc<Semaphore> {
        let mut by_thread = self.lock();
        if let Some((_, share)) = by_thread.iter().find(|(known, _)| *known == thread) {
            return Arc::clone(share);
        }
        let share = Arc::new(Semaphore::new(self.each));
        by_thread.push((thread, Arc::clone(&share)));
        share
    }
}

/// A connection taken out of the pool, when, and which runtime serves its socket.
struct Taken {
    connection: PoolConnection<Postgres>,
    since: Instant,
    home: Home,
}

/// The runtime whose I/O driver serves a connection's socket: the one it was opened on.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Home {
    /// A single-threaded runtime (an actix worker's), on this thread.
    Thread(ThreadId),
    /// A multi-threaded runtime: any of its threads polls the driver.
    Shared,
    /// Opened by someone else (start-up, a write) and found in the pool.
    Unknown,
}

impl Home {
    /// The runtime a connection opened now would belong to.
    fn here() -> Home {
        match tokio::runtime::Handle::try_current() {
            Ok(runtime) if runtime.runtime_flavor() == RuntimeFlavor::CurrentThread => {
                Home::Thread(std::thread::current().id())
            }
            _ => Home::Shared,
        }
    }
}

tokio::task_local! {
    /// Set while a read takes a connection from the pool: whether the pool opened one for it
    /// (which it does in the read's own task, so on the read's runtime).
    static OPENED_FOR_THIS_READ: Cell<bool>;
}

/// Tells a read taking a connection from the pool that the pool opened a new one for it. The
/// pool calls it from `after_connect` (see `db::connect`); outside a read it does nothing.
pub fn note_new_connection() {
    let _ = OPENED_FOR_THIS_READ.try_with(|opened| opened.set(true));
}

impl Idle {
    /// Takes out the connections idle for `at_least`. Oldest first: they are a prefix, and
    /// when the oldest is fresh this reads the clock once.
    fn take_idle_for(&mut self, at_least: Duration) -> Vec<(Taken, Instant)> {
        let fresh_from = self
            .connections
            .iter()
            .position(|(_, since)| since.elapsed() < at_least)
            .unwrap_or(self.connections.len());
        self.connections.drain(..fresh_from).collect()
    }
}

#[derive(Default)]
struct Idle {
    /// With when each went idle.
    connections: Vec<(Taken, Instant)>,
    /// The pool is closing: nothing is kept any more.
    closed: bool,
}

impl Reads {
    /// Reads through `db`, run on `threads` worker threads with a single-threaded runtime each
    /// (actix's; 0 or 1 when not). On PostgreSQL they keep at most the pool's size less
    /// `RESERVED`. `hook` is told of every statement run outside SeaORM (SeaORM tells `db`'s own
    /// metric callback of the rest). Spawns a task on PostgreSQL, so call it inside a Tokio
    /// runtime.
    pub fn new(
        db: DatabaseConnection,
        threads: usize,
        acquire_timeout: Duration,
        hook: Option<StatementHook>,
    ) -> Self {
        let pool = (db.get_database_backend() == DbBackend::Postgres)
            .then(|| db.get_postgres_connection_pool().clone());
        let keepable = pool.as_ref().map_or(0, |pool| {
            pool.options()
                .get_max_connections()
                .saturating_sub(RESERVED)
        });
        let kept = pool.filter(|_| keepable > 0).map(|pool| {
            let kept = Arc::new(Kept {
                pool,
                idle: Mutex::new(Idle::default()),
                permits: Arc::new(Semaphore::new(keepable as usize)),
                shares: Shares::of(keepable as usize, threads),
                acquire_timeout,
            });
            // Idle ones go back to the pool after a while; all of them when it closes (closing
            // waits for every checked-out connection).
            let closing = kept.pool.close_event();
            let weak: Weak<Kept> = Arc::downgrade(&kept);
            tokio::spawn(async move {
                let mut sweeps = tokio::time::interval(SWEEP_EVERY);
                sweeps.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
                tokio::pin!(closing);
                loop {
                    tokio::select! {
                        _ = &mut closing => break,
                        _ = sweeps.tick() => match weak.upgrade() {
                            Some(kept) => kept.give_back_idle_for(IDLE_BEFORE_RETURN),
                            None => return,
                        },
                    }
                }
                if let Some(kept) = weak.upgrade() {
                    kept.close();
                }
            });
            kept
        });
        Reads { db, kept, hook }
    }

    /// The connection everything but these reads goes through.
    pub fn db(&self) -> &DatabaseConnection {
        &self.db
    }

    /// How many connections are kept idle (for tests).
    #[doc(hidden)]
    pub fn kept_idle(&self) -> usize {
        self.kept
            .as_ref()
            .map_or(0, |kept| kept.lock().connections.len())
    }

    /// Runs `stmt` on a kept connection (or a new one from the pool), and keeps the connection
    /// if the statement ran to its end.
    async fn fetch<T>(
        &self,
        kept: &Arc<Kept>,
        stmt: &Statement,
        run: impl RunQuery<T>,
    ) -> Result<T, DbErr> {
        let acquired = tokio::time::timeout(kept.acquire_timeout, async {
            let here = Home::here();
            let permits = kept.permits_for(here).await?;
            let (taken, was_kept) = match kept.take(here) {
                Some(taken) => (taken, true),
                None => (from_pool_opened_here(&kept.pool, here).await?, false),
            };
            Ok::<_, DbErr>((Lease::new(kept, taken, permits), was_kept))
        })
        .await
        .map_err(|_| DbErr::ConnectionAcquire(ConnAcquireErr::Timeout))?;
        let (mut lease, was_kept) = acquired?;
        match self.run_on(&mut lease, stmt, &run).await {
            // The server closed this kept connection (a restart, a failover, an administrator):
            // the idle kept ones went the same way. They go back to the pool (which drops the
            // dead ones), and the read runs again on connections from the pool.
            Err(err) if was_kept && connection_lost(&err) => {
                tracing::info!(error = %err, "a kept connection was closed by the server");
                kept.give_back_idle_for(Duration::ZERO);
                self.run_on_pool(kept, &mut lease, stmt, &run).await
            }
            result => result.map_err(query_error),
        }
    }

    /// Runs `stmt` on a connection from the pool, once the kept ones were found closed. The
    /// pool's idle connections may have died the same way, and it hands out one used lately
    /// without testing it: a connection that turns out closed too goes back to the pool (which
    /// closes it), and the read runs on the next, as many times as the pool holds connections,
    /// within `acquire_timeout` in all.
    async fn run_on_pool<T>(
        &self,
        kept: &Kept,
        lease: &mut Lease,
        stmt: &Statement,
        run: &impl RunQuery<T>,
    ) -> Result<T, DbErr> {
        let deadline = tokio::time::Instant::now() + kept.acquire_timeout;
        let mut tries = kept.pool.options().get_max_connections();
        loop {
            let acquired = tokio::time::timeout_at(deadline, acquire_from(&kept.pool))
                .await
                .map_err(|_| DbErr::ConnectionAcquire(ConnAcquireErr::Timeout))?;
            lease.taken = Some(from_pool(acquired)?);
            tries = tries.saturating_sub(1);
            match self.run_on(lease, stmt, run).await {
                Err(err) if tries > 0 && connection_lost(&err) => continue,
                result => return result.map_err(query_error),
            }
        }
    }

    /// Runs `stmt` on `lease`'s connection, which is kept if the statement ran to its end,
    /// dropped otherwise: the pool tests it before anyone uses it again.
    async fn run_on<T>(
        &self,
        lease: &mut Lease,
        stmt: &Statement,
        run: &impl RunQuery<T>,
    ) -> Result<T, sqlx::Error> {
        let started = self.hook.is_some().then(SystemTime::now);
        let values = stmt.values.clone().unwrap_or(Values(Vec::new()));
        let query = sqlx::query_with(sqlx::AssertSqlSafe(stmt.sql.as_str()), SqlxValues(values));
        let Some(taken) = lease.taken.as_mut() else {
            return Err(sqlx::Error::PoolClosed);
        };
        let result = run(&mut taken.connection, query).await;
        if let (Some(hook), Some(started)) = (&self.hook, started) {
            hook(&Info {
                elapsed: started.elapsed().unwrap_or_default(),
                statement: stmt,
                failed: result.is_err(),
            });
        }
        lease.settle(result.is_ok());
        result
    }
}

/// How a read runs its query on a connection (`fetch_all`, `fetch_optional`).
trait RunQuery<T>: AsyncFn(&mut sqlx::PgConnection, PgQuery<'_>) -> Result<T, sqlx::Error> {}

impl<T, F> RunQuery<T> for F where
    F: AsyncFn(&mut sqlx::PgConnection, PgQuery<'_>) -> Result<T, sqlx::Error>
{
}

type PgQuery<'q> = sqlx::query::Query<'q, Postgres, SqlxValues>;

/// A connection out for one read, with the permit it counts against. Dropped while its
/// statement still runs (the read was cancelled: a request past its time limit, a client gone),
/// it keeps the permit until the connection is at rest again: a task reads what is left of the
/// statement's answer (a `ping`, as the pool's own test does) and keeps the connection if that
/// went well, closes it if not. Otherwise reads would take a connection more from the pool, one
/// of those reserved for writes, for each cancelled read still winding down.
struct Lease {
    kept: Arc<Kept>,
    taken: Option<Taken>,
    permit: Option<Permits>,
}

/// What a read counts against: the common count, and its thread's share when it has one.
type Permits = (OwnedSemaphorePermit, Option<OwnedSemaphorePermit>);

impl Lease {
    fn new(kept: &Arc<Kept>, taken: Taken, permit: Permits) -> Self {
        Lease {
            kept: kept.clone(),
            taken: Some(taken),
            permit: Some(permit),
        }
    }

    /// The statement is over: the connection is kept if it ran to its end, handed back to the
    /// pool (which tests it) if it failed.
    fn settle(&mut self, ran_to_end: bool) {
        if let Some(taken) = self.taken.take() {
            if ran_to_end {
                self.kept.keep(taken);
            }
        }
    }
}

impl Drop for Lease {
    fn drop(&mut self) {
        let (Some(mut taken), Some(permit)) = (self.taken.take(), self.permit.take()) else {
            return;
        };
        // Outside a runtime (a shutdown), the pool is left to test it.
        let Ok(runtime) = tokio::runtime::Handle::try_current() else {
            return;
        };
        let kept = self.kept.clone();
        // Its thread's share is free at once: that thread's reads need not wait for a
        // statement nobody reads any more (up to SETTLE_WITHIN); the common count bounds them.
        let (permit, share) = permit;
        drop(share);
        runtime.spawn(async move {
            let rested = tokio::time::timeout(SETTLE_WITHIN, taken.connection.ping()).await;
            if matches!(rested, Ok(Ok(()))) {
                kept.keep(taken);
            } else {
                taken.connection.close_on_drop();
                drop(taken);
            }
            drop(permit);
        });
    }
}

impl Kept {
    fn lock(&self) -> std::sync::MutexGuard<'_, Idle> {
        // A panic while holding this lock leaves a plain list behind: still usable.
        self.idle
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// What a read on `here` counts against. On a worker thread: its thread's share if one
    /// is free, or else a connection to spare if another thread is idle; otherwise it waits
    /// for its thread's share (given back on this thread), and past `SHARE_PATIENCE` for any
    /// connection too (a read whose thread's share is held by slow statements must not wait
    /// for them while other threads let connections go).
    async fn permits_for(&self, here: Home) -> Result<Permits, DbErr> {
        let (shares, thread) = match (&self.shares, here) {
            (Some(shares), Home::Thread(thread)) => (shares, thread),
            _ => return Ok((acquire(&self.permits).await?, None)),
        };
        let share = shares.of_thread(thread);
        if let Ok(own) = Arc::clone(&share).try_acquire_owned() {
            return Ok((acquire(&self.permits).await?, Some(own)));
        }
        if shares.another_is_idle(thread) {
            if let Ok(spare) = Arc::clone(&self.permits).try_acquire_owned() {
                return Ok((spare, None));
            }
        }

        // Boxed: a read's future would otherwise hold the timer, though it nearly never waits.
        let waiting: Pin<Box<dyn Future<Output = Result<Permits, DbErr>> + Send + '_>> =
            Box::pin(async move {
                tokio::select! {
                    own = share.acquire_owned() => {
                        let own = own.map_err(|_| closed())?;
                        Ok((acquire(&self.permits).await?, Some(own)))
                    }
                    any = async {
                        tokio::time::sleep(SHARE_PATIENCE).await;
                        acquire(&self.permits).await
                    } => Ok((any?, None)),
                }
            });
        waiting.await
    }

    /// The most recently used kept connection of `here`'s runtime, or else of any. Those idle
    /// too long go back to the pool first.
    fn take(&self, here: Home) -> Option<Taken> {
        let mut idle = self.lock();
        let stale = idle.take_idle_for(IDLE_BEFORE_RETURN);
        let connections = &mut idle.connections;
        let taken = connections
            .iter()
            .rposition(|(taken, _)| taken.home == here)
            .or(connections.len().checked_sub(1))
            .map(|at| connections.remove(at).0);
        drop(idle);
        drop(stale);
        taken
    }

    fn keep(&self, taken: Taken) {
        let mut idle = self.lock();
        if idle.closed || taken.since.elapsed() >= KEEP_AT_MOST {
            drop(idle);
            drop(taken);
            return;
        }
        idle.connections.push((taken, Instant::now()));
    }

    /// Hands back to the pool every kept connection idle for `at_least`.
    fn give_back_idle_for(&self, at_least: Duration) {
        let stale = self.lock().take_idle_for(at_least);
        drop(stale);
    }

    fn close(&self) {
        let connections = {
            let mut idle = self.lock();
            idle.closed = true;
            std::mem::take(&mut idle.connections)
        };
        drop(connections);
    }
}

/// Whether `err` says the server closed the connection, or it broke (a read is harmless to
/// run again; a statement that failed for another reason fails again).
fn connection_lost(err: &sqlx::Error) -> bool {
    match err {
        sqlx::Error::Io(_) => true,
        // 57P01 admin shutdown, 57P02 crash shutdown, 57P05 idle session timeout; 08003
        // connection does not exist, 08006 connection failure.
        sqlx::Error::Database(err) => err
            .code()
            .is_some_and(|code| matches!(&*code, "57P01" | "57P02" | "57P05" | "08003" | "08006")),
        _ => false,
    }
}

/// A permit of `permits` (reads' common count), when one is free.
async fn acquire(permits: &Arc<Semaphore>) -> Result<OwnedSemaphorePermit, DbErr> {
    Arc::clone(permits)
        .acquire_owned()
        .await
        .map_err(|_| closed())
}

/// A connection from the pool, marked as `here`'s if the pool opened it for this read.
async fn from_pool_opened_here(pool: &PgPool, here: Home) -> Result<Taken, DbErr> {
    let (acquired, opened_here) = OPENED_FOR_THIS_READ
        .scope(Cell::new(false), async {
            let acquired = acquire_from(pool).await;
            (acquired, OPENED_FOR_THIS_READ.with(Cell::get))
        })
        .await;
    let mut taken = from_pool(acquired)?;
    if opened_here {
        taken.home = here;
    }
    Ok(taken)
}

/// A connection just taken from the pool.
fn from_pool(acquired: Result<PoolConnection<Postgres>, sqlx::Error>) -> Result<Taken, DbErr> {
    Ok(Taken {
        connection: acquired.map_err(acquire_error)?,
        since: Instant::now(),
        home: Home::Unknown,
    })
}

fn query_error(err: sqlx::Error) -> DbErr {
    DbErr::Query(RuntimeErr::SqlxError(err.into()))
}

fn closed() -> DbErr {
    DbErr::ConnectionAcquire(ConnAcquireErr::ConnectionClosed)
}

/// As SeaORM reports a failed checkout.
/// A connection from `pool`, boxed: SQLx's acquire future is about 15 KiB, and every read's
/// future would be that large (allocated, and copied into its box, for each statement) though
/// reads nearly always run on a kept connection.
fn acquire_from(
    pool: &PgPool,
) -> Pin<Box<impl Future<Output = Result<PoolConnection<Postgres>, sqlx::Error>> + '_>> {
    Box::pin(pool.acquire())
}

fn acquire_error(err: sqlx::Error) -> DbErr {
    match err {
        sqlx::Error::PoolTimedOut => DbErr::ConnectionAcquire(ConnAcquireErr::Timeout),
        sqlx::Error::PoolClosed => closed(),
        other => DbErr::Conn(RuntimeErr::SqlxError(other.into())),
    }
}

#[async_trait::async_trait]
impl ConnectionTrait for Reads {
    fn get_database_backend(&self) -> DbBackend {
        self.db.get_database_backend()
    }

    async fn execute_raw(&self, stmt: Statement) -> Result<ExecResult, DbErr> {
        self.db.execute_raw(stmt).await
    }

    async fn execute_unprepared(&self, sql: &str) -> Result<ExecResult, DbErr> {
        self.db.execute_unprepared(sql).await
    }

    async fn query_one_raw(&self, stmt: Statement) -> Result<Option<QueryResult>, DbErr> {
        let Some(kept) = &self.kept else {
            return self.db.query_one_raw(stmt).await;
        };
        let row = self
            .fetch(kept, &stmt, async |connection, query| {
                query.fetch_optional(connection).await
            })
            .await?;
        Ok(row.map(QueryResult::from))
    }

    async fn query_all_raw(&self, stmt: Statement) -> Result<Vec<QueryResult>, DbErr> {
        let Some(kept) = &self.kept else {
            return self.db.query_all_raw(stmt).await;
        };
        let rows = self
            .fetch(kept, &stmt, async |connection, query| {
                query.fetch_all(connection).await
            })
            .await?;
        Ok(rows.into_iter().map(QueryResult::from).collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn worker_threads_share_the_read_connections_equally_but_keep_a_few_each() {
        let each = |keepable, threads| Shares::of(keepable, threads).map(|shares| shares.each);
        assert_eq!(each(7, 1), None);
        assert_eq!(each(20, 2), Some(10));
        assert_eq!(each(29, 2), Some(15));
        assert_eq!(each(7, 2), Some(4));
        assert_eq!(each(7, 16), Some(4));
        assert_eq!(each(2, 2), Some(2));
        assert_eq!(each(1, 2), Some(1));
    }

    #[test]
    fn a_thread_borrows_only_from_an_idle_one() {
        let shares = Shares::of(8, 2).expect("shares");
        let this = std::thread::current().id();
        let other = std::thread::spawn(|| std::thread::current().id())
            .join()
            .expect("a thread id");
        let ours = shares.of_thread(this);
        let _busy = ours.try_acquire_many(4).expect("our share");
        // The other thread has not read yet, then has no read in flight: idle.
        assert!(shares.another_is_idle(this));
        let theirs = shares.of_thread(other);
        assert!(shares.another_is_idle(this));
        // One read in flight there: busy.
        let _reading = theirs.try_acquire().expect("their share");
        assert!(!shares.another_is_idle(this));
        assert!(!shares.another_is_idle(other));
    }

    fn size_of_future<F: Future>(_: &F) -> usize {
        std::mem::size_of::<F>()
    }

    #[tokio::test]
    async fn a_read_future_stays_small() {
        // Arrange: a pool that never connects (nothing here is awaited).
        let pool = sqlx::postgres::PgPoolOptions::new()
            .connect_lazy("postgres://nobody@127.0.0.1:1/nothing")
            .expect("a lazy pool");
        let kept = Arc::new(Kept {
            pool: pool.clone(),
            idle: Mutex::new(Idle::default()),
            permits: Arc::new(Semaphore::new(1)),
            shares: None,
            acquire_timeout: Duration::from_secs(1),
        });
        let reads = Reads {
            db: sea_orm::SqlxPostgresConnector::from_sqlx_postgres_pool(pool),
            kept: Some(Arc::clone(&kept)),
            hook: None,
        };
        let stmt = Statement::from_string(DbBackend::Postgres, "SELECT 1");

        // Act
        let read = reads.fetch(&kept, &stmt, async |connection, query| {
            query.fetch_all(connection).await
        });

        // Assert: each statement's future is allocated and copied whole; SQLx's acquire future
        // alone is about 15 KiB in a release build.
        let size = size_of_future(&read);
        assert!(size < 2048, "a read's future takes {size} bytes");
    }
}
