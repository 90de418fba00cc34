//! SIGHUP re-reads the configuration file and applies the new limits to
//! the running server; sessions stay connected.

use std::path::Path;

use bbs_protocol::answer;
use bbs_testkit::{BbsdProcess, PlainClient};
use nix::sys::signal::{kill, Signal};
use nix::unistd::Pid;

const WAITING: &str = "bob is not online; the message waits for the next login.";

#[test]
fn sighup_changes_a_rate_limit_while_a_session_keeps_working() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("bbsd.toml");
    std::fs::write(&file, "tell-rate = \"1/600\"\n").unwrap();
    let server = BbsdProcess::start(
        Path::new(env!("CARGO_BIN_EXE_bbsd")),
        &dir.path().join("bbs.db"),
        &["--config", file.to_str().unwrap()],
    );
    let mut ann = PlainClient::connect(server.addr);
    assert_eq!(ann.send("register bob bob@example.org pw"), answer::REGISTERED);
    assert_eq!(ann.send("register ann ann@example.org pw"), answer::REGISTERED);
    assert_eq!(ann.send("login ann pw"), "Welcome, ann.");
    assert_eq!(ann.send("tell bob one"), WAITING);
    assert!(ann.send("tell bob two").starts_with("Too many messages"), "the file's rate applies");

    std::fs::write(&file, "tell-rate = \"100/1\"\n").unwrap();
    kill(Pid::from_raw(server.child.id() as i32), Signal::SIGHUP).unwrap();
    let logged = server.expect_log("reload: tell_rate");
    assert!(logged.contains("1/600 -> 100/1"), "{logged}");
    server.expect_log("configuration reloaded");

    // The same session, still connected, now has the new rate.
    assert_eq!(ann.send("whoami"), "ann");
    assert_eq!(ann.send("tell bob three"), WAITING);
    assert_eq!(ann.send("tell bob four"), WAITING);

    // A file that no longer parses leaves the running limits alone.
    std::fs::write(&file, "tell-rate = \"fast\"\n").unwrap();
    kill(Pid::from_raw(server.child.id() as i32), Signal::SIGHUP).unwrap();
    server.expect_log("reload refused");
    assert_eq!(ann.send("tell bob five"), WAITING);
}
