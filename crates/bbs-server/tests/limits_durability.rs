//! Issue 5, durability: many connections writing at once never deadlock or
//! fail, and an acknowledged write survives SIGKILL of the real `bbsd`
//! binary. (scripts/crash-test.sh does the latter 20 times under load.)

use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::process::{Child, Command, Stdio};

use bbs_server::{Config, Rate};
use bbs_testkit::{PlainClient, TestServer};

#[test]
fn concurrent_writers_on_shared_posts_all_get_clear_answers() {
    let server = TestServer::start_with(Config {
        login_rate_per_ip: Rate::new(1000, std::time::Duration::from_secs(1)),
        ..Config::default()
    });
    let mut setup = server.plain();
    assert_eq!(setup.send("register owner o@x pw"), "Register successfully.");
    assert_eq!(setup.send("login owner pw"), "Welcome, owner.");
    assert_eq!(setup.send("create-board b"), "Create board successfully.");
    for i in 0..10 {
        assert_eq!(setup.send(&format!("create-post b --title shared{i} --content c")), "Create post successfully.");
    }
    let writers: Vec<_> = (0..12)
        .map(|w| {
            let addr = server.addr;
            std::thread::spawn(move || {
                let mut p = PlainClient::connect(addr);
                assert_eq!(p.send(&format!("register w{w} w@x pw")), "Register successfully.");
                assert_eq!(p.send(&format!("login w{w} pw")), format!("Welcome, w{w}."));
                let mut mine = 0;
                for i in 0..40 {
                    // Writes that touch the same rows from every connection.
                    let shared = 1 + (i % 10);
                    assert_eq!(p.send(&format!("comment {shared} from w{w} #{i}")), "Comment successfully.");
                    assert_eq!(p.send(&format!("update-post {shared} --title stolen")), "Not the post owner.");
                    assert_eq!(p.send(&format!("create-post b --title w{w}-{i} --content x")), "Create post successfully.");
                    mine += 1;
                }
                mine
            })
        })
        .collect();
    let created: usize = writers.into_iter().map(|w| w.join().expect("a writer failed")).sum();
    let list = setup.send("list-post b");
    assert_eq!(list.lines().count(), 1 + 10 + created);
    let read = setup.send("read 1");
    assert_eq!(read.lines().filter(|l| l.contains(": from w")).count(), 12 * 4);
}

struct Bbsd(Child, SocketAddr);

impl Bbsd {
    fn start(db: &std::path::Path) -> Bbsd {
        let mut child = Command::new(env!("CARGO_BIN_EXE_bbsd"))
            .args(["0", "--bind", "127.0.0.1", "--db"])
            .arg(db)
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let mut lines = BufReader::new(child.stderr.take().unwrap()).lines();
        let addr = loop {
            let line = lines.next().expect("bbsd ended before listening").unwrap();
            if let Some(rest) = line.split("Listening on ").nth(1) {
                break rest.split_whitespace().next().unwrap().parse().unwrap();
            }
        };
        // Keep draining the log so bbsd never blocks on it.
        std::thread::spawn(move || lines.for_each(drop));
        Bbsd(child, addr)
    }
}

impl Drop for Bbsd {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[test]
fn an_acknowledged_write_survives_sigkill() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("bbs.db");
    let mut server = Bbsd::start(&db);
    let mut p = PlainClient::connect(server.1);
    assert_eq!(p.send("register u u@x pw"), "Register successfully.");
    assert_eq!(p.send("login u pw"), "Welcome, u.");
    assert_eq!(p.send("create-board b"), "Create board successfully.");
    for i in 0..50 {
        assert_eq!(p.send(&format!("create-post b --title t{i} --content c{i}")), "Create post successfully.");
    }
    assert_eq!(p.send("comment 50 last words"), "Comment successfully.");
    // SIGKILL right after the last acknowledgement: no shutdown code runs.
    server.0.kill().unwrap();
    server.0.wait().unwrap();
    drop(p);
    let server = Bbsd::start(&db);
    let mut p = PlainClient::connect(server.1);
    assert_eq!(p.send("list-post b").lines().count(), 51);
    assert!(p.send("read 50").ends_with("--\nc49\n--\nu: last words"));
    assert_eq!(p.send("login u pw"), "Welcome, u.");
}
