//! The transfer door of the UDP socket, spoken to datagram by datagram: a
//! transfer opened on a logged-in TCP session takes datagrams only with
//! its id, only from the session's IP address, and after the hello only
//! from the hello's port; it never answers with more bytes than it got;
//! an upload is kept only once the client's digest (its SHA-256 of the
//! file, sent at the end) has arrived and matches the bytes.

use std::net::UdpSocket;
use std::time::Duration;

use bbs_protocol::transfer::{self, Datagram, Status, TransferId, CHUNK, HELLO_SIZE};
use bbs_protocol::{ClientFrame, Event};
use bbs_testkit::{udp_request, DialectClient, TestServer};
use sha2::{Digest, Sha256};

fn socket(ip: &str) -> UdpSocket {
    let socket = UdpSocket::bind((ip, 0)).unwrap();
    socket.set_read_timeout(Some(Duration::from_millis(300))).unwrap();
    socket
}

/// The next datagram, or `None` if nothing came within 300 ms.
fn reply(socket: &UdpSocket) -> Option<Vec<u8>> {
    let mut buf = vec![0u8; 2048];
    socket.recv(&mut buf).ok().map(|n| buf[..n].to_vec())
}

fn hello(id: &TransferId) -> Vec<u8> {
    let mut out = Vec::new();
    transfer::encode_hello(id, 0, &mut out);
    out
}

/// Logs `ann` in and opens an upload of `bytes` (any resume key will do:
/// this file has no earlier attempt).
fn open_upload(server: &TestServer, name: &str, bytes: &[u8]) -> (DialectClient, TransferId, String) {
    let mut client = server.client();
    assert!(client.login("ann", "pw").is_some());
    let resume_key = sha256(name.as_bytes());
    let reply = client.request(&ClientFrame::SendFile { name: name.into(), size: bytes.len() as u64, resume_key });
    let Some(Event::Transfer { id, port, offset, size, sha256, .. }) = reply.event else { panic!("{reply:?}") };
    assert_eq!((port, offset, size), (server.addr.port(), 0, bytes.len() as u64));
    assert_eq!(sha256, "", "an upload's SHA-256 comes at the end");
    let raw: TransferId = hex::decode(&id).unwrap().try_into().unwrap();
    (client, raw, id)
}

fn sha256(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

/// Sends every chunk, one at a time: each is acknowledged, and with every
/// byte in but no digest yet, the upload is still running.
fn send_all(socket: &UdpSocket, server: std::net::SocketAddr, id: &TransferId, bytes: &[u8]) {
    let mut out = Vec::new();
    for (n, chunk) in bytes.chunks(CHUNK).enumerate() {
        transfer::encode_data(id, n as u64, 1, chunk, &mut out);
        socket.send_to(&out, server).unwrap();
        let ack = reply(socket).expect("every data datagram is acknowledged");
        let Some(Datagram::Ack { ack, .. }) = Datagram::decode(&ack) else { panic!("not an ack") };
        assert_eq!((ack.next, ack.status), (n as u64 + 1, Status::Running), "nothing is kept before the digest");
    }
}

fn digest_of(bytes: &[u8]) -> [u8; 32] {
    Sha256::digest(bytes).into()
}

/// Sends the digest; returns the status the server answers with.
fn send_digest(socket: &UdpSocket, server: std::net::SocketAddr, id: &TransferId, sha256: &[u8; 32]) -> Status {
    let mut out = Vec::new();
    transfer::encode_digest(id, sha256, &mut out);
    socket.send_to(&out, server).unwrap();
    let ack = reply(socket).expect("the digest is acknowledged");
    let Some(Datagram::Ack { ack, .. }) = Datagram::decode(&ack) else { panic!("not an ack") };
    ack.status
}

fn digest_datagram(id: &TransferId, sha256: &[u8; 32]) -> Vec<u8> {
    let mut out = Vec::new();
    transfer::encode_digest(id, sha256, &mut out);
    out
}

#[test]
fn only_the_sessions_address_and_the_hellos_port_reach_a_transfer() {
    let server = TestServer::start();
    assert_eq!(udp_request(server.addr, None, "register ann ann@example.org pw"), "Register successfully.");
    let bytes: Vec<u8> = (0..3 * CHUNK).map(|i| (i % 251) as u8).collect();
    let (mut client, id, hex_id) = open_upload(&server, "three.bin", &bytes);

    // Another IP address, even with the right id: nothing.
    let elsewhere = socket("127.0.0.2");
    elsewhere.send_to(&hello(&id), server.addr).unwrap();
    assert_eq!(reply(&elsewhere), None, "a hello from another address was answered");

    // A digest before any hello (from the right address): nothing, it
    // proves no address.
    let early = socket("127.0.0.1");
    early.send_to(&digest_datagram(&id, &digest_of(&bytes)), server.addr).unwrap();
    assert_eq!(reply(&early), None, "a digest from an unproven address was answered");

    // The right address with a wrong id: nothing.
    let first = socket("127.0.0.1");
    let mut wrong = id;
    wrong[0] ^= 1;
    first.send_to(&hello(&wrong), server.addr).unwrap();
    assert_eq!(reply(&first), None, "a hello with a wrong id was answered");

    // The right hello: an acknowledgement no larger than the hello.
    first.send_to(&hello(&id), server.addr).unwrap();
    let answer = reply(&first).expect("the hello is answered");
    assert!(answer.len() <= HELLO_SIZE, "{} bytes answered to {HELLO_SIZE}", answer.len());
    assert!(matches!(Datagram::decode(&answer), Some(Datagram::Ack { .. })));

    // Another port of the same address, after the hello fixed the port: nothing.
    let second = socket("127.0.0.1");
    second.send_to(&hello(&id), server.addr).unwrap();
    let mut out = Vec::new();
    transfer::encode_data(&id, 0, 1, &bytes[..CHUNK], &mut out);
    second.send_to(&out, server.addr).unwrap();
    assert_eq!(reply(&second), None, "datagrams from another port were taken");

    send_all(&first, server.addr, &id, &bytes);
    assert_eq!(client.call("get-file-list").text, "Files:", "kept before the digest arrived");
    second.send_to(&digest_datagram(&id, &digest_of(&bytes)), server.addr).unwrap();
    assert_eq!(reply(&second), None, "a digest from another port was taken");
    assert_eq!(send_digest(&first, server.addr, &id, &digest_of(&bytes)), Status::Complete);
    let done = client.request(&ClientFrame::TransferDone { id: hex_id });
    assert_eq!(done.text, format!("Sent three.bin ({} bytes).", bytes.len()));
    assert_eq!(client.call("get-file-list").text, "Files: three.bin");
}

#[test]
fn bytes_that_do_not_match_the_digest_are_not_kept() {
    let server = TestServer::start();
    assert_eq!(udp_request(server.addr, None, "register ann ann@example.org pw"), "Register successfully.");
    let bytes = vec![7u8; 2 * CHUNK + 5];
    let (mut client, id, hex_id) = open_upload(&server, "bad.bin", &bytes);
    let path = socket("127.0.0.1");
    path.send_to(&hello(&id), server.addr).unwrap();
    reply(&path).expect("the hello is answered");
    send_all(&path, server.addr, &id, &bytes);
    let files = server.db.parent().unwrap().join("files");
    assert_eq!(std::fs::read_dir(files.join("partial")).unwrap().count(), 1, "the bytes wait for the digest");
    assert_eq!(send_digest(&path, server.addr, &id, &digest_of(b"something else")), Status::Damaged);
    // The first digest counts: the right one after it changes nothing.
    assert_eq!(send_digest(&path, server.addr, &id, &digest_of(&bytes)), Status::Damaged);
    let done = client.request(&ClientFrame::TransferDone { id: hex_id });
    assert_eq!(
        done.text,
        "bad.bin: the bytes that arrived do not match the file's SHA-256; nothing was kept. Please try again."
    );
    assert_eq!(client.call("get-file-list").text, "Files:");
    assert_eq!(std::fs::read_dir(files.join("complete")).unwrap().count(), 0);
    assert_eq!(std::fs::read_dir(files.join("partial")).unwrap().count(), 0);
}

/// A partial file (an interrupted upload's bytes) last written `age` ago.
fn partial_file(dir: &std::path::Path, name: &str, age: Duration) -> std::path::PathBuf {
    let path = dir.join(name);
    let file = std::fs::File::create(&path).unwrap();
    file.set_modified(std::time::SystemTime::now() - age).unwrap();
    path
}

#[test]
fn stale_partial_uploads_are_removed_at_start_and_when_an_upload_opens() {
    let dir = tempfile::tempdir().unwrap();
    let partial = dir.path().join("files").join("partial");
    std::fs::create_dir_all(&partial).unwrap();
    let config = bbs_server::Config { transfer_idle_timeout: Duration::from_secs(60), ..Default::default() };
    let stale = partial_file(&partial, "stale-before-start", Duration::from_secs(600));
    let fresh = partial_file(&partial, "fresh", Duration::from_secs(5));
    let server = TestServer::start_on(&dir.path().join("bbs.db"), config);
    // The cleaning runs as the server starts serving: a first request is
    // answered after it.
    assert_eq!(udp_request(server.addr, None, "register ann ann@example.org pw"), "Register successfully.");
    assert!(!stale.exists(), "a partial older than the idle timeout outlived the start");
    assert!(fresh.exists(), "a partial younger than the idle timeout was removed");

    // Left behind while the server runs: gone when the next upload opens.
    let later = partial_file(&partial, "stale-while-running", Duration::from_secs(600));
    let bytes = vec![1u8; 10];
    let (_client, _, _) = open_upload(&server, "one.bin", &bytes);
    assert!(!later.exists(), "a stale partial outlived the opening of an upload");
    assert!(fresh.exists());
}

#[test]
fn the_quota_is_checked_again_before_an_upload_is_kept() {
    // Two uploads of 3 chunks each fit the quota alone but not together:
    // both open, the first to finish is kept, the second is refused with
    // the quota's answer and nothing of it stays.
    let size = 3 * CHUNK;
    let quota = (size + size / 2) as u64;
    let server = TestServer::start_with(bbs_server::Config { file_quota_per_user: quota, ..Default::default() });
    assert_eq!(udp_request(server.addr, None, "register ann ann@example.org pw"), "Register successfully.");
    let first: Vec<u8> = (0..size).map(|i| (i % 251) as u8).collect();
    let second: Vec<u8> = (0..size).map(|i| (i % 13) as u8).collect();
    let (mut one, first_id, first_hex) = open_upload(&server, "first.bin", &first);
    let (mut two, second_id, second_hex) = open_upload(&server, "second.bin", &second);

    let path = socket("127.0.0.1");
    path.send_to(&hello(&first_id), server.addr).unwrap();
    reply(&path).expect("the hello is answered");
    send_all(&path, server.addr, &first_id, &first);
    assert_eq!(send_digest(&path, server.addr, &first_id, &digest_of(&first)), Status::Complete);
    assert_eq!(
        one.request(&ClientFrame::TransferDone { id: first_hex }).text,
        format!("Sent first.bin ({size} bytes).")
    );

    let path = socket("127.0.0.1");
    path.send_to(&hello(&second_id), server.addr).unwrap();
    reply(&path).expect("the hello is answered");
    send_all(&path, server.addr, &second_id, &second);
    assert_eq!(send_digest(&path, server.addr, &second_id, &digest_of(&second)), Status::Damaged);
    let done = two.request(&ClientFrame::TransferDone { id: second_hex });
    assert_eq!(done.text, format!("second.bin does not fit in your quota ({size} of {quota} bytes used)."));
    assert_eq!(one.call("get-file-list").text, "Files: first.bin");
    let files = server.db.parent().unwrap().join("files");
    assert_eq!(std::fs::read_dir(files.join("partial")).unwrap().count(), 0);
}

#[test]
fn a_digest_that_comes_early_is_checked_when_the_last_byte_arrives() {
    let server = TestServer::start();
    assert_eq!(udp_request(server.addr, None, "register ann ann@example.org pw"), "Register successfully.");
    let bytes: Vec<u8> = (0..2 * CHUNK + 9).map(|i| (i % 241) as u8).collect();
    let (mut client, id, hex_id) = open_upload(&server, "early.bin", &bytes);
    let path = socket("127.0.0.1");
    path.send_to(&hello(&id), server.addr).unwrap();
    reply(&path).expect("the hello is answered");
    send_all(&path, server.addr, &id, &bytes[..2 * CHUNK]);
    assert_eq!(send_digest(&path, server.addr, &id, &digest_of(&bytes)), Status::Running, "bytes are missing");
    let mut out = Vec::new();
    transfer::encode_data(&id, 2, 1, &bytes[2 * CHUNK..], &mut out);
    path.send_to(&out, server.addr).unwrap();
    let ack = reply(&path).expect("the last chunk is acknowledged");
    let Some(Datagram::Ack { ack, .. }) = Datagram::decode(&ack) else { panic!("not an ack") };
    assert_eq!((ack.next, ack.status), (3, Status::Complete));
    let done = client.request(&ClientFrame::TransferDone { id: hex_id });
    assert_eq!(done.text, format!("Sent early.bin ({} bytes).", bytes.len()));
    // The SHA-256 recorded is the digest's: a download announces it.
    let reply = client.request(&ClientFrame::GetFile { name: "early.bin".into() });
    let Some(Event::Transfer { sha256: announced, .. }) = reply.event else { panic!("{reply:?}") };
    assert_eq!(announced, sha256(&bytes));
}
