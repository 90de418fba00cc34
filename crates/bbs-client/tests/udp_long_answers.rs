//! The real `bbs` client against the real server: `list-chatroom` with
//! 10,000 chatrooms arrives in numbered UDP parts that the client puts back
//! together, asking again for parts that were lost on the way.

use std::collections::HashSet;
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream, UdpSocket};
use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex};

use bbs_protocol::table::format_table;
use bbs_protocol::udp::parse_reply_part;
use bbs_server::Config;

use bbs_testkit::{database_with_chatrooms, TestServer};

/// Runs `bbs` on `port` with `input` piped in; returns its standard output.
fn run_client(port: u16, input: &str) -> String {
    let mut child = Command::new(env!("CARGO_BIN_EXE_bbs"))
        .args(["127.0.0.1", &port.to_string()])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child.stdin.take().unwrap().write_all(input.as_bytes()).unwrap();
    let output = child.wait_with_output().unwrap();
    assert!(output.status.success(), "bbs failed: {}", String::from_utf8_lossy(&output.stderr));
    String::from_utf8(output.stdout).unwrap()
}

fn expected_table(names: Vec<String>) -> String {
    let rows: Vec<Vec<String>> = names.into_iter().map(|name| vec![name, "close".to_owned()]).collect();
    format_table(&["Chatroom_name", "Status"], &rows)
}

#[test]
fn list_chatroom_with_10000_rooms_prints_the_whole_table() {
    let (_dir, db, names) = database_with_chatrooms(10_000);
    let server = TestServer::start_on(&db, Config::default());
    let out = run_client(server.addr.port(), "register u u@x pw\nlogin u pw\nlist-chatroom\nexit\n");
    let table = expected_table(names);
    assert!(out.contains(&format!("Welcome, u.\n% {table}\n")), "the table is missing or damaged");
}

/// A relay on one port for TCP and UDP in front of the server that loses
/// reply datagrams: every odd-numbered part of a long answer is dropped the
/// first time it passes.
struct LossyRelay {
    addr: SocketAddr,
    dropped: Arc<Mutex<HashSet<u32>>>,
}

impl LossyRelay {
    fn start(server: SocketAddr) -> LossyRelay {
        let tcp = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = tcp.local_addr().unwrap();
        let udp = UdpSocket::bind(addr).expect("UDP on the relay's TCP port");
        std::thread::spawn(move || {
            for client in tcp.incoming() {
                let Ok(client) = client else { return };
                let upstream = TcpStream::connect(server).unwrap();
                for (mut from, mut to) in
                    [(client.try_clone().unwrap(), upstream.try_clone().unwrap()), (upstream, client)]
                {
                    std::thread::spawn(move || {
                        let mut buf = [0u8; 65_536];
                        while let Ok(n) = from.read(&mut buf) {
                            if n == 0 || to.write_all(&buf[..n]).is_err() {
                                break;
                            }
                        }
                        let _ = to.shutdown(std::net::Shutdown::Write);
                    });
                }
            }
        });
        let dropped = Arc::new(Mutex::new(HashSet::new()));
        let seen = Arc::clone(&dropped);
        let upstream = UdpSocket::bind("127.0.0.1:0").unwrap();
        upstream.connect(server).unwrap();
        let client_addr = Arc::new(Mutex::new(None));
        {
            let (udp, upstream, client_addr) =
                (udp.try_clone().unwrap(), upstream.try_clone().unwrap(), Arc::clone(&client_addr));
            std::thread::spawn(move || {
                let mut buf = [0u8; 65_536];
                while let Ok((n, from)) = udp.recv_from(&mut buf) {
                    *client_addr.lock().unwrap() = Some(from);
                    let _ = upstream.send(&buf[..n]);
                }
            });
        }
        std::thread::spawn(move || {
            let mut buf = [0u8; 65_536];
            while let Ok(n) = upstream.recv(&mut buf) {
                let datagram = String::from_utf8_lossy(&buf[..n]).into_owned();
                let part = parse_reply_part(&datagram).filter(|p| p.total > 1).map(|p| p.part);
                if part.is_some_and(|p| p % 2 == 1 && seen.lock().unwrap().insert(p)) {
                    continue;
                }
                if let Some(client) = *client_addr.lock().unwrap() {
                    let _ = udp.send_to(&buf[..n], client);
                }
            }
        });
        LossyRelay { addr, dropped }
    }
}

#[test]
fn lost_parts_are_asked_for_again() {
    let (_dir, db, names) = database_with_chatrooms(2_000);
    let server = TestServer::start_on(&db, Config::default());
    let relay = LossyRelay::start(server.addr);
    let out = run_client(relay.addr.port(), "register u u@x pw\nlogin u pw\nlist-chatroom\nexit\n");
    let table = expected_table(names);
    assert!(out.contains(&format!("Welcome, u.\n% {table}\n")), "the table is missing or damaged:\n{out}");
    let dropped = relay.dropped.lock().unwrap().len();
    assert!(dropped > 10, "the relay lost only {dropped} parts");
}

#[test]
fn the_client_gets_please_login_first_over_udp_before_login() {
    let server = TestServer::start();
    let out = run_client(server.addr.port(), "whoami\nlist-chatroom\nregister\nexit\n");
    assert!(
        out.contains("% Please login first.\n% Please login first.\n% Usage: register <username> <email> <password>\n"),
        "{out}"
    );
}
