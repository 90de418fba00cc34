//! Every limit is a `bbsd` flag: the real binary takes them, applies them,
//! and refuses malformed values with a clear message.

use std::io::Read;
use std::net::TcpStream;
use std::path::Path;
use std::process::Command;

use bbs_testkit::{BbsdProcess, PlainClient};

fn bbsd(args: &[&str]) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_bbsd"));
    command.args(args);
    command
}

/// The server process, and its database directory (kept alive until the
/// server is gone: fields drop in order).
struct Running(BbsdProcess, #[allow(dead_code)] tempfile::TempDir);

fn start(flags: &[&str]) -> Running {
    let dir = tempfile::tempdir().unwrap();
    let server = BbsdProcess::start(Path::new(env!("CARGO_BIN_EXE_bbsd")), &dir.path().join("bbs.db"), flags);
    Running(server, dir)
}

#[test]
fn every_limit_flag_is_accepted_and_applied() {
    let server = start(&[
        "--max-line",
        "100",
        "--max-connections",
        "50",
        "--max-connections-per-ip",
        "2",
        "--idle-timeout-anonymous",
        "60",
        "--idle-timeout-logged-in",
        "120",
        "--max-pending-output",
        "100000",
        "--write-timeout",
        "5",
        "--max-password",
        "8",
        "--hash-workers",
        "1",
        "--workers",
        "1",
        "--hash-queue",
        "4",
        "--login-rate-ip",
        "2/60",
        "--login-rate-account",
        "10/60",
        "--udp-rate-ip",
        "50/1",
        "--udp-reply-memory",
        "10",
        "--max-udp-reply",
        "600",
    ]);
    let mut a = PlainClient::connect(server.0.addr);
    let _b = PlainClient::connect(server.0.addr);
    let mut refused = TcpStream::connect(server.0.addr).unwrap();
    let mut text = String::new();
    refused.read_to_string(&mut text).unwrap();
    assert_eq!(text, "Too many connections from your address (the limit is 2). Please close one and try again.\r\n");
    assert_eq!(a.send(&"x".repeat(101)), "Error: line too long (the limit is 100 bytes); it was ignored.");
    assert_eq!(a.send("register u u@x 123456789"), "Password too long: at most 8 bytes.");
    assert_eq!(a.send("register u u@x pw"), "Register successfully.");
    assert_eq!(a.send("login u nope"), "Login failed.");
    assert_eq!(a.send("login u nope"), "Login failed.");
    assert_eq!(a.send("login u pw"), "Too many login attempts from your address. Please try again in 30 seconds.");
}

#[test]
fn malformed_limits_are_refused_with_a_clear_message() {
    for (flag, value, says) in [
        ("--login-rate-ip", "60", "BURST/SECONDS"),
        ("--udp-rate-ip", "0/1", "BURST/SECONDS"),
        ("--idle-timeout-anonymous", "0", "--idle-timeout-anonymous must be a number of seconds above 0"),
        ("--max-udp-reply", "100", "--max-udp-reply must be between 256 and 65507 bytes"),
        ("--workers", "0", "0 is not in 1..=65535"),
    ] {
        let out =
            bbsd(&["0", "--bind", "127.0.0.1", "--db", "/nonexistent/never-created.db", flag, value]).output().unwrap();
        assert!(!out.status.success(), "{flag} {value} was accepted");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(stderr.contains(says), "{flag} {value}: {stderr}");
    }
}
