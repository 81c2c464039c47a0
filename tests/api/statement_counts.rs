//! The snapshot of statement counts in `statement_counts.txt`: one row per canonical operation,
//! one column per database. Each backend's test checks (or, with `UPDATE_EXPECT=1`, rewrites)
//! only its own column, holding an exclusive lock on the file while it reads and writes it, so
//! the three backends' tests can update it at the same time (as threads of `cargo test` or as
//! processes of `cargo nextest`) without one overwriting another's figures.

use std::collections::HashMap;
use std::fs::{File, OpenOptions};
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::PathBuf;

use crate::helpers::Backend;

const HEADER: &str = "\
# Statements per request for canonical operations, one column per database.
# Data: 20 users with 4 posts each, each user following the next 3. Written by
# tests/api/batching.rs; a change here is an N+1 regression unless it was meant (then:
# UPDATE_EXPECT=1 cargo test --test api).
";

const BACKENDS: [Backend; 3] = [Backend::Sqlite, Backend::Postgres, Backend::MariaDb];

/// Asserts `counts` (operation, statements) as `backend`'s column of the snapshot.
pub fn assert_statement_counts(backend: Backend, counts: &[(&str, usize)]) {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/api/statement_counts.txt");
    let mut file = OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .open(&path)
        .expect("open statement_counts.txt");
    // Released when `file` is dropped.
    file.lock().expect("lock statement_counts.txt");
    let mut recorded = String::new();
    file.read_to_string(&mut recorded)
        .expect("read statement_counts.txt");

    let column = column_of(backend);
    let mut table = parse(&recorded);
    let expected = render(counts, |name| {
        let mut row = table.remove(name).unwrap_or([None; 3]);
        row[column] = counts
            .iter()
            .find(|(operation, _)| *operation == name)
            .map(|(_, count)| *count);
        row
    });

    if recorded == expected {
        return;
    }
    if std::env::var_os("UPDATE_EXPECT").is_some() {
        rewrite(&mut file, &expected);
        return;
    }
    panic!(
        "statement counts on {} differ from {} (an N+1 regression, unless meant: then \
         UPDATE_EXPECT=1 cargo test --test api)\n--- recorded\n{recorded}\n--- now\n{expected}",
        backend.name(),
        path.display()
    );
}

fn column_of(backend: Backend) -> usize {
    BACKENDS
        .iter()
        .position(|known| *known == backend)
        .expect("a known backend")
}

/// The rows of a snapshot, by operation: a count per backend, `None` where it shows `-`.
fn parse(text: &str) -> HashMap<String, [Option<usize>; 3]> {
    text.lines()
        .filter(|line| !line.starts_with('#') && !line.trim().is_empty())
        .skip(1) // the column names
        .filter_map(|line| {
            let mut parts = line.split_whitespace();
            let mut row = [None; 3];
            for cell in &mut row {
                *cell = parts.next()?.parse().ok();
            }
            Some((parts.collect::<Vec<_>>().join(" "), row))
        })
        .collect()
}

/// The snapshot for `counts`' operations, in their order; `row` gives each one's counts.
fn render(counts: &[(&str, usize)], mut row: impl FnMut(&str) -> [Option<usize>; 3]) -> String {
    let mut text = String::from(HEADER);
    let names: Vec<&str> = BACKENDS.iter().map(|backend| backend.name()).collect();
    text.push_str(&format!(
        "{:>8} {:>8} {:>8}  operation\n",
        names[0], names[1], names[2]
    ));
    for (name, _) in counts {
        let cells = row(name).map(|cell| cell.map_or("-".to_string(), |n| n.to_string()));
        text.push_str(&format!(
            "{:>8} {:>8} {:>8}  {name}\n",
            cells[0], cells[1], cells[2]
        ));
    }
    text
}

fn rewrite(file: &mut File, text: &str) {
    file.set_len(0).expect("truncate statement_counts.txt");
    file.seek(SeekFrom::Start(0))
        .expect("rewind statement_counts.txt");
    file.write_all(text.as_bytes())
        .expect("write statement_counts.txt");
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_rendered_table_parses_back() {
        let text = render(&[("one op", 3), ("another op", 2)], |name| match name {
            "one op" => [Some(3), None, Some(4)],
            _ => [Some(2), Some(2), Some(2)],
        });
        let table = parse(&text);
        assert_eq!(table["one op"], [Some(3), None, Some(4)]);
        assert_eq!(table["another op"], [Some(2), Some(2), Some(2)]);
        assert_eq!(table.len(), 2);
    }
}
