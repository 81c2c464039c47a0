//! Where the server's log lines go: into memory, from which a thread of their own writes them
//! out in batches (one write every `GATHER` at most under load).
//!
//! A request never waits on stdout, and no thread is woken for each line. (A channel read by a
//! writer thread woke it, and wrote, once per line: about a tenth of the server's CPU on small
//! requests, one log line each.) Not lossy: past `MAX_PENDING` bytes, logging waits for the
//! writer instead of dropping lines. Dropping the `FlushGuard` writes out what is left.

use std::io::{self, Write};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::thread::JoinHandle;
use std::time::Duration;

use tracing_subscriber::fmt::MakeWriter;

/// How long the writer lets lines gather once the first of a batch is in.
const GATHER: Duration = Duration::from_millis(50);

/// Bytes that may wait for the writer before logging waits too.
const MAX_PENDING: usize = 1 << 20;

/// The `MakeWriter` of the log subscriber: every writer appends to the same pending lines.
/// Each `write` stays whole (tracing's subscriber writes an event with one `write_all`).
#[derive(Clone)]
pub struct LogLines {
    shared: Arc<Shared>,
}

/// Writes out the lines still pending, and stops the writer thread, when dropped.
pub struct FlushGuard {
    shared: Arc<Shared>,
    writer: Option<JoinHandle<()>>,
}

struct Shared {
    state: Mutex<State>,
    /// The writer waits here for lines, the first of a batch or a full buffer.
    has_lines: Condvar,
    /// Logging threads wait here while `max_pending` bytes wait.
    has_room: Condvar,
    max_pending: usize,
}

#[derive(Default)]
struct State {
    pending: Vec<u8>,
    /// The guard was dropped: the writer writes out what is left and ends.
    closed: bool,
}

/// Lines written through the returned `LogLines` end up in `sink`, written by a thread of
/// their own.
pub fn to(sink: impl Write + Send + 'static) -> io::Result<(LogLines, FlushGuard)> {
    with_limit(sink, MAX_PENDING)
}

fn with_limit(
    mut sink: impl Write + Send + 'static,
    max_pending: usize,
) -> io::Result<(LogLines, FlushGuard)> {
    let shared = Arc::new(Shared {
        state: Mutex::new(State::default()),
        has_lines: Condvar::new(),
        has_room: Condvar::new(),
        max_pending,
    });
    let for_writer = shared.clone();
    let writer = std::thread::Builder::new()
        .name("log-writer".into())
        .spawn(move || for_writer.write_batches(&mut sink))?;
    Ok((
        LogLines {
            shared: shared.clone(),
        },
        FlushGuard {
            shared,
            writer: Some(writer),
        },
    ))
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, State> {
        // A panic while holding the lock leaves bytes behind, still worth writing.
        self.state
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// The writer thread: waits for a first line, lets others gather, writes them all at once.
    fn write_batches(&self, sink: &mut impl Write) {
        let mut batch = Vec::new();
        loop {
            {
                let mut state = self.lock();
                while state.pending.is_empty() && !state.closed {
                    state = self
                        .has_lines
                        .wait(state)
                        .unwrap_or_else(|poisoned| poisoned.into_inner());
                }
                if state.pending.is_empty() {
                    return;
                }
                if !state.closed && state.pending.len() < self.max_pending {
                    state = self
                        .has_lines
                        .wait_timeout(state, GATHER)
                        .unwrap_or_else(|poisoned| poisoned.into_inner())
                        .0;
                }
                std::mem::swap(&mut state.pending, &mut batch);
            }
            self.has_room.notify_all();
            // Nowhere to report a failed write to: the log is what reports.
            let _ = sink.write_all(&batch).and_then(|()| sink.flush());
            batch.clear();
        }
    }

    fn append(&self, line: &[u8]) {
        let mut state = self.lock();
        while state.pending.len() >= self.max_pending && !state.closed {
            state = self
                .has_room
                .wait(state)
                .unwrap_or_else(|poisoned| poisoned.into_inner());
        }
        if state.closed {
            // The process is ending: the writer has written its last batch.
            return;
        }
        let first = state.pending.is_empty();
        state.pending.extend_from_slice(line);
        let full = state.pending.len() >= self.max_pending;
        drop(state);
        // The writer is only ever waiting for the first line of a batch, or for a full buffer.
        if first || full {
            self.has_lines.notify_one();
        }
    }
}

impl Write for LogLines {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.shared.append(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl<'a> MakeWriter<'a> for LogLines {
    type Writer = LogLines;

    fn make_writer(&'a self) -> Self::Writer {
        self.clone()
    }
}

impl Drop for FlushGuard {
    fn drop(&mut self) {
        self.shared.lock().closed = true;
        self.shared.has_lines.notify_one();
        self.shared.has_room.notify_all();
        if let Some(writer) = self.writer.take() {
            let _ = writer.join();
        }
    }
}

#[cfg(test)]
mod tests {
    use std::time::Instant;

    use super::*;

    /// A sink the test can read while the writer writes to it.
    #[derive(Clone, Default)]
    struct Sink(Arc<Mutex<Vec<u8>>>);

    impl Write for Sink {
        fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
            // Slow, as a terminal or a pipe can be: lines pile up meanwhile.
            std::thread::sleep(Duration::from_millis(1));
            self.0.lock().unwrap().extend_from_slice(buf);
            Ok(buf.len())
        }

        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }

    impl Sink {
        fn text(&self) -> String {
            String::from_utf8(self.0.lock().unwrap().clone()).unwrap()
        }
    }

    #[test]
    fn lines_from_many_threads_all_arrive_each_whole_and_in_each_threads_order() {
        let sink = Sink::default();
        // A small limit: logging has to wait for the writer many times.
        let (lines, guard) = with_limit(sink.clone(), 64).unwrap();

        std::thread::scope(|scope| {
            for thread in 0..4 {
                let mut lines = lines.clone();
                scope.spawn(move || {
                    for n in 0..500 {
                        // As the subscriber does: a whole line per write.
                        let line = format!("thread {thread} line {n}\n");
                        lines.write_all(line.as_bytes()).unwrap();
                    }
                });
            }
        });
        drop(guard);

        let text = sink.text();
        assert_eq!(text.lines().count(), 2000);
        for thread in 0..4 {
            let numbers: Vec<usize> = text
                .lines()
                .filter_map(|line| line.strip_prefix(&format!("thread {thread} line ")))
                .map(|n| n.parse().unwrap())
                .collect();
            assert_eq!(numbers, (0..500).collect::<Vec<_>>());
        }
    }

    #[test]
    fn a_line_is_written_out_soon_not_only_at_exit() {
        let sink = Sink::default();
        let (mut lines, _guard) = to(sink.clone()).unwrap();

        writeln!(lines, "hello").unwrap();

        let deadline = Instant::now() + Duration::from_secs(5);
        while sink.text().is_empty() && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(5));
        }
        assert_eq!(sink.text(), "hello\n");
    }
}
