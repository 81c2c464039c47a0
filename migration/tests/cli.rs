//! SeaORM's migration CLI works as usual: `up`, `status`, `down` on a fresh SQLite file.

use std::process::Command;

fn migration(db_url: &str, args: &[&str]) -> String {
    let output = Command::new(env!("CARGO_BIN_EXE_migration"))
        .env("DATABASE_URL", db_url)
        .args(args)
        .output()
        .expect("run the migration CLI");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(output.status.success(), "migration {args:?} failed: {text}");
    text
}

#[test]
fn up_status_and_down_work() {
    let dir = tempfile::tempdir().expect("temp dir");
    let db_url = format!("sqlite://{}?mode=rwc", dir.path().join("m.db").display());

    let up = migration(&db_url, &["up"]);
    assert!(up.contains("m20250101_000002_create_post_table"), "{up}");
    assert!(up.contains("m20261123_000001_create_follows_table"), "{up}");
    assert!(up.contains("m20261129_000001_add_folded_text"), "{up}");
    assert!(up.contains("m20261129_000002_create_accounts"), "{up}");

    let status = migration(&db_url, &["status"]);
    assert!(status.contains("Applied"), "{status}");

    let down = migration(&db_url, &["down", "-n", "5"]);
    assert!(down.contains("Rolling back"), "{down}");
}
