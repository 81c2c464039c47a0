//! `db::reads`: on PostgreSQL the API's reads keep their connection between statements instead of
//! handing it back to the pool (which tests each returned connection with a round trip), and
//! only a read that ran to its end keeps one.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use blogql::db::reads::{Reads, StatementHook};
use sea_orm::{sqlx, ConnectionTrait, DatabaseConnection, DbBackend, Statement, TransactionTrait};

use crate::helpers::TestApp;

backend_tests!(
    on [postgres]:
    reads_run_one_after_another_on_one_kept_connection,
    a_failed_read_hands_its_connection_back_to_the_pool,
    a_cancelled_read_does_not_leave_its_connection_to_the_next,
    reads_leave_the_reserved_connections_to_writes,
    a_cancelled_read_counts_against_the_reads_share_until_its_connection_is_at_rest,
    closing_the_pool_takes_back_the_kept_connections,
    an_idle_kept_connection_goes_back_to_the_pool,
    a_read_whose_kept_connection_the_server_closed_runs_again_on_another,
    a_read_run_again_after_a_restart_skips_the_pool_connections_that_died_too,
    a_read_takes_a_connection_opened_on_its_own_thread_before_a_more_recent_one,
    a_read_takes_a_connection_to_spare_when_its_threads_share_is_taken,
    a_read_waiting_for_its_threads_share_takes_a_connection_another_thread_let_go,
);

/// A pool of its own on the test database, of `max_connections`, and reads over it that count
/// their statements.
async fn reads_on(
    app: &TestApp,
    max_connections: u32,
) -> (DatabaseConnection, Reads, Arc<AtomicUsize>) {
    reads_on_threads(app, max_connections, 1).await
}

/// As `reads_on`, for reads run on `threads` worker threads.
async fn reads_on_threads(
    app: &TestApp,
    max_connections: u32,
    threads: usize,
) -> (DatabaseConnection, Reads, Arc<AtomicUsize>) {
    let mut settings = app.settings.database.clone();
    settings.max_connections = Some(max_connections);
    let db = blogql::db::connect(&settings).await.expect("connect");
    let statements = Arc::new(AtomicUsize::new(0));
    let counter = statements.clone();
    let hook: StatementHook = Arc::new(move |_| {
        counter.fetch_add(1, Ordering::SeqCst);
    });
    let reads = Reads::new(db.clone(), threads, Duration::from_secs(5), Some(hook));
    (db, reads, statements)
}

fn sql(text: &str) -> Statement {
    Statement::from_string(DbBackend::Postgres, text)
}

async fn backend_pid(reads: &Reads) -> i32 {
    reads
        .query_one_raw(sql("SELECT pg_backend_pid()"))
        .await
        .expect("read")
        .expect("a row")
        .try_get_by_index(0)
        .expect("an integer")
}

/// The pool's one connection is idle in it, once the test the pool runs on a connection handed
/// back (spawned when it was dropped) is done.
async fn assert_back_in_the_pool(pool: &sqlx::PgPool) {
    wait_for_idle(pool, 1).await;
    assert_eq!((pool.size(), pool.num_idle()), (1, 1));
}

/// Waits up to a second for `idle` connections to be idle in the pool (handed-back ones are
/// tested by a task first).
async fn wait_for_idle(pool: &sqlx::PgPool, idle: usize) {
    for _ in 0..100 {
        if pool.num_idle() == idle {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

/// Checks out the 3 connections reads never hold, as the event listener and writes do; each
/// must come within `within`.
async fn check_out_reserved(
    pool: &sqlx::PgPool,
    within: Duration,
) -> Vec<sqlx::pool::PoolConnection<sqlx::Postgres>> {
    let mut held = Vec::new();
    for _ in 0..3 {
        let acquired = tokio::time::timeout(within, pool.acquire()).await;
        held.push(
            acquired
                .expect("a reserved connection, at once")
                .expect("a connection"),
        );
    }
    held
}

/// Ends these server processes, as a restart of the server does.
async fn terminate(app: &TestApp, pids: &[i32]) {
    for pid in pids {
        app.db
            .execute_unprepared(&format!("SELECT pg_terminate_backend({pid})"))
            .await
            .expect("terminate a server process");
    }
}

async fn reads_run_one_after_another_on_one_kept_connection(app: TestApp) {
    // Arrange
    let (db, reads, statements) = reads_on(&app, 5).await;
    let pool = db.get_postgres_connection_pool();

    // Act
    let first = backend_pid(&reads).await;
    let rows = reads
        .query_all_raw(sql("SELECT generate_series(1, 3)"))
        .await
        .expect("read");
    let last = backend_pid(&reads).await;

    // Assert: one server process served all three, and its connection never went back to the
    // pool (where it would have been tested with a round trip): kept, checked out.
    assert_eq!(rows.len(), 3);
    assert_eq!(first, last);
    assert_eq!(reads.kept_idle(), 1);
    assert_eq!((pool.size(), pool.num_idle()), (1, 0));
    assert_eq!(
        statements.load(Ordering::SeqCst),
        3,
        "every read is counted"
    );
}

async fn a_failed_read_hands_its_connection_back_to_the_pool(app: TestApp) {
    // Arrange
    let (db, reads, statements) = reads_on(&app, 5).await;
    let pool = db.get_postgres_connection_pool();
    backend_pid(&reads).await;

    // Act
    let failed = reads
        .query_all_raw(sql("SELECT * FROM no_such_table"))
        .await;

    // Assert: not kept; the pool has it back (once its test, spawned on drop, is done).
    assert!(failed.is_err());
    assert_eq!(reads.kept_idle(), 0);
    assert_back_in_the_pool(pool).await;
    assert_eq!(
        statements.load(Ordering::SeqCst),
        2,
        "a failed read is counted too"
    );
    backend_pid(&reads).await;
}

async fn a_cancelled_read_does_not_leave_its_connection_to_the_next(app: TestApp) {
    // Arrange
    let (_db, reads, _) = reads_on(&app, 5).await;
    backend_pid(&reads).await;

    // Act: a read dropped while the server is still working on it (as a request past its time
    // limit is), then another.
    let cancelled = tokio::time::timeout(
        Duration::from_millis(50),
        reads.query_all_raw(sql("SELECT pg_sleep(0.5), 1")),
    )
    .await;
    let next: i32 = reads
        .query_one_raw(sql("SELECT 42"))
        .await
        .expect("the next read")
        .expect("a row")
        .try_get_by_index(0)
        .expect("an integer");

    // Assert: the next read got its own answer, not what was left of the cancelled one.
    assert!(
        cancelled.is_err(),
        "the slow read should have been cancelled"
    );
    assert_eq!(next, 42);
    assert_eq!(reads.kept_idle(), 1);
}

async fn reads_leave_the_reserved_connections_to_writes(app: TestApp) {
    // Arrange: 5 connections, 3 of which reads never hold.
    let (db, reads, _) = reads_on(&app, 5).await;
    let pool = db.get_postgres_connection_pool().clone();

    // Act: more slow reads at once than reads may hold; meanwhile, three checkouts as the
    // event listener and writes make.
    let slow = (0..4).map(|_| reads.query_all_raw(sql("SELECT pg_sleep(0.2)")));
    let others = async {
        tokio::time::sleep(Duration::from_millis(50)).await;
        let _held = check_out_reserved(&pool, Duration::from_millis(500)).await;
        pool.size()
    };
    let (results, size_with_both) =
        futures_util::join!(futures_util::future::join_all(slow), others);

    // Assert: the reads took turns on 2 connections; the other 3 were there at once.
    assert!(results.iter().all(Result::is_ok));
    assert_eq!(size_with_both, 5);
    assert_eq!(reads.kept_idle(), 2);
}

async fn a_cancelled_read_counts_against_the_reads_share_until_its_connection_is_at_rest(
    app: TestApp,
) {
    // Arrange: 4 connections, 3 of which reads never hold: reads hold one at most.
    let (db, reads, _) = reads_on(&app, 4).await;
    let pool = db.get_postgres_connection_pool().clone();
    let first = backend_pid(&reads).await;

    // Act: a read cancelled while the server still works on it, then at once another read and
    // three checkouts as the event listener and writes make.
    let cancelled = tokio::time::timeout(
        Duration::from_millis(50),
        reads.query_all_raw(sql("SELECT pg_sleep(0.5)")),
    )
    .await;
    let next = tokio::spawn({
        let reads = reads.clone();
        async move { backend_pid(&reads).await }
    });
    drop(check_out_reserved(&pool, Duration::from_millis(200)).await);
    let next = next.await.expect("the next read");

    // Assert: the next read waited for the cancelled one's connection to finish its statement,
    // then ran on it, rather than take a fourth connection from the pool.
    assert!(
        cancelled.is_err(),
        "the slow read should have been cancelled"
    );
    assert_eq!(next, first);
    assert_eq!(reads.kept_idle(), 1);
}

async fn closing_the_pool_takes_back_the_kept_connections(app: TestApp) {
    // Arrange: a kept connection (closing waits for every checked-out one to come back).
    let (db, reads, _) = reads_on(&app, 5).await;
    backend_pid(&reads).await;
    assert_eq!(reads.kept_idle(), 1);

    // Act
    let closed = tokio::time::timeout(Duration::from_secs(5), db.close()).await;

    // Assert
    assert!(
        closed.is_ok(),
        "closing the pool waited for a kept connection"
    );
    assert_eq!(reads.kept_idle(), 0);
    assert!(reads.query_all_raw(sql("SELECT 1")).await.is_err());
}

async fn a_read_whose_kept_connection_the_server_closed_runs_again_on_another(app: TestApp) {
    // Arrange: two kept connections, both then ended by the server (as a restart ends them).
    let (_db, reads, statements) = reads_on(&app, 5).await;
    let (first, second) = futures_util::join!(
        reads.query_one_raw(sql("SELECT pg_backend_pid(), pg_sleep(0.1)")),
        reads.query_one_raw(sql("SELECT pg_backend_pid(), pg_sleep(0.1)")),
    );
    let pids: Vec<i32> = [first, second]
        .into_iter()
        .map(|row| {
            row.expect("read")
                .expect("a row")
                .try_get_by_index(0)
                .expect("an integer")
        })
        .collect();
    assert_eq!(reads.kept_idle(), 2);
    terminate(&app, &pids).await;
    statements.store(0, Ordering::SeqCst);

    // Act
    let pid = backend_pid(&reads).await;

    // Assert: answered, by a new server process; the other dead one is no longer kept.
    assert!(!pids.contains(&pid));
    assert_eq!(reads.kept_idle(), 1);
    assert_eq!(
        statements.load(Ordering::SeqCst),
        2,
        "the failed try and the one that ran"
    );
}

async fn an_idle_kept_connection_goes_back_to_the_pool(app: TestApp) {
    // Arrange: a burst of reads, then nothing.
    let (db, reads, _) = reads_on(&app, 5).await;
    let pool = db.get_postgres_connection_pool();
    backend_pid(&reads).await;
    assert_eq!(reads.kept_idle(), 1);

    // Act: idle past the limit (5 s), with no read to notice.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    while reads.kept_idle() > 0 && tokio::time::Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(100)).await;
    }

    // Assert: back in the pool (tested on its way back), free for writes.
    assert_eq!(reads.kept_idle(), 0);
    assert_back_in_the_pool(pool).await;
}

async fn a_read_run_again_after_a_restart_skips_the_pool_connections_that_died_too(app: TestApp) {
    // Arrange: a kept connection, and two idle in the pool (used a moment ago, so the pool
    // would hand them out without testing them); then the server ends all three, as a restart
    // does.
    let (db, reads, _) = reads_on(&app, 5).await;
    let pool = db.get_postgres_connection_pool().clone();
    let kept = backend_pid(&reads).await;
    let mut pids = vec![kept];
    {
        let mut idle = Vec::new();
        for _ in 0..2 {
            let mut connection = pool.acquire().await.expect("a pool connection");
            let pid: i32 = sqlx::query_scalar("SELECT pg_backend_pid()")
                .fetch_one(&mut *connection)
                .await
                .expect("its server process");
            pids.push(pid);
            idle.push(connection);
        }
    }
    wait_for_idle(&pool, 2).await;
    assert_eq!(pool.num_idle(), 2);
    terminate(&app, &pids).await;

    // Act
    let answered = reads.query_one_raw(sql("SELECT pg_backend_pid()")).await;

    // Assert: answered, by a new server process.
    let pid: i32 = answered
        .expect("the read, on a live connection")
        .expect("a row")
        .try_get_by_index(0)
        .expect("an integer");
    assert!(!pids.contains(&pid));
}

async fn a_read_takes_a_connection_opened_on_its_own_thread_before_a_more_recent_one(app: TestApp) {
    // Arrange: a connection kept by a read on the test's thread.
    let (_db, reads, _) = reads_on(&app, 6).await;
    let from_elsewhere = backend_pid(&reads).await;
    let other_thread = reads.clone();

    // Act: on a thread of its own (as an actix worker is), a slow read takes that connection,
    // and a read meanwhile finds none kept, so the pool opens one there. The slow one is kept
    // last: the most recently used.
    // (The test's runtime keeps running meanwhile: it serves the first connection's socket.)
    let (slow, opened_there, next) = tokio::task::spawn_blocking(move || {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("a runtime");
        runtime.block_on(async {
            let reads = other_thread;
            let slow = async {
                reads
                    .query_one_raw(sql("SELECT pg_backend_pid() FROM pg_sleep(0.3)"))
                    .await
                    .expect("read")
                    .expect("a row")
                    .try_get_by_index::<i32>(0)
                    .expect("an integer")
            };
            let meanwhile = async {
                tokio::time::sleep(Duration::from_millis(50)).await;
                backend_pid(&reads).await
            };
            let (slow, opened_there) = tokio::join!(slow, meanwhile);
            (slow, opened_there, backend_pid(&reads).await)
        })
    })
    .await
    .expect("the thread ends");

    // Assert: the next read on that thread runs on the connection opened there, though the
    // other was used more recently.
    assert_eq!(slow, from_elsewhere);
    assert_ne!(opened_there, from_elsewhere);
    assert_eq!(next, opened_there);
    assert_eq!(reads.kept_idle(), 2);
}

/// Runs `work` with `reads` on a thread of its own with a single-threaded runtime, as an actix
/// worker runs it.
fn on_a_worker_thread<T, F>(
    reads: &Reads,
    work: impl FnOnce(Reads) -> F + Send + 'static,
) -> tokio::task::JoinHandle<T>
where
    T: Send + 'static,
    F: std::future::Future<Output = T>,
{
    let reads = reads.clone();
    tokio::task::spawn_blocking(move || {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("a runtime")
            .block_on(work(reads))
    })
}

/// The statement of a read that waits until the transaction holding advisory lock `key` ends.
fn waits_for_lock(key: i64) -> Statement {
    sql(&format!(
        "SELECT 1 FROM (SELECT pg_advisory_xact_lock_shared({key})) AS locked"
    ))
}

/// A transaction of its own holding advisory lock `key`.
async fn hold_lock(app: &TestApp, key: i64) -> sea_orm::DatabaseTransaction {
    let lock = app.db.begin().await.expect("a transaction");
    lock.execute_unprepared(&format!("SELECT pg_advisory_xact_lock({key})"))
        .await
        .expect("the lock");
    lock
}

/// Starts `count` reads of `statement` on the current runtime; they answer how many ran.
fn start_reads(
    reads: &Reads,
    count: usize,
    statement: Statement,
) -> tokio::task::JoinHandle<usize> {
    let running: Vec<_> = (0..count)
        .map(|_| {
            let reads = reads.clone();
            let statement = statement.clone();
            tokio::spawn(async move { reads.query_one_raw(statement).await.is_ok() })
        })
        .collect();
    tokio::spawn(async move {
        let mut ran = 0;
        for read in running {
            ran += usize::from(read.await.unwrap_or(false));
        }
        ran
    })
}

/// Whether a read answers within five seconds (the pool's acquire timeout in these tests).
async fn answers_within_five_seconds(reads: &Reads) -> bool {
    let read = reads.query_one_raw(sql("SELECT 1"));
    matches!(
        tokio::time::timeout(Duration::from_secs(5), read).await,
        Ok(Ok(_))
    )
}

/// Long enough for reads just started to take their connections (they take their permits at
/// once; the rest only orders the steps).
const SETTLING: Duration = Duration::from_millis(200);

async fn a_read_takes_a_connection_to_spare_when_its_threads_share_is_taken(app: TestApp) {
    // Arrange: reads on two worker threads may hold eight connections, four each. Four reads
    // on the first thread hold its share, waiting for a lock.
    let (_db, reads, _) = reads_on_threads(&app, 8 + 3, 2).await;
    let lock = hold_lock(&app, 1).await;
    let (tried, tried_rx) = tokio::sync::oneshot::channel();
    let first = on_a_worker_thread(&reads, |reads| async move {
        let waiting = start_reads(&reads, 4, waits_for_lock(1));
        tokio::time::sleep(SETTLING).await;

        // Act: a fifth read on that thread.
        let _ = tried.send(answers_within_five_seconds(&reads).await);
        waiting.await.expect("the waiting reads")
    });

    // Assert: it ran on a connection to spare while the share was taken.
    let fifth_answered = tried_rx.await.expect("the fifth read");
    lock.commit().await.expect("the lock let go");
    assert!(
        fifth_answered,
        "a read waited for its thread's share with connections to spare"
    );
    assert_eq!(first.await.expect("the thread ends"), 4);
}

async fn a_read_waiting_for_its_threads_share_takes_a_connection_another_thread_let_go(
    app: TestApp,
) {
    // Arrange: reads on two worker threads may hold eight connections, four each; four reads
    // on each thread hold every one, waiting for a lock of their thread's.
    let (_db, reads, _) = reads_on_threads(&app, 8 + 3, 2).await;
    let first_lock = hold_lock(&app, 1).await;
    let other_lock = hold_lock(&app, 2).await;
    let (first_ready, first_ready_rx) = tokio::sync::oneshot::channel();
    let (go, go_rx) = tokio::sync::oneshot::channel::<()>();
    let (tried, tried_rx) = tokio::sync::oneshot::channel();
    let first = on_a_worker_thread(&reads, |reads| async move {
        let waiting = start_reads(&reads, 4, waits_for_lock(1));
        tokio::time::sleep(SETTLING).await;
        let _ = first_ready.send(());
        let _ = go_rx.await;
        let _ = tried.send(answers_within_five_seconds(&reads).await);
        waiting.await.expect("the waiting reads")
    });
    first_ready_rx.await.expect("the first thread's reads");
    let (other_ready, other_ready_rx) = tokio::sync::oneshot::channel();
    let (done, done_rx) = tokio::sync::oneshot::channel::<()>();
    let other = on_a_worker_thread(&reads, |reads| async move {
        let waiting = start_reads(&reads, 4, waits_for_lock(2));
        tokio::time::sleep(SETTLING).await;
        let _ = other_ready.send(());
        let ran = waiting.await.expect("the waiting reads");
        // Its runtime serves its connections' sockets: it stays up until the test is done.
        let _ = done_rx.await;
        ran
    });
    other_ready_rx.await.expect("the other thread's reads");

    // Act: a fifth read on the first thread waits (every connection is in use); then the
    // other thread's reads end.
    let _ = go.send(());
    tokio::time::sleep(SETTLING).await;
    other_lock.commit().await.expect("the other lock let go");

    // Assert: the fifth read ran on a connection the other thread let go, while its own
    // thread's share was still taken.
    let fifth_answered = tried_rx.await.expect("the fifth read");
    first_lock.commit().await.expect("the first lock let go");
    let _ = done.send(());
    assert!(
        fifth_answered,
        "a read waited for its thread's share while connections were free"
    );
    assert_eq!(first.await.expect("the first thread ends"), 4);
    assert_eq!(other.await.expect("the other thread ends"), 4);
}
