//! Test support shared by every crate's tests: the real server, started on
//! a free port with a temporary database, and small clients that speak to
//! it over real sockets (plain TCP as telnet would, the client dialect, and
//! UDP).
//!
//! [`TestServer`] runs the server on its own thread and runtime, so a test
//! may block (waiting for a child process, say) without starving it.

pub mod relay;

use std::io::{self, BufRead, BufReader, Read, Write};
use std::net::{IpAddr, SocketAddr, TcpStream, UdpSocket};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Barrier};
use std::time::Duration;

use bbs_protocol::{ClientFrame, Push, Reply, ServerFrame, CLIENT_HELLO, PLAIN_GREETING};
/// A clock a test moves by hand: give it in `Config::clock`.
pub use bbs_server::clock::TestClock;
use bbs_server::disk_guard::DiskGuard;
use bbs_server::{Config, Sessions};
use bbs_storage_sqlite::{SqliteOptions, SqliteStore};

/// How long a test helper waits for an answer before failing the test.
pub const ANSWER_TIMEOUT: Duration = Duration::from_secs(20);

/// The real server on 127.0.0.1, a free port, and a temporary database.
/// Stops (and waits for the server to finish) when dropped.
pub struct TestServer {
    pub addr: SocketAddr,
    pub db: PathBuf,
    /// The server's live sessions: a test pushes to users through them.
    pub sessions: std::sync::Arc<Sessions>,
    /// The server's disk guard: a test changes its reserve to play a full disk.
    pub disk_guard: Arc<DiskGuard>,
    /// The SSH door, when started with [`TestServer::start_with_doors`].
    pub ssh_addr: Option<SocketAddr>,
    /// The web door, when started with [`TestServer::start_with_doors`].
    pub http_addr: Option<SocketAddr>,
    /// The full-screen telnet door, when started with [`TestServer::start_with_doors`].
    pub telnet_addr: Option<SocketAddr>,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
    _dir: Option<tempfile::TempDir>,
}

impl TestServer {
    /// Starts with the default configuration and a fresh database.
    pub fn start() -> TestServer {
        TestServer::start_with(Config::default())
    }

    pub fn start_with(config: Config) -> TestServer {
        let dir = tempfile::tempdir().expect("temporary directory");
        let db = dir.path().join("bbs.db");
        let mut server = TestServer::start_on(&db, config);
        server._dir = Some(dir);
        server
    }

    /// Starts with the SSH door (host key next to the database) and the web
    /// door too, each on a free port of 127.0.0.1.
    pub fn start_with_doors(config: Config) -> TestServer {
        let dir = tempfile::tempdir().expect("temporary directory");
        let db = dir.path().join("bbs.db");
        let mut server = TestServer::launch(&db, config, true);
        server._dir = Some(dir);
        server
    }

    /// Starts on an existing database file (to test what survives).
    pub fn start_on(db: &Path, config: Config) -> TestServer {
        TestServer::launch(db, config, false)
    }

    fn launch(db: &Path, mut config: Config, with_doors: bool) -> TestServer {
        // The file area goes next to the database, as `bbsd` puts it,
        // unless the test chose a place.
        if config.files_dir == Config::default().files_dir {
            config.files_dir = db.parent().expect("the database is in a directory").join("files");
        }
        if config.data_dir == Config::default().data_dir {
            config.data_dir = db.parent().expect("the database is in a directory").to_owned();
        }
        let (ready_tx, ready_rx) = std::sync::mpsc::channel();
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let path = db.to_owned();
        let thread = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_multi_thread()
                .worker_threads(2)
                .enable_all()
                .build()
                .expect("server runtime");
            runtime.block_on(async move {
                let store = SqliteStore::open(SqliteOptions {
                    cache_bytes: config.cache_bytes,
                    ..SqliteOptions::new(path.clone())
                })
                .expect("open database");
                let (listener, udp) = bbs_server::bind("127.0.0.1:0".parse().expect("address")).await.expect("bind");
                let server = bbs_server::Server::new(store, config);
                let mut doors = bbs_server::Doors::default();
                let (mut ssh_addr, mut http_addr, mut telnet_addr) = (None, None, None);
                if with_doors {
                    let ssh = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind SSH");
                    ssh_addr = Some(ssh.local_addr().expect("SSH address"));
                    let host_key = path.with_file_name("ssh_host_ed25519_key");
                    doors.ssh = Some(bbs_server::SshDoor::new(ssh, &host_key).expect("SSH host key"));
                    let http = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind HTTP");
                    http_addr = Some(http.local_addr().expect("HTTP address"));
                    doors.http = Some(http);
                    let telnet = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind telnet");
                    telnet_addr = Some(telnet.local_addr().expect("telnet address"));
                    doors.telnet = Some(telnet);
                }
                ready_tx
                    .send((
                        listener.local_addr().expect("local address"),
                        server.sessions(),
                        server.disk_guard(),
                        ssh_addr,
                        http_addr,
                        telnet_addr,
                    ))
                    .expect("report address");
                server
                    .run_with_doors(listener, udp, doors, async {
                        let _ = stopped.await;
                    })
                    .await
                    .expect("server run");
            });
        });
        let (addr, sessions, disk_guard, ssh_addr, http_addr, telnet_addr) =
            ready_rx.recv_timeout(ANSWER_TIMEOUT).expect("server did not start");
        TestServer {
            addr,
            db: db.to_owned(),
            sessions,
            disk_guard,
            ssh_addr,
            http_addr,
            telnet_addr,
            stop: Some(stop),
            thread: Some(thread),
            _dir: None,
        }
    }

    /// Pushes `text` to every session of `user` the way the server's own
    /// features do; returns how many sessions took it.
    pub fn push(&self, user: &str, text: &str) -> usize {
        self.sessions.push(user, &Push::new(text))
    }

    /// A new plain (telnet-like) connection.
    pub fn plain(&self) -> PlainClient {
        PlainClient::connect(self.addr)
    }

    /// A new connection in the `bbs` client's dialect.
    pub fn client(&self) -> DialectClient {
        DialectClient::connect(self.addr)
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// A TCP connection that talks as a person with telnet or nc would.
pub struct PlainClient {
    stream: TcpStream,
}

/// Sends each client's line at the same moment (one thread per client,
/// all released by one barrier) and returns the answers in the clients'
/// order: for tests of what concurrent commands do to shared state.
pub fn send_all_at_once(requests: Vec<(PlainClient, String)>) -> Vec<String> {
    let start = Barrier::new(requests.len());
    std::thread::scope(|scope| {
        let senders: Vec<_> = requests
            .into_iter()
            .map(|(mut client, line)| {
                let start = &start;
                scope.spawn(move || {
                    start.wait();
                    client.send(&line)
                })
            })
            .collect();
        senders.into_iter().map(|s| s.join().expect("a sender panicked")).collect()
    })
}

impl PlainClient {
    /// Connects and checks the banner and first prompt.
    pub fn connect(addr: SocketAddr) -> PlainClient {
        PlainClient::greeted(TcpStream::connect(addr).expect("connect"))
    }

    /// Connects from a chosen local address (any 127.x.y.z works on Linux
    /// loopback), to test per-address limits.
    pub fn connect_from(local: IpAddr, addr: SocketAddr) -> PlainClient {
        PlainClient::greeted(tcp_connect_from(local, addr).expect("connect"))
    }

    fn greeted(stream: TcpStream) -> PlainClient {
        stream.set_read_timeout(Some(ANSWER_TIMEOUT)).expect("timeout");
        let mut client = PlainClient { stream };
        let mut greeting = vec![0; PLAIN_GREETING.len()];
        client.stream.read_exact(&mut greeting).expect("greeting");
        assert_eq!(String::from_utf8_lossy(&greeting), PLAIN_GREETING);
        client
    }

    /// Sends raw bytes as they are.
    pub fn write_raw(&mut self, bytes: &[u8]) {
        self.stream.write_all(bytes).expect("write");
    }

    /// Sends one line and returns the answer before the next prompt, with
    /// CRLF turned into `\n` and without the final line break.
    pub fn send(&mut self, line: &str) -> String {
        self.write_raw(format!("{line}\r\n").as_bytes());
        self.answer()
    }

    /// Reads the next answer up to its prompt.
    pub fn answer(&mut self) -> String {
        let mut got = Vec::new();
        let mut byte = [0u8; 1];
        loop {
            match self.stream.read(&mut byte) {
                Ok(0) => panic!("connection closed; had {:?}", String::from_utf8_lossy(&got)),
                Ok(_) => got.push(byte[0]),
                Err(e) => panic!("no answer ({e}); had {:?}", String::from_utf8_lossy(&got)),
            }
            if got == b"% " || got.ends_with(b"\r\n% ") {
                got.truncate(got.len() - 2);
                let text = String::from_utf8(got).expect("answer is UTF-8").replace("\r\n", "\n");
                return text.strip_suffix('\n').unwrap_or(&text).to_owned();
            }
        }
    }

    /// Reads until the server closes the connection; returns what came.
    pub fn read_to_close(&mut self) -> io::Result<Vec<u8>> {
        let mut rest = Vec::new();
        self.stream.read_to_end(&mut rest)?;
        Ok(rest)
    }

    pub fn stream(&self) -> &TcpStream {
        &self.stream
    }
}

/// A TCP connection in the `bbs` client's JSON dialect.
pub struct DialectClient {
    reader: BufReader<TcpStream>,
    writer: TcpStream,
    /// Pushes that arrived while an answer was awaited, oldest first.
    pub pushes: std::collections::VecDeque<Push>,
}

impl DialectClient {
    pub fn connect(addr: SocketAddr) -> DialectClient {
        let stream = TcpStream::connect(addr).expect("connect");
        stream.set_read_timeout(Some(ANSWER_TIMEOUT)).expect("timeout");
        let mut writer = stream.try_clone().expect("clone stream");
        writer.write_all(format!("{CLIENT_HELLO}\n").as_bytes()).expect("hello");
        let mut reader = BufReader::new(stream);
        let mut greeting = vec![0; PLAIN_GREETING.len()];
        reader.read_exact(&mut greeting).expect("greeting");
        let mut client = DialectClient { reader, writer, pushes: Default::default() };
        let hello = client.answer();
        assert!(matches!(hello.event, Some(bbs_protocol::Event::Hello { .. })), "{hello:?}");
        client
    }

    /// Sends one command line and returns its answer (pushes that come
    /// first are kept in [`DialectClient::pushes`]).
    pub fn call(&mut self, line: &str) -> Reply {
        self.send_frame(&ClientFrame::Command(line.to_owned()));
        self.answer()
    }

    /// Sends one of the client's own requests and returns its answer.
    pub fn request(&mut self, frame: &ClientFrame) -> Reply {
        self.send_frame(frame);
        self.answer()
    }

    /// Sends one frame, reads nothing.
    pub fn send_frame(&mut self, frame: &ClientFrame) {
        self.writer.write_all(&frame.to_line()).expect("write");
    }

    /// The login token of a reply to `login`, if it carries one.
    pub fn login(&mut self, name: &str, password: &str) -> Option<String> {
        match self.call(&format!("login {name} {password}")).event {
            Some(bbs_protocol::Event::LoggedIn { token, .. }) => Some(token),
            _ => None,
        }
    }

    /// The next answer frame.
    pub fn answer(&mut self) -> Reply {
        loop {
            match self.frame() {
                ServerFrame::Answer(reply) => return reply,
                ServerFrame::Push(push) => self.pushes.push_back(push),
                ServerFrame::Closing(why) => panic!("the server closed the connection: {}", why.text),
            }
        }
    }

    /// The next frame of any kind.
    pub fn frame(&mut self) -> ServerFrame {
        let mut line = Vec::new();
        self.reader.read_until(b'\n', &mut line).expect("frame");
        assert_eq!(line.pop(), Some(b'\n'), "connection closed mid-frame");
        ServerFrame::from_line(&line).expect("frame is JSON")
    }

    /// The next push: one kept earlier, or the next frame (which must be a
    /// push).
    pub fn push(&mut self) -> Push {
        if let Some(push) = self.pushes.pop_front() {
            return push;
        }
        match self.frame() {
            ServerFrame::Push(push) => push,
            other => panic!("expected a push, got {other:?}"),
        }
    }
}

/// A TCP connection from a chosen local address, nothing read yet.
pub fn tcp_connect_from(local: IpAddr, addr: SocketAddr) -> io::Result<TcpStream> {
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
    runtime.block_on(async {
        let socket = match local {
            IpAddr::V4(_) => tokio::net::TcpSocket::new_v4()?,
            IpAddr::V6(_) => tokio::net::TcpSocket::new_v6()?,
        };
        socket.bind(SocketAddr::new(local, 0))?;
        let stream = socket.connect(addr).await?.into_std()?;
        stream.set_nonblocking(false)?;
        Ok(stream)
    })
}

/// Sends one datagram to `addr` and returns the reply, or `None` if none
/// comes within `wait`.
pub fn udp_exchange(addr: SocketAddr, datagram: &[u8], wait: Duration) -> Option<Vec<u8>> {
    udp_exchange_from("127.0.0.1".parse().expect("address"), addr, datagram, wait)
}

/// [`udp_exchange`] from a chosen local address.
pub fn udp_exchange_from(local: IpAddr, addr: SocketAddr, datagram: &[u8], wait: Duration) -> Option<Vec<u8>> {
    let socket = UdpSocket::bind(SocketAddr::new(local, 0)).expect("udp bind");
    socket.set_read_timeout(Some(wait)).expect("timeout");
    socket.send_to(datagram, addr).expect("udp send");
    let mut buf = vec![0u8; 65_536];
    match socket.recv(&mut buf) {
        Ok(n) => Some(buf[..n].to_vec()),
        Err(_) => None,
    }
}

/// The request [`udp_replies_before_barrier`] sends after the one tested,
/// and the answer that marks the barrier. The request earns three times its
/// 17 bytes (51), more than the answer's 28, so it is always answered.
pub const UDP_BARRIER: (&str, &str) = ("@barrier - whoami", "@barrier Please login first.");

/// Sends `datagram` from a fresh socket on `local`, then [`UDP_BARRIER`];
/// returns the replies that came before the barrier's answer.
///
/// The server answers all but `register` and `list-chatroom` inline, one
/// datagram after another, so every reply to such a request is sent
/// before the barrier is even read: what came before the barrier is all
/// there is, with no waiting for silence. Not sound for a well-formed
/// `register` or `list-chatroom`, whose answers go out from their own task.
pub fn udp_replies_before_barrier(local: IpAddr, addr: SocketAddr, datagram: &[u8]) -> Vec<Vec<u8>> {
    let socket = UdpSocket::bind(SocketAddr::new(local, 0)).expect("udp bind");
    socket.set_read_timeout(Some(ANSWER_TIMEOUT)).expect("timeout");
    socket.send_to(datagram, addr).expect("udp send");
    socket.send_to(UDP_BARRIER.0.as_bytes(), addr).expect("udp send");
    let mut buf = vec![0u8; 65_536];
    let mut before = Vec::new();
    loop {
        let n = socket.recv(&mut buf).expect("the barrier's answer");
        if &buf[..n] == UDP_BARRIER.1.as_bytes() {
            return before;
        }
        before.push(buf[..n].to_vec());
    }
}

/// A tagged UDP request as the client sends it; returns the answer text.
pub fn udp_request(addr: SocketAddr, token: Option<&str>, line: &str) -> String {
    let datagram = bbs_protocol::udp::UdpRequest::encode("t1", token, line);
    let reply = udp_exchange(addr, datagram.as_bytes(), ANSWER_TIMEOUT).expect("udp reply");
    let text = String::from_utf8(reply).expect("utf-8 reply");
    let (id, answer) = bbs_protocol::udp::parse_reply(&text).expect("tagged reply");
    assert_eq!(id, "t1");
    answer.to_owned()
}

/// The real `bbsd` binary as a child process on 127.0.0.1 and a free port,
/// for what only a process can show (SIGKILL, signals, flags, the log).
/// Killed with SIGKILL when dropped.
pub struct BbsdProcess {
    pub child: std::process::Child,
    pub addr: SocketAddr,
    log: std::sync::mpsc::Receiver<String>,
}

impl BbsdProcess {
    /// Runs `bbsd --bind 127.0.0.1 --db DB FLAGS… 0` and waits for its
    /// "Listening on ADDR" log line. `bbsd` is the binary's path (a test
    /// of the server crate has it as `env!("CARGO_BIN_EXE_bbsd")`).
    pub fn start(bbsd: &Path, db: &Path, flags: &[&str]) -> BbsdProcess {
        BbsdProcess::start_with_env(bbsd, db, flags, &[])
    }

    /// [`Self::start`] with extra environment variables for the process.
    pub fn start_with_env(bbsd: &Path, db: &Path, flags: &[&str], env: &[(&str, &str)]) -> BbsdProcess {
        let mut child = std::process::Command::new(bbsd)
            .envs(env.iter().copied())
            .args(["--bind", "127.0.0.1", "--db"])
            .arg(db)
            .args(flags)
            .arg("0")
            .env("RUST_LOG", "info")
            .stdin(std::process::Stdio::null())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .expect("start bbsd");
        let stderr = child.stderr.take().expect("piped stderr");
        // Keep draining the log so the server never blocks on a full pipe.
        let (lines, log) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                let _ = lines.send(line);
            }
        });
        let mut process = BbsdProcess { child, addr: "0.0.0.0:0".parse().expect("address"), log };
        let listening = process.expect_log("Listening on ");
        let rest = listening.split("Listening on ").nth(1).expect("address after the marker");
        process.addr = rest.split_whitespace().next().expect("address").parse().expect("socket address");
        process
    }

    /// Waits for a log line containing `needle` and returns it.
    pub fn expect_log(&self, needle: &str) -> String {
        loop {
            match self.log.recv_timeout(ANSWER_TIMEOUT) {
                Ok(line) if line.contains(needle) => return line,
                Ok(_) => {}
                Err(_) => panic!("bbsd logged no line with {needle:?} (or ended)"),
            }
        }
    }

    /// SIGKILL: no shutdown code runs.
    pub fn kill_9(mut self) {
        self.child.kill().expect("SIGKILL");
        self.child.wait().expect("reap");
    }
}

impl Drop for BbsdProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A new database holding `n` chatrooms (closed once a server starts on
/// it), with the rooms' names in creation order. The directory goes away
/// with the returned guard.
pub fn database_with_chatrooms(n: usize) -> (tempfile::TempDir, PathBuf, Vec<String>) {
    use bbs_storage::Store;
    let dir = tempfile::tempdir().expect("temporary directory");
    let db = dir.path().join("bbs.db");
    let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().expect("runtime");
    runtime.block_on(async {
        let store = SqliteStore::open(SqliteOptions::new(&db)).expect("open database");
        let writes: Vec<_> = (0..n)
            .map(|i| {
                let store = store.clone();
                // Concurrent writes share commits (group commit): fast.
                tokio::spawn(async move { store.open_chatroom(&format!("room{i:05}"), "127.0.0.1", 9000).await })
            })
            .collect();
        for write in writes {
            write.await.expect("task").expect("open chatroom");
        }
        let names = store.chatrooms().await.expect("chatrooms").into_iter().map(|room| room.owner).collect();
        (dir, db, names)
    })
}

/// A new database holding the users `names`, each with password `password`
/// hashed with cheap argon2 parameters (8 KiB, one pass): logging in then
/// costs microseconds, so a test can log in thousands of sessions. The
/// server verifies with the parameters stored in each hash, so these users
/// work like any other. The directory goes away with the returned guard.
pub fn database_with_users(names: &[String], password: &str) -> (tempfile::TempDir, PathBuf) {
    use argon2::password_hash::{PasswordHasher, SaltString};
    let dir = tempfile::tempdir().expect("temporary directory");
    let db = dir.path().join("bbs.db");
    let params = argon2::Params::new(8, 1, 1, None).expect("argon2 parameters");
    let salt = SaltString::from_b64("dGVzdGtpdHNhbHQ").expect("salt");
    let hash = argon2::Argon2::new(argon2::Algorithm::Argon2id, argon2::Version::V0x13, params)
        .hash_password(password.as_bytes(), &salt)
        .expect("hashing")
        .to_string();
    let mut loader = bbs_storage_sqlite::bulk::BulkLoader::open(&db).expect("bulk loader");
    loader
        .users(names.iter().map(|name| bbs_storage::NewUser {
            name: name.clone(),
            email: format!("{name}@test.invalid"),
            password_hash: hash.clone(),
        }))
        .expect("users");
    loader.finish().expect("finish");
    (dir, db)
}
