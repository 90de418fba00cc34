//! What the server acknowledged survives `kill -9` of the real `bbsd`
//! process and a restart on the same database file; SIGTERM shuts it down
//! cleanly; the first start creates the database and the log shows every
//! connection.

use std::path::Path;

use bbs_testkit::{BbsdProcess, PlainClient};
use nix::sys::signal::{kill, Signal};
use nix::unistd::Pid;

fn start(db: &Path) -> BbsdProcess {
    BbsdProcess::start(Path::new(env!("CARGO_BIN_EXE_bbsd")), db, &[])
}

#[test]
fn acknowledged_writes_survive_kill_9_and_restart() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("bbs.db");

    let server = start(&db);
    let mut p = PlainClient::connect(server.addr);
    assert_eq!(p.send("register keeper k@x pw"), "Register successfully.");
    assert_eq!(p.send("login keeper pw"), "Welcome, keeper.");
    assert_eq!(p.send("create-board vault"), "Create board successfully.");
    for n in 1..=30 {
        assert_eq!(
            p.send(&format!("create-post vault --title post {n} --content body {n}")),
            "Create post successfully."
        );
    }
    assert_eq!(p.send("comment 7 still here"), "Comment successfully.");
    assert_eq!(p.send("update-post 8 --title renamed"), "Update successfully.");
    assert_eq!(p.send("delete-post 9"), "Delete successfully.");
    server.kill_9();

    let server = start(&db);
    let mut p = PlainClient::connect(server.addr);
    assert_eq!(p.send("login keeper pw"), "Welcome, keeper.");
    let list = p.send("list-post vault");
    let rows: Vec<&str> = list.lines().skip(1).collect();
    assert_eq!(rows.len(), 29, "{list}");
    assert!(list.contains("renamed") && !list.contains("post 9 "), "{list}");
    let post = p.send("read 7");
    assert!(post.ends_with("--\nbody 7\n--\nkeeper: still here"), "{post}");
    // Serial numbers continue after the restart; none is reused.
    assert_eq!(p.send("create-post vault --title after --content x"), "Create post successfully.");
    assert!(p.send("list-post vault").lines().last().unwrap().starts_with("31 "));
}

#[test]
fn first_start_creates_the_database_and_logs_connections() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("nested").join("bbs.db");
    let server = start(&db);
    let p = PlainClient::connect(server.addr);
    let local = p.stream().local_addr().unwrap();
    server.expect_log(&format!("New connection from {local}"));
    let mut p = p;
    assert_eq!(p.send("list-board"), "Index  Name  Moderator");
    assert!(db.exists());
}

#[test]
fn sigterm_shuts_down_cleanly_and_closes_connections() {
    let dir = tempfile::tempdir().unwrap();
    let mut server = start(&dir.path().join("bbs.db"));
    let mut p = PlainClient::connect(server.addr);
    assert_eq!(p.send("register a a@x p"), "Register successfully.");
    let pid = Pid::from_raw(i32::try_from(server.child.id()).unwrap());
    kill(pid, Signal::SIGTERM).unwrap();
    assert!(server.child.wait().unwrap().success(), "bbsd did not exit cleanly on SIGTERM");
    server.expect_log("shutting down");
    // The person at the prompt is told why the connection ends.
    let said = String::from_utf8(p.read_to_close().unwrap()).unwrap();
    assert_eq!(said, format!("{}\r\n", bbs_protocol::answer::SHUTTING_DOWN));
}
