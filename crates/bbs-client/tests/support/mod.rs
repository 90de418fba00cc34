//! Shared by the chatroom tests: the real `bbs` binary with piped input
//! (fed step by step, waiting for each expected answer), raw chatroom
//! members speaking the host wire format, and small helpers.

#![allow(dead_code)] // each test file uses a different part

pub mod tmux;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, Instant};

use bbs_protocol::chat::{self, HostFrame, MemberFrame, Ticket};
use bbs_protocol::Event;
use bbs_testkit::{DialectClient, TestServer, ANSWER_TIMEOUT};

/// Replaces every `[HH:MM]` by `[hh:mm]`, as the spec writes times.
pub fn normalise(text: &str) -> String {
    let re = regex::Regex::new(r"\[\d\d:\d\d\]").unwrap();
    re.replace_all(text, "[hh:mm]").into_owned()
}

/// Ports for chatrooms, below the kernel's ephemeral range (32768 and up on
/// Linux). Nothing that binds port 0 or connects out can take one of these
/// — not a test server, not a client's own socket — so a port handed out
/// here is still free when `bbs` binds it a moment later. A port taken
/// from port 0 and released would not be: a test running in parallel may
/// be given it first.
const ROOM_PORTS: std::ops::Range<u16> = 20_000..32_000;

/// A port for a chatroom: never handed out twice by this process, and free
/// right now (checked by binding it as the host will).
pub fn free_port() -> u16 {
    use std::sync::atomic::{AtomicU32, Ordering};
    static NEXT: AtomicU32 = AtomicU32::new(0);
    let span = u32::from(ROOM_PORTS.end - ROOM_PORTS.start);
    // Test binaries running at once start at different places.
    let start = std::process::id().wrapping_mul(7919) % span;
    for _ in 0..span {
        let offset = (start + NEXT.fetch_add(1, Ordering::Relaxed)) % span;
        let port = ROOM_PORTS.start + u16::try_from(offset).expect("offset below the span");
        if TcpListener::bind(("0.0.0.0", port)).is_ok() {
            return port;
        }
    }
    panic!("no free port in {ROOM_PORTS:?}");
}

/// Everything a child wrote on one stream, growing as it comes.
#[derive(Default)]
struct Output {
    bytes: Mutex<Vec<u8>>,
    grew: Condvar,
}

fn collect(mut from: impl Read + Send + 'static) -> Arc<Output> {
    let output = Arc::new(Output::default());
    let sink = Arc::clone(&output);
    std::thread::spawn(move || {
        let mut buf = [0u8; 8192];
        loop {
            match from.read(&mut buf) {
                Ok(0) | Err(_) => break,
                Ok(n) => {
                    sink.bytes.lock().unwrap().extend_from_slice(&buf[..n]);
                    sink.grew.notify_all();
                }
            }
        }
        // Wake waiters at the end too.
        sink.grew.notify_all();
    });
    output
}

impl Output {
    fn text(&self) -> String {
        String::from_utf8_lossy(&self.bytes.lock().unwrap()).into_owned()
    }

    /// Waits until the normalised output from byte `from` on contains
    /// `wanted`; returns the position after it.
    fn wait_for(&self, from: usize, wanted: &str, what: &str) -> usize {
        let deadline = Instant::now() + ANSWER_TIMEOUT;
        let mut bytes = self.bytes.lock().unwrap();
        loop {
            let seen = normalise(&String::from_utf8_lossy(&bytes[from.min(bytes.len())..]));
            if let Some(at) = seen.find(wanted) {
                // Normalising keeps lengths, so offsets carry over.
                return from + at + wanted.len();
            }
            let now = Instant::now();
            if now >= deadline {
                panic!("{what}: waited for {wanted:?}; got {seen:?}");
            }
            bytes = self.grew.wait_timeout(bytes, deadline - now).unwrap().0;
        }
    }
}

/// A running `bbs` client with piped standard input.
pub struct Bbs {
    pub name: &'static str,
    child: Child,
    stdin: Option<ChildStdin>,
    stdout: Arc<Output>,
    stderr: Arc<Output>,
    cursor: usize,
    log_cursor: usize,
}

impl Bbs {
    pub fn start(name: &'static str, server: SocketAddr) -> Bbs {
        Bbs::start_with_env(name, server, &[])
    }

    /// Starts with extra environment variables (such as `BBS_KEEPALIVE_SECS`).
    pub fn start_with_env(name: &'static str, server: SocketAddr, env: &[(&str, &str)]) -> Bbs {
        let mut child = Command::new(env!("CARGO_BIN_EXE_bbs"))
            .arg(server.ip().to_string())
            .arg(server.port().to_string())
            .env("BBS_LOG", "bbs_client=debug")
            .envs(env.iter().copied())
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start bbs");
        let stdin = child.stdin.take();
        let stdout = collect(child.stdout.take().unwrap());
        let stderr = collect(child.stderr.take().unwrap());
        let mut bbs = Bbs { name, child, stdin, stdout, stderr, cursor: 0, log_cursor: 0 };
        bbs.expect(&format!("{}\n% ", bbs_protocol::BANNER));
        bbs
    }

    /// Types one line.
    pub fn send(&mut self, line: &str) {
        let stdin = self.stdin.as_mut().expect("stdin open");
        stdin.write_all(format!("{line}\n").as_bytes()).expect("write to bbs");
        stdin.flush().unwrap();
    }

    /// Waits until the screen shows `text` (times normalised) after what
    /// was already expected.
    pub fn expect(&mut self, text: &str) {
        self.cursor = self.stdout.wait_for(self.cursor, text, self.name);
    }

    /// Types a line and waits for `answer` to appear.
    pub fn run(&mut self, line: &str, answer: &str) {
        self.send(line);
        self.expect(answer);
    }

    /// Like [`Bbs::expect`], and nothing else came before `text`.
    pub fn expect_next(&mut self, text: &str) {
        let start = self.cursor;
        self.expect(text);
        let screen = self.screen();
        assert_eq!(&screen[start..self.cursor], text, "{}: something came before {text:?}", self.name);
    }

    /// Waits until the whole screen (times normalised) satisfies `done`.
    pub fn wait_screen(&self, what: &str, done: impl Fn(&str) -> bool) {
        let deadline = Instant::now() + ANSWER_TIMEOUT;
        let mut bytes = self.stdout.bytes.lock().unwrap();
        loop {
            let screen = normalise(&String::from_utf8_lossy(&bytes));
            if done(&screen) {
                return;
            }
            let now = Instant::now();
            assert!(now < deadline, "{}: gave up waiting for {what}", self.name);
            bytes = self.stdout.grew.wait_timeout(bytes, deadline - now).unwrap().0;
        }
    }

    /// Waits for a diagnostic line (stderr, BBS_LOG) containing `text`.
    pub fn expect_log(&mut self, text: &str) {
        self.log_cursor = self.stderr.wait_for(self.log_cursor, text, self.name);
    }

    /// The whole screen so far, times normalised.
    pub fn screen(&self) -> String {
        normalise(&self.stdout.text())
    }

    /// Closes standard input and waits for the process to end.
    pub fn finish(mut self) -> (std::process::ExitStatus, String) {
        drop(self.stdin.take());
        let status = wait_with_timeout(&mut self.child);
        (status, self.screen())
    }

    /// Kills the process, as a crash would.
    pub fn kill(mut self) {
        self.child.kill().unwrap();
        self.child.wait().unwrap();
    }

    /// Waits for the process to end on its own (after `exit`).
    pub fn wait(mut self) -> (std::process::ExitStatus, String) {
        let status = wait_with_timeout(&mut self.child);
        (status, self.screen())
    }
}

fn wait_with_timeout(child: &mut Child) -> std::process::ExitStatus {
    let deadline = Instant::now() + ANSWER_TIMEOUT;
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            return status;
        }
        assert!(Instant::now() < deadline, "bbs did not end");
        std::thread::sleep(Duration::from_millis(10));
    }
}

impl Drop for Bbs {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Registers and logs in `name` (password `pw`) on a `bbs` client.
pub fn sign_in(bbs: &mut Bbs, name: &str) {
    bbs.run(&format!("register {name} {name}@example.org pw"), "Register successfully.\n% ");
    bbs.run(&format!("login {name} pw"), &format!("Welcome, {name}.\n% "));
}

/// `create-chatroom <port>` on a client, waiting until the owner is inside.
pub fn create_room(bbs: &mut Bbs, port: u16) {
    bbs.run(&format!("create-chatroom {port}"), &format!("start to create chatroom...\n{}\n", CHAT_BANNER));
}

pub const CHAT_BANNER: &str = bbs_client::app::CHAT_BANNER;

/// A logged-in dialect connection that asks the server for tickets.
pub fn ticket_for(server: &TestServer, name: &str, room: &str) -> (DialectClient, Ticket, SocketAddr) {
    let mut client = server.client();
    let answer = client.call(&format!("register {name} {name}@example.org pw")).text;
    assert!(answer == "Register successfully." || answer == "Username is already used.", "{answer}");
    assert!(client.login(name, "pw").is_some());
    let (ticket, at) = ticket_of(&mut client, room);
    (client, ticket, at)
}

/// One more ticket on an already logged-in connection.
pub fn ticket_of(client: &mut DialectClient, room: &str) -> (Ticket, SocketAddr) {
    let reply = client.call(&format!("join-chatroom {room}"));
    match reply.event {
        Some(Event::ChatroomTicket { address, port, ticket }) => {
            (*ticket, format!("{address}:{port}").parse().unwrap())
        }
        other => panic!("no ticket: {:?} {other:?}", reply.text),
    }
}

/// A chatroom member speaking the wire format directly (no `bbs`).
pub struct RawMember {
    reader: BufReader<TcpStream>,
    writer: TcpStream,
}

impl RawMember {
    pub fn connect(at: SocketAddr) -> RawMember {
        RawMember::from_stream(TcpStream::connect(at).expect("connect to the chatroom"))
    }

    /// Connects from a chosen local address (127.0.0.x), to look like
    /// another machine.
    pub fn connect_from(local: std::net::IpAddr, at: SocketAddr) -> RawMember {
        let socket = socket2_free_connect(local, at);
        RawMember::from_stream(socket)
    }

    fn from_stream(stream: TcpStream) -> RawMember {
        stream.set_read_timeout(Some(ANSWER_TIMEOUT)).unwrap();
        let writer = stream.try_clone().unwrap();
        RawMember { reader: BufReader::new(stream), writer }
    }

    pub fn send_frame(&mut self, frame: &MemberFrame) {
        self.writer.write_all(&chat::encode(frame)).unwrap();
    }

    pub fn write_raw(&mut self, bytes: &[u8]) {
        self.writer.write_all(bytes).unwrap();
    }

    pub fn hello(&mut self, ticket: Ticket) -> HostFrame {
        self.send_frame(&MemberFrame::Hello { ticket });
        self.next().expect("an answer to hello")
    }

    pub fn say(&mut self, text: &str) {
        self.send_frame(&MemberFrame::Say { text: text.into() });
    }

    /// The next frame; `None` when the host closed the connection.
    pub fn next(&mut self) -> Option<HostFrame> {
        let mut line = Vec::new();
        match self.reader.read_until(b'\n', &mut line) {
            Ok(0) => None,
            Ok(_) => Some(chat::decode(&line[..line.len() - 1]).expect("a host frame")),
            Err(e) => panic!("no frame from the host: {e}"),
        }
    }

    /// Reads frames until one matches; panics if the connection closes.
    pub fn wait_for(&mut self, wanted: impl Fn(&HostFrame) -> bool) -> HostFrame {
        loop {
            let frame = self.next().expect("connection closed while waiting");
            if wanted(&frame) {
                return frame;
            }
        }
    }

    pub fn stream(&self) -> &TcpStream {
        &self.writer
    }
}

/// Logs `name` (password `pw`) in from the local address `local` and gets
/// a ticket for `room`, then hangs up (the ticket outlives the login
/// connection). Spreading many logins over several 127.x addresses keeps a
/// test under the server's per-address connection and login limits.
pub fn ticket_from(local: std::net::IpAddr, server: SocketAddr, name: &str, room: &str) -> (Ticket, SocketAddr) {
    let stream = socket2_free_connect(local, server);
    stream.set_read_timeout(Some(ANSWER_TIMEOUT)).unwrap();
    let mut writer = stream.try_clone().unwrap();
    let mut reader = BufReader::new(stream);
    writer.write_all(format!("{}\n", bbs_protocol::CLIENT_HELLO).as_bytes()).unwrap();
    let mut greeting = vec![0; bbs_protocol::PLAIN_GREETING.len()];
    reader.read_exact(&mut greeting).unwrap();
    let mut call = |line: &str| {
        if !line.is_empty() {
            writer.write_all(&bbs_protocol::ClientFrame::Command(line.to_owned()).to_line()).unwrap();
        }
        let mut reply = Vec::new();
        reader.read_until(b'\n', &mut reply).unwrap();
        match bbs_protocol::ServerFrame::from_line(&reply[..reply.len() - 1]).expect("a frame") {
            bbs_protocol::ServerFrame::Answer(reply) => reply,
            other => panic!("expected an answer, got {other:?}"),
        }
    };
    assert!(matches!(call("").event, Some(Event::Hello { .. })));
    let login = call(&format!("login {name} pw"));
    assert!(matches!(login.event, Some(Event::LoggedIn { .. })), "{login:?}");
    let reply = call(&format!("join-chatroom {room}"));
    match reply.event {
        Some(Event::ChatroomTicket { address, port, ticket }) => {
            (*ticket, format!("{address}:{port}").parse().unwrap())
        }
        other => panic!("no ticket: {:?} {other:?}", reply.text),
    }
}

/// `TcpStream::connect` from a given local IP: std has no bind-before-
/// connect, so go through a tokio socket on a small runtime.
fn socket2_free_connect(local: std::net::IpAddr, at: SocketAddr) -> TcpStream {
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    runtime.block_on(async {
        let socket = tokio::net::TcpSocket::new_v4().unwrap();
        socket.bind(SocketAddr::new(local, 0)).unwrap();
        let stream = socket.connect(at).await.expect("connect to the chatroom");
        let std = stream.into_std().unwrap();
        std.set_nonblocking(false).unwrap();
        std
    })
}

/// What a terminal shows: everything read from a pseudo-terminal's master
/// side, raw (escape sequences included), times normalised.
pub struct Screen {
    output: Arc<Output>,
    cursor: usize,
}

impl Screen {
    pub fn new(master: impl Read + Send + 'static) -> Screen {
        Screen { output: collect(master), cursor: 0 }
    }

    pub fn expect(&mut self, text: &str) {
        self.cursor = self.output.wait_for(self.cursor, text, "terminal");
    }

    pub fn position(&self) -> usize {
        self.cursor
    }

    /// Everything from byte `from` on, times normalised.
    pub fn since(&self, from: usize) -> String {
        normalise(&String::from_utf8_lossy(&self.output.bytes.lock().unwrap()[from..]))
    }
}
