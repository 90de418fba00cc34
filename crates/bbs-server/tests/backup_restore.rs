//! `bbsd backup` copies a running board's database consistently, and
//! `bbsd restore` checks a backup before it replaces anything.

use std::path::Path;
use std::process::{Command, Output};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use bbs_protocol::answer;
use bbs_server::{Config, Rate};
use bbs_testkit::{PlainClient, TestServer};

const WRITERS: usize = 20;

fn bbsd(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_bbsd")).args(args).output().expect("run bbsd")
}

fn path(p: &Path) -> &str {
    p.to_str().unwrap()
}

#[test]
fn a_backup_taken_while_twenty_connections_post_restores_every_acknowledged_post() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("bbs.db");
    // Twenty logins of one account at once, and their posts: past the
    // default login and write rates of one account and one address.
    let config = Config {
        login_rate_per_account: Rate::new(100, Duration::from_secs(1)),
        write_rate_per_account: Rate::new(100_000, Duration::from_secs(1)),
        write_rate_per_ip: Rate::new(100_000, Duration::from_secs(1)),
        ..Config::default()
    };
    let server = TestServer::start_on(&db, config);
    let mut admin = PlainClient::connect(server.addr);
    assert_eq!(admin.send("register ann ann@example.org pw"), answer::REGISTERED);
    assert_eq!(admin.send("login ann pw"), "Welcome, ann.");
    assert_eq!(admin.send("create-board Live"), answer::BOARD_CREATED);

    let acknowledged = Arc::new(Mutex::new(Vec::new()));
    let stop = Arc::new(AtomicBool::new(false));
    let writers: Vec<_> = (0..WRITERS)
        .map(|w| {
            let (acknowledged, stop, addr) = (Arc::clone(&acknowledged), Arc::clone(&stop), server.addr);
            std::thread::spawn(move || {
                let mut client = PlainClient::connect(addr);
                assert_eq!(client.send("login ann pw"), "Welcome, ann.");
                for n in 0..200 {
                    if stop.load(Ordering::Relaxed) {
                        break;
                    }
                    let title = format!("w{w}n{n}");
                    assert_eq!(
                        client.send(&format!("create-post Live --title {title} --content x")),
                        answer::POST_CREATED
                    );
                    acknowledged.lock().unwrap().push(title);
                }
            })
        })
        .collect();
    let deadline = Instant::now() + Duration::from_secs(30);
    while acknowledged.lock().unwrap().len() < 2 * WRITERS {
        assert!(Instant::now() < deadline, "the writers got nothing acknowledged");
        std::thread::sleep(Duration::from_millis(10));
    }
    let before_backup = acknowledged.lock().unwrap().clone();
    let backup = dir.path().join("board.backup");
    let out = bbsd(&["backup", "--db", path(&db), "--to", path(&backup)]);
    assert!(out.status.success(), "backup failed: {}", String::from_utf8_lossy(&out.stderr));
    let during = acknowledged.lock().unwrap().len();
    stop.store(true, Ordering::Relaxed);
    for writer in writers {
        writer.join().unwrap();
    }
    eprintln!("{} posts acknowledged before the backup, {during} when it ended", before_backup.len());

    let fresh = tempfile::tempdir().unwrap();
    let fresh_db = fresh.path().join("bbs.db");
    let out = bbsd(&["restore", "--from", path(&backup), "--db", path(&fresh_db)]);
    assert!(out.status.success(), "restore failed: {}", String::from_utf8_lossy(&out.stderr));
    assert!(String::from_utf8_lossy(&out.stdout).contains("integrity ok"));

    let restored = TestServer::start_on(&fresh_db, Config::default());
    let listing = PlainClient::connect(restored.addr).send("list-post Live");
    let missing: Vec<&String> =
        before_backup.iter().filter(|t| !listing.lines().any(|l| l.split_whitespace().any(|w| w == *t))).collect();
    assert!(missing.is_empty(), "posts acknowledged before the backup are missing: {missing:?}");
}

#[test]
fn a_damaged_backup_is_refused_and_the_database_left_alone() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("bbs.db");
    {
        let server = TestServer::start_on(&db, Config::default());
        let mut client = PlainClient::connect(server.addr);
        assert_eq!(client.send("register ann ann@example.org pw"), answer::REGISTERED);
    }
    let backup = dir.path().join("good.backup");
    assert!(bbsd(&["backup", "--db", path(&db), "--to", path(&backup)]).status.success());
    let out = bbsd(&["backup", "--db", path(&db), "--to", path(&backup)]);
    assert!(!out.status.success(), "an existing backup file is not overwritten");

    // Scribble over the second page (the users table's data).
    let mut bytes = std::fs::read(&backup).unwrap();
    assert!(bytes.len() > 8192);
    bytes[4096..8192].fill(0xA5);
    let damaged = dir.path().join("damaged.backup");
    std::fs::write(&damaged, bytes).unwrap();

    let target = dir.path().join("target.db");
    std::fs::write(&target, b"the old database").unwrap();
    let out = bbsd(&["restore", "--from", path(&damaged), "--db", path(&target)]);
    assert!(!out.status.success());
    let error = String::from_utf8_lossy(&out.stderr);
    assert!(error.contains("is not a usable backup") && error.contains("nothing was replaced"), "{error}");
    assert_eq!(std::fs::read(&target).unwrap(), b"the old database");

    let out = bbsd(&["restore", "--from", path(&dir.path().join("nothing.backup")), "--db", path(&target)]);
    assert!(!out.status.success());
}

#[test]
fn export_writes_every_table_as_json() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("bbs.db");
    let server = TestServer::start_on(&db, Config::default());
    let mut client = PlainClient::connect(server.addr);
    assert_eq!(client.send("register ann ann@example.org pw"), answer::REGISTERED);
    assert_eq!(client.send("login ann pw"), "Welcome, ann.");
    assert_eq!(client.send("create-board Notes"), answer::BOARD_CREATED);
    assert_eq!(client.send("create-post Notes --title Hello --content first<br>post"), answer::POST_CREATED);

    // Exported while the server runs.
    let out = bbsd(&["export", "--db", path(&db), "--format", "json"]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let export: serde_json::Value = serde_json::from_slice(&out.stdout).expect("one JSON document");
    assert!(export["schema_version"].as_u64().unwrap() > 0);
    let tables = export["tables"].as_object().unwrap();
    assert!(tables["users"].as_array().unwrap().iter().any(|u| u["name"] == "ann"), "{export}");
    assert!(tables["boards"].as_array().unwrap().iter().any(|b| b["name"] == "Notes"), "{export}");
    assert!(tables["posts"].as_array().unwrap().iter().any(|p| p["title"] == "Hello"), "{export}");

    let out = bbsd(&["export", "--db", path(&dir.path().join("none.db"))]);
    assert!(!out.status.success());
}
