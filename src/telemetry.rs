//! Logging through `tracing`: one subscriber, installed once, filtered by `--log`.
//!
//! Lines look as tracing's default format writes them; two parts of that format are done
//! more cheaply here, as every request writes a line (about 7K instructions of the 10K a line
//! cost):
//! - the timestamp: the date and time of day are formatted once a second per thread
//!   (`Timestamps`);
//! - escaping control characters a value could smuggle into a terminal: where lines carry no
//!   colors (not a terminal, as in production), each whole line is escaped at once in the sink
//!   (`Escaped`), instead of the message character by character. The same characters are
//!   escaped the same way, in every field rather than only the message. On a terminal, where
//!   the lines' own colors must pass, tracing escapes messages itself as before.

use std::cell::RefCell;
use std::fmt::{self, Write as _};
use std::io::{self, IsTerminal, Write};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use tracing::Subscriber;
use tracing_subscriber::fmt::format::Writer;
use tracing_subscriber::fmt::time::FormatTime;
use tracing_subscriber::fmt::MakeWriter;
use tracing_subscriber::util::SubscriberInitExt;
use tracing_subscriber::{layer::SubscriberExt, EnvFilter};

/// A subscriber that writes human-readable lines to `sink`, filtered by `filter`
/// (EnvFilter syntax; an invalid filter falls back to `info`).
pub fn get_subscriber<Sink>(filter: &str, sink: Sink) -> impl Subscriber + Send + Sync
where
    Sink: for<'a> MakeWriter<'a> + Send + Sync + 'static,
{
    subscriber(filter, sink, std::io::stdout().is_terminal())
}

/// As `get_subscriber`, with colors (`ansi`) or not.
fn subscriber<Sink>(filter: &str, sink: Sink, ansi: bool) -> impl Subscriber + Send + Sync
where
    Sink: for<'a> MakeWriter<'a> + Send + Sync + 'static,
{
    let filter = EnvFilter::try_new(filter).unwrap_or_else(|_| EnvFilter::new("info"));
    tracing_subscriber::registry().with(filter).with(
        tracing_subscriber::fmt::layer()
            .with_ansi(ansi)
            .with_timer(Timestamps)
            .with_ansi_sanitization(ansi)
            .with_writer(Escaped {
                sink,
                escape: !ansi,
            }),
    )
}

/// Installs the subscriber for the whole process, once; `log` records (sqlx's) are routed into
/// it too. A second call keeps the first subscriber, which is what tests want.
pub fn init_subscriber(subscriber: impl Subscriber + Send + Sync + 'static) {
    if subscriber.try_init().is_err() {
        tracing::debug!("a tracing subscriber was already installed; keeping it");
    }
}

/// UTC timestamps to the microsecond (`2026-11-30T19:53:31.932207Z`), as tracing's default
/// timer writes them.
struct Timestamps;

impl FormatTime for Timestamps {
    fn format_time(&self, w: &mut Writer<'_>) -> fmt::Result {
        let since_epoch = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap_or_default();
        write_timestamp(w, since_epoch)
    }
}

fn write_timestamp(w: &mut impl fmt::Write, since_epoch: Duration) -> fmt::Result {
    thread_local! {
        /// A second, and its date and time of day.
        static SECOND: RefCell<(u64, String)> = const { RefCell::new((u64::MAX, String::new())) };
    }
    let seconds = since_epoch.as_secs();
    SECOND.with(|second| {
        let mut second = second.borrow_mut();
        if second.0 != seconds {
            let (at, text) = &mut *second;
            text.clear();
            let time = i64::try_from(seconds)
                .ok()
                .and_then(|seconds| chrono::DateTime::from_timestamp(seconds, 0))
                .unwrap_or_default();
            write!(text, "{}", time.format("%Y-%m-%dT%H:%M:%S"))?;
            *at = seconds;
        }
        w.write_str(&second.1)
    })?;
    let mut fraction = *b".000000Z";
    let mut micros = since_epoch.subsec_micros();
    for digit in fraction[1..7].iter_mut().rev() {
        *digit = b'0' + (micros % 10) as u8;
        micros /= 10;
    }
    // Only ASCII digits and punctuation were written.
    w.write_str(std::str::from_utf8(&fraction).map_err(|_| fmt::Error)?)
}

/// A sink whose lines have their control characters escaped when `escape` is set.
struct Escaped<Sink> {
    sink: Sink,
    escape: bool,
}

impl<'a, Sink: MakeWriter<'a>> MakeWriter<'a> for Escaped<Sink> {
    type Writer = EscapedWriter<Sink::Writer>;

    fn make_writer(&'a self) -> Self::Writer {
        EscapedWriter {
            inner: self.sink.make_writer(),
            escape: self.escape,
        }
    }
}

struct EscapedWriter<W> {
    inner: W,
    escape: bool,
}

impl<W: Write> Write for EscapedWriter<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        // The subscriber writes each line whole: an escape sequence is never split.
        match buf.iter().position(|&byte| needs_escape(byte)) {
            Some(first) if self.escape => {
                let escaped = escape_from(buf, first);
                self.inner.write_all(&escaped)?;
            }
            _ => self.inner.write_all(buf)?,
        }
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}

/// Whether `byte` is, or may begin, a character tracing escapes: ESC, BEL, BS, FF, DEL, and in
/// UTF-8 the C1 controls U+0080-U+009F (`0xC2` then `0x80..=0x9F`).
fn needs_escape(byte: u8) -> bool {
    matches!(byte, 0x1b | 0x07 | 0x08 | 0x0c | 0x7f | 0xc2)
}

/// `line` with its control characters written as tracing's escaping writes them (`\x1b`,
/// `\u{9b}`); nothing before `first` needs it.
fn escape_from(line: &[u8], first: usize) -> Vec<u8> {
    let mut escaped = Vec::with_capacity(line.len() + 16);
    escaped.extend_from_slice(&line[..first]);
    let mut rest = line[first..].iter().copied().peekable();
    while let Some(byte) = rest.next() {
        match byte {
            0x1b | 0x07 | 0x08 | 0x0c | 0x7f => {
                // Writing to a Vec cannot fail.
                let _ = write!(escaped, "\\x{byte:02x}");
            }
            0xc2 => match rest.peek() {
                Some(&next @ 0x80..=0x9f) => {
                    rest.next();
                    let _ = write!(escaped, "\\u{{{next:x}}}");
                }
                _ => escaped.push(byte),
            },
            _ => escaped.push(byte),
        }
    }
    escaped
}

/// Log lines captured in memory, for tests of what a subscriber writes.
#[cfg(test)]
pub(crate) mod captured {
    use std::io::{self, Write};
    use std::sync::{Arc, Mutex};

    use tracing_subscriber::fmt::MakeWriter;

    /// What the subscriber wrote, shared with the test.
    #[derive(Clone, Default)]
    pub(crate) struct Buffer(Arc<Mutex<Vec<u8>>>);

    impl Buffer {
        /// Everything written so far.
        pub(crate) fn text(&self) -> String {
            String::from_utf8(self.0.lock().unwrap().clone()).unwrap()
        }
    }

    impl Write for Buffer {
        fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(buf);
            Ok(buf.len())
        }

        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }

    impl<'a> MakeWriter<'a> for Buffer {
        type Writer = Buffer;

        fn make_writer(&'a self) -> Buffer {
            self.clone()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::captured::Buffer;
    use super::*;

    impl Buffer {
        /// The lines written, each without its timestamp.
        fn lines_after_timestamps(&self) -> Vec<String> {
            let text = self.text();
            text.lines()
                .map(|line| line.split_once(' ').unwrap().1.to_string())
                .collect()
        }

        fn timestamps(&self) -> Vec<String> {
            let text = self.text();
            text.lines()
                .map(|line| line.split_once(' ').unwrap().0.to_string())
                .collect()
        }
    }

    fn log_samples() {
        tracing::info!("a plain line");
        tracing::info!(
            "a hostile one: \x1b[31mred\x1b[0m \x07\x08\x0c\x7f \u{9b}2J \u{85} é \u{a0} end"
        );
        tracing::warn!(user = 42, "with a field");
    }

    #[test]
    fn lines_read_as_tracings_own_format_writes_them_escapes_included() {
        // Arrange: tracing's default format (its timer, its escaping of the message), and ours.
        let theirs = Buffer::default();
        let default = tracing_subscriber::registry().with(
            tracing_subscriber::fmt::layer()
                .with_ansi(false)
                .with_writer(theirs.clone()),
        );
        let ours = Buffer::default();

        // Act
        tracing::subscriber::with_default(default, log_samples);
        tracing::subscriber::with_default(subscriber("info", ours.clone(), false), log_samples);

        // Assert
        let expected = theirs.lines_after_timestamps();
        assert_eq!(expected.len(), 3);
        assert!(expected[1].contains("\\x1b[31mred"), "{}", expected[1]);
        assert!(expected[1].contains("\\u{9b}2J"), "{}", expected[1]);
        assert_eq!(ours.lines_after_timestamps(), expected);
        for timestamp in ours.timestamps() {
            let parsed = chrono::DateTime::parse_from_rfc3339(&timestamp).unwrap();
            assert_eq!(
                parsed.to_rfc3339_opts(chrono::SecondsFormat::Micros, true),
                timestamp
            );
        }
    }

    #[test]
    fn timestamps_are_rfc_3339_utc_to_the_microsecond() {
        let cases = [
            (Duration::new(0, 0), "1970-01-01T00:00:00.000000Z"),
            (
                Duration::new(1_796_068_411, 932_207_999),
                "2026-11-30T19:53:31.932207Z",
            ),
            // The same second again (from the cache), then the next.
            (
                Duration::new(1_796_068_411, 5_000),
                "2026-11-30T19:53:31.000005Z",
            ),
            (
                Duration::new(1_796_068_412, 0),
                "2026-11-30T19:53:32.000000Z",
            ),
        ];
        for (since_epoch, expected) in cases {
            let mut text = String::new();
            write_timestamp(&mut text, since_epoch).unwrap();
            assert_eq!(text, expected);
        }
    }

    #[test]
    fn a_line_without_control_characters_is_written_as_it_is() {
        let line = "2026-11-30T19:53:31.932207Z  INFO x: caf\u{e9} \u{a0} \u{100}\n";
        let out = Buffer::default();
        let mut writer = EscapedWriter {
            inner: out.clone(),
            escape: true,
        };

        writer.write_all(line.as_bytes()).unwrap();

        assert_eq!(out.text(), line);
    }
}
