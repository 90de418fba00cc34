//! `bbsd` listens on IPv4 and IPv6: by default on every address of both
//! (one dual-stack socket where the system allows), or on each `--bind`.

use std::io::{BufRead, BufReader};
use std::net::{IpAddr, SocketAddr};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use bbs_testkit::{udp_exchange_from, BbsdProcess, PlainClient};

const REGISTERED: &str = "Register successfully.";

/// A UDP request from `local` to `addr`; the answer's text.
fn udp_answer(local: &str, addr: SocketAddr, line: &str) -> String {
    let datagram = bbs_protocol::udp::UdpRequest::encode("t1", None, line);
    let local: IpAddr = local.parse().unwrap();
    let reply = udp_exchange_from(local, addr, datagram.as_bytes(), Duration::from_secs(5)).expect("a UDP reply");
    let text = String::from_utf8(reply).unwrap();
    bbs_protocol::udp::parse_reply(&text).expect("tagged reply").1.to_owned()
}

fn ipv6_or_skip() -> bool {
    if bbs_server::listen::ipv6_loopback_available() {
        return true;
    }
    eprintln!("SKIPPED: this machine has no IPv6 loopback (::1 cannot be bound)");
    false
}

#[test]
fn a_client_on_the_ipv6_loopback_is_served_over_tcp_and_udp() {
    if !ipv6_or_skip() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    // BbsdProcess binds 127.0.0.1; `--bind` is repeatable, so ::1 comes too.
    let server =
        BbsdProcess::start(Path::new(env!("CARGO_BIN_EXE_bbsd")), &dir.path().join("bbs.db"), &["--bind", "::1"]);
    let line = server.expect_log("Listening on [::1]:");
    let v6: SocketAddr =
        line.split("Listening on ").nth(1).unwrap().split_whitespace().next().unwrap().parse().unwrap();
    assert_eq!(v6.port(), server.addr.port(), "every address shares the one port");

    let mut tcp = PlainClient::connect(v6);
    assert_eq!(tcp.send("register ann ann@example.org pw"), REGISTERED);
    assert_eq!(udp_answer("::1", v6, "register bob bob@example.org pw"), REGISTERED);
    // The IPv4 address serves the same board.
    assert_eq!(udp_answer("127.0.0.1", server.addr, "register ann x@example.org pw"), "Username is already used.");
    assert_eq!(tcp.send("login bob pw"), "Welcome, bob.");
}

/// `bbsd` with no `--bind` on a free port: the child and the port.
fn start_default(db: &Path) -> (Child, u16) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_bbsd"))
        .arg("--db")
        .arg(db)
        .arg("0")
        .env("RUST_LOG", "info")
        .stdin(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut log = BufReader::new(child.stderr.take().unwrap()).lines();
    let line = log.by_ref().map_while(Result::ok).find(|l| l.contains("Listening on ")).expect("a Listening line");
    let addr: SocketAddr =
        line.split("Listening on ").nth(1).unwrap().split_whitespace().next().unwrap().parse().unwrap();
    std::thread::spawn(move || for _ in log {});
    (child, addr.port())
}

#[test]
fn by_default_every_ipv4_and_ipv6_address_is_served() {
    let dir = tempfile::tempdir().unwrap();
    let (mut child, port) = start_default(&dir.path().join("bbs.db"));
    let v4 = SocketAddr::from(([127, 0, 0, 1], port));
    let mut tcp = PlainClient::connect(v4);
    assert_eq!(tcp.send("register ann ann@example.org pw"), REGISTERED);
    assert_eq!(udp_answer("127.0.0.1", v4, "register bob bob@example.org pw"), REGISTERED);
    if ipv6_or_skip() {
        let v6: SocketAddr = format!("[::1]:{port}").parse().unwrap();
        assert_eq!(PlainClient::connect(v6).send("login ann pw"), "Welcome, ann.");
        assert_eq!(udp_answer("::1", v6, "register cy cy@example.org pw"), REGISTERED);
    }
    let _ = child.kill();
    let _ = child.wait();
}
