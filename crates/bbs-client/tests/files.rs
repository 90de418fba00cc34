//! Files over UDP with the real `bbs` binary and the real server: every
//! byte arrives through a relay that loses, duplicates and reorders
//! datagrams; interrupted transfers resume; every answer of the spec.
//!
//! The client's transfer datagrams go through the relay
//! (`BBS_UDP_RELAY`); its TCP connection goes straight to the server.

use std::path::Path;
use std::process::{Child, Command, Output, Stdio};
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use bbs_server::Config;
use bbs_testkit::relay::{Impairment, LossyRelay};
use bbs_testkit::TestServer;

const CHUNK: usize = bbs_protocol::transfer::CHUNK;

fn bbs(server: &TestServer, relay: Option<&LossyRelay>, dir: &Path) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_bbs"));
    command.arg(server.addr.ip().to_string()).arg(server.addr.port().to_string()).current_dir(dir);
    if let Some(relay) = relay {
        command.env("BBS_UDP_RELAY", relay.addr.to_string());
    }
    command.stdin(Stdio::piped()).stdout(Stdio::piped()).stderr(Stdio::piped());
    command
}

/// Runs `bbs` with `input` piped in; returns what it printed.
fn run(mut command: Command, input: &str) -> String {
    use std::io::Write;
    let mut child = command.spawn().expect("start bbs");
    let mut stdin = child.stdin.take().unwrap();
    let input = input.to_owned();
    let writer = std::thread::spawn(move || stdin.write_all(input.as_bytes()));
    let Output { stdout, stderr, .. } = child.wait_with_output().expect("bbs output");
    writer.join().unwrap().expect("write stdin");
    assert!(stderr.is_empty(), "stderr: {}", String::from_utf8_lossy(&stderr));
    String::from_utf8(stdout).expect("utf-8")
}

/// The answers only: the banner and the prompts taken away.
fn answers(screen: &str) -> Vec<String> {
    screen
        .split("% ")
        .skip(1)
        .map(|answer| answer.trim_end_matches('\n').to_owned())
        .filter(|answer| !answer.is_empty())
        .collect()
}

/// `len` bytes that differ everywhere (xorshift, fast in a debug build).
fn random_bytes(len: usize, seed: u64) -> Vec<u8> {
    let mut state = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    let mut bytes = Vec::with_capacity(len + 8);
    while bytes.len() < len {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        bytes.extend_from_slice(&state.to_le_bytes());
    }
    bytes.truncate(len);
    bytes
}

/// A server with a registered user `ann`, and two empty directories (the
/// uploader's and the downloader's).
struct Setup {
    server: TestServer,
    up: tempfile::TempDir,
    down: tempfile::TempDir,
}

const LOGIN: &str = "login ann pw\n";

fn setup(config: Config) -> Setup {
    let server = TestServer::start_with(config);
    let up = tempfile::tempdir().unwrap();
    let down = tempfile::tempdir().unwrap();
    let screen = run(bbs(&server, None, up.path()), "register ann ann@example.org pw\n");
    assert!(screen.contains("Register successfully."), "{screen}");
    Setup { server, up, down }
}

impl Setup {
    /// Uploads `name` (written with `bytes`) and downloads it again, each
    /// through its own relay with `impairment`; checks the answers and the
    /// bytes.
    fn round_trip(&self, name: &str, bytes: &[u8], impairment: Impairment) {
        self.round_trip_with(name, bytes, impairment, impairment);
    }

    /// The same with one impairment for the upload and one for the download.
    fn round_trip_with(&self, name: &str, bytes: &[u8], impairment: Impairment, down: Impairment) {
        std::fs::write(self.up.path().join(name), bytes).unwrap();
        let relay = LossyRelay::start(self.server.addr, impairment).unwrap();
        let started = Instant::now();
        let screen = run(bbs(&self.server, Some(&relay), self.up.path()), &format!("{LOGIN}send-file {name}\n"));
        assert_eq!(answers(&screen), ["Welcome, ann.", &format!("Sent {name} ({} bytes).", bytes.len())]);
        let uploaded = started.elapsed();
        let relay = LossyRelay::start(self.server.addr, Impairment { seed: down.seed + 1, ..down }).unwrap();
        let started = Instant::now();
        let screen = run(bbs(&self.server, Some(&relay), self.down.path()), &format!("{LOGIN}get-file {name}\n"));
        assert_eq!(answers(&screen), ["Welcome, ann.", &format!("Received {name} ({} bytes).", bytes.len())]);
        eprintln!("{name}: {} bytes up in {uploaded:?}, down in {:?}", bytes.len(), started.elapsed());
        let got = std::fs::read(self.down.path().join(name)).unwrap();
        assert!(got == bytes, "{name}: {} bytes came back, {} sent, not the same", got.len(), bytes.len());
        if down.loss > 0.0 && bytes.len() > 100 * CHUNK {
            assert!(relay.counts.dropped.load(Ordering::Relaxed) > 0, "the relay dropped nothing");
        }
    }
}

fn impaired(loss: f64, seed: u64) -> Impairment {
    Impairment { loss, duplicate: 0.02, reorder: 0.02, seed }
}

#[test]
fn one_mebibyte_arrives_whole_at_0_10_and_30_percent_loss() {
    let s = setup(Config::default());
    for (i, loss) in [0.0, 0.1, 0.3].into_iter().enumerate() {
        let bytes = random_bytes(1 << 20, i as u64);
        s.round_trip(&format!("mib-{i}.bin"), &bytes, impaired(loss, 10 + i as u64));
    }
}

#[test]
fn a_hundred_mebibytes_arrive_whole_at_0_10_and_30_percent_loss() {
    let s = setup(Config { max_file_size: 200 << 20, file_quota_per_user: 1 << 30, ..Config::default() });
    let bytes = random_bytes(100 << 20, 99);
    for (i, loss) in [0.0, 0.1, 0.3].into_iter().enumerate() {
        s.round_trip(&format!("big-{i}.bin"), &bytes, impaired(loss, 20 + i as u64));
    }
}

#[test]
fn empty_files_and_exact_multiples_of_the_payload() {
    let s = setup(Config::default());
    s.round_trip("empty", &[], impaired(0.3, 30));
    s.round_trip("one-chunk", &random_bytes(CHUNK, 1), impaired(0.3, 31));
    s.round_trip("many-chunks", &random_bytes(CHUNK * 300, 2), impaired(0.3, 32));
    s.round_trip("one-more", &random_bytes(CHUNK * 300 + 1, 3), impaired(0.3, 33));
}

/// Waits until `done` holds, polling.
fn wait_until(what: &str, done: impl Fn() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(30);
    while !done() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(10));
    }
}

fn dir_bytes(dir: &Path) -> u64 {
    std::fs::read_dir(dir)
        .map_or(0, |entries| entries.flatten().filter_map(|e| e.metadata().ok()).map(|m| m.len()).sum())
}

/// Starts `bbs` running `line` after logging in, and kills it once
/// `progress` reports more than a quarter of `size` bytes.
fn kill_half_way(mut command: Command, line: &str, size: u64, progress: impl Fn() -> u64) {
    use std::io::Write;
    let mut child: Child = command.spawn().expect("start bbs");
    let mut stdin = child.stdin.take().unwrap();
    stdin.write_all(format!("{LOGIN}{line}\n").as_bytes()).unwrap();
    wait_until("the transfer to be under way", || progress() > size / 4);
    child.kill().unwrap();
    child.wait().unwrap();
    assert!(progress() < size, "the transfer finished before it could be interrupted");
}

#[test]
fn killed_transfers_resume_where_they_stopped() {
    // A slow path (loss makes it take a while) so the kill lands half-way.
    let s = setup(Config::default());
    let size = 24 << 20;
    let bytes = random_bytes(size, 5);
    std::fs::write(s.up.path().join("resume.bin"), &bytes).unwrap();
    let partial_dir = s.server.db.parent().unwrap().join("files/partial");

    let relay = LossyRelay::start(s.server.addr, impaired(0.1, 40)).unwrap();
    kill_half_way(bbs(&s.server, Some(&relay), s.up.path()), "send-file resume.bin", size as u64, || {
        dir_bytes(&partial_dir)
    });
    let relay = LossyRelay::start(s.server.addr, impaired(0.1, 41)).unwrap();
    let screen = run(bbs(&s.server, Some(&relay), s.up.path()), &format!("{LOGIN}send-file resume.bin\n"));
    assert_eq!(answers(&screen), ["Welcome, ann.", &format!("Sent resume.bin ({size} bytes).")]);
    let sent = relay.counts.forwarded.load(Ordering::Relaxed);
    assert!(sent < (size / CHUNK) as u64, "the upload started again from the beginning ({sent} datagrams)");

    let relay = LossyRelay::start(s.server.addr, impaired(0.1, 42)).unwrap();
    let down = s.down.path().to_owned();
    kill_half_way(bbs(&s.server, Some(&relay), &down), "get-file resume.bin", size as u64, || dir_bytes(&down));
    assert!(!down.join("resume.bin").exists(), "nothing is kept under the name before it is complete");
    let relay = LossyRelay::start(s.server.addr, impaired(0.1, 43)).unwrap();
    let screen = run(bbs(&s.server, Some(&relay), &down), &format!("{LOGIN}get-file resume.bin\n"));
    assert_eq!(answers(&screen), ["Welcome, ann.", &format!("Received resume.bin ({size} bytes).")]);
    let sent = relay.counts.forwarded.load(Ordering::Relaxed);
    assert!(sent < (size / CHUNK) as u64, "the download started again from the beginning ({sent} datagrams)");
    assert!(std::fs::read(down.join("resume.bin")).unwrap() == bytes);
    assert_eq!(std::fs::read_dir(&down).unwrap().count(), 1, "the hidden partial file is gone");
}

/// Sets a file's modification time.
fn set_modified(path: &Path, at: std::time::SystemTime) {
    std::fs::File::options().write(true).open(path).unwrap().set_modified(at).unwrap();
}

/// An upload interrupted, then its local file changed before the same
/// `send-file` runs again: the result is the new bytes exactly, or a clear
/// refusal that keeps nothing (then the next attempt sends the new bytes),
/// never the old bytes' prefix with the new file's tail.
#[test]
fn a_changed_local_file_is_never_resumed_into_a_mix() {
    let s = setup(Config::default());
    let size = 16 << 20;
    let partial_dir = s.server.db.parent().unwrap().join("files/partial");
    let an_hour_ago = std::time::SystemTime::now() - Duration::from_secs(3600);
    let upload = |name: &str, seed: u64| {
        let relay = LossyRelay::start(s.server.addr, impaired(0.0, seed)).unwrap();
        let screen = run(bbs(&s.server, Some(&relay), s.up.path()), &format!("{LOGIN}send-file {name}\n"));
        (answers(&screen), relay.counts.forwarded.load(Ordering::Relaxed))
    };
    let interrupt = |name: &str, seed: u64| {
        let relay = LossyRelay::start(s.server.addr, impaired(0.1, seed)).unwrap();
        kill_half_way(bbs(&s.server, Some(&relay), s.up.path()), &format!("send-file {name}"), size as u64, || {
            dir_bytes(&partial_dir)
        });
    };
    let download_is = |name: &str, bytes: &[u8]| {
        let screen = run(bbs(&s.server, None, s.down.path()), &format!("{LOGIN}get-file {name}\n"));
        assert_eq!(answers(&screen), ["Welcome, ann.", &format!("Received {name} ({size} bytes).")]);
        assert!(std::fs::read(s.down.path().join(name)).unwrap() == bytes, "{name}: not the new bytes");
    };

    // Rewritten in a way the resume key cannot see: same size, the first
    // and last MiB unchanged, the modification time put back. The bytes
    // changed (at 2 MiB) are in the prefix the server already holds, so the
    // resumed upload would be the old prefix with the new tail: refused,
    // nothing kept; the next attempt starts again and sends the new bytes.
    let path = s.up.path().join("quiet.bin");
    let mut bytes = random_bytes(size, 7);
    std::fs::write(&path, &bytes).unwrap();
    set_modified(&path, an_hour_ago);
    interrupt("quiet.bin", 50);
    for byte in &mut bytes[2 << 20..(2 << 20) + 4096] {
        *byte ^= 0x5A;
    }
    std::fs::write(&path, &bytes).unwrap();
    set_modified(&path, an_hour_ago);
    let (answers_now, _) = upload("quiet.bin", 51);
    assert_eq!(
        answers_now,
        [
            "Welcome, ann.",
            "quiet.bin: the bytes that arrived do not match the file's SHA-256; nothing was kept. Please try again."
        ]
    );
    assert_eq!(dir_bytes(&partial_dir), 0, "the damaged partial file stayed");
    let (answers_now, sent) = upload("quiet.bin", 52);
    assert_eq!(answers_now, ["Welcome, ann.", &format!("Sent quiet.bin ({size} bytes).")]);
    assert!(sent >= (size / CHUNK) as u64, "it resumed from bytes that were refused ({sent} datagrams)");
    download_is("quiet.bin", &bytes);

    // Rewritten the ordinary way (new bytes, a new modification time): the
    // key differs, so the upload starts from the beginning and succeeds.
    let path = s.up.path().join("edited.bin");
    std::fs::write(&path, random_bytes(size, 8)).unwrap();
    set_modified(&path, an_hour_ago);
    interrupt("edited.bin", 53);
    let bytes = random_bytes(size, 9);
    std::fs::write(&path, &bytes).unwrap();
    let (answers_now, sent) = upload("edited.bin", 54);
    assert_eq!(answers_now, ["Welcome, ann.", &format!("Sent edited.bin ({size} bytes).")]);
    assert!(sent >= (size / CHUNK) as u64, "it resumed another file's bytes ({sent} datagrams)");
    download_is("edited.bin", &bytes);
}

#[test]
fn every_answer_of_the_spec() {
    let s = setup(Config { max_file_size: 1000, ..Config::default() });
    let dir = s.up.path();
    std::fs::write(dir.join("a.txt"), b"hello").unwrap();
    std::fs::write(dir.join("big.bin"), vec![0u8; 1001]).unwrap();
    std::fs::create_dir(dir.join("sub")).unwrap();
    std::fs::write(dir.join("sub/b.txt"), b"world").unwrap();
    let script = "get-file-list\n\
                  send-file a.txt\n\
                  get-file a.txt\n\
                  send-file\n\
                  get-file\n\
                  login ann pw\n\
                  send-file\n\
                  get-file\n";
    let screen = run(bbs(&s.server, None, s.down.path()), script);
    let expected = [
        "Files:",
        "Please login first.",
        "Please login first.",
        "No file to send.",
        "Usage: get-file <file-name>...",
        "Welcome, ann.",
        "No file to send.",
        "Usage: get-file <file-name>...",
    ];
    assert_eq!(answers(&screen), expected);
    // The per-file answers, with paths relative to the uploader's directory.
    let script = "login ann pw\n\
                  send-file missing.txt a.txt big.bin sub/b.txt sub .. a.txt\n\
                  get-file-list\n";
    let screen = run(bbs(&s.server, None, dir), script);
    assert_eq!(
        answers(&screen),
        [
            "Welcome, ann.",
            "missing.txt: no such local file.\n\
             Sent a.txt (5 bytes).\n\
             big.bin is too large (the limit is 1000 bytes).\n\
             Sent b.txt (5 bytes).\n\
             sub: no such local file.\n\
             .. is not a valid file name.\n\
             a.txt already exists.",
            "Files: a.txt b.txt",
        ]
    );
    let screen = run(bbs(&s.server, None, s.down.path()), "login ann pw\nget-file nothing.txt ../a.txt a.txt b.txt\n");
    assert_eq!(
        answers(&screen),
        [
            "Welcome, ann.",
            "nothing.txt does not exist.\n\
             ../a.txt is not a valid file name.\n\
             Received a.txt (5 bytes).\n\
             Received b.txt (5 bytes).",
        ]
    );
    assert_eq!(std::fs::read(s.down.path().join("a.txt")).unwrap(), b"hello");
    assert!(!s.down.path().parent().unwrap().join("a.txt").exists());

    // Over telnet: the listing works, the transfers need the client.
    let mut telnet = s.server.plain();
    assert_eq!(telnet.send("get-file-list"), "Files: a.txt b.txt");
    telnet.send("login ann pw");
    let needs = "needs the bbs client: file contents travel over UDP between the client and the server. \
                 Connect with: bbs <host> <port>";
    assert_eq!(telnet.send("send-file a.txt"), format!("send-file {needs}"));
    assert_eq!(telnet.send("get-file a.txt"), format!("get-file {needs}"));
    assert_eq!(telnet.send("send-file"), "No file to send.");
}
