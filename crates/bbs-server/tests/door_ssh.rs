//! The SSH door, driven by the russh client over real TCP: password and
//! key logins (and refusals), the `new` user, pushes drawn above the line
//! being typed, and the connection limits shared with TCP.

use std::sync::Arc;
use std::time::Duration;

use bbs_server::Config;
use bbs_testkit::{TestServer, ANSWER_TIMEOUT};
use russh::client::{self, Handle};
use russh::keys::ssh_key::private::Ed25519Keypair;
use russh::keys::{PrivateKey, PrivateKeyWithHashAlg, PublicKeyOrCertificate};
use russh::{ChannelMsg, ChannelReadHalf, ChannelWriteHalf};

struct AcceptAnyHostKey;

impl client::Handler for AcceptAnyHostKey {
    type Error = russh::Error;

    async fn check_server_key(&mut self, _key: &PublicKeyOrCertificate) -> Result<bool, Self::Error> {
        Ok(true)
    }
}

enum Login<'a> {
    None,
    Password(&'a str),
    Key(&'a PrivateKey),
}

async fn connect(server: &TestServer, user: &str, login: Login<'_>) -> Result<Handle<AcceptAnyHostKey>, String> {
    let config = Arc::new(client::Config::default());
    let mut handle = client::connect(config, server.ssh_addr.expect("SSH door"), AcceptAnyHostKey)
        .await
        .map_err(|e| e.to_string())?;
    let result = match login {
        Login::None => handle.authenticate_none(user).await,
        Login::Password(password) => handle.authenticate_password(user, password).await,
        Login::Key(key) => {
            handle.authenticate_publickey(user, PrivateKeyWithHashAlg::new(Arc::new(key.clone()), None)).await
        }
    }
    .map_err(|e| e.to_string())?;
    if result.success() {
        Ok(handle)
    } else {
        Err("authentication refused".into())
    }
}

/// The line interface on a pty, as `ssh -t host line` opens it (a plain
/// shell with a pty gets the full screen: see door_screen.rs).
struct Terminal {
    reader: ChannelReadHalf,
    writer: ChannelWriteHalf<client::Msg>,
    /// Everything the server drew, as it came.
    screen: String,
    /// How much of `screen` earlier waits consumed.
    seen: usize,
    _handle: Handle<AcceptAnyHostKey>,
}

impl Terminal {
    async fn open(handle: Handle<AcceptAnyHostKey>) -> Terminal {
        let channel = handle.channel_open_session().await.expect("session channel");
        channel.request_pty(true, "xterm", 80, 24, 0, 0, &[]).await.expect("pty");
        channel.exec(true, "line").await.expect("line");
        let (reader, writer) = channel.split();
        Terminal { reader, writer, screen: String::new(), seen: 0, _handle: handle }
    }

    async fn type_keys(&mut self, keys: &str) {
        self.writer.data(keys.as_bytes()).await.expect("send keys");
    }

    /// Waits until `text` appears after what earlier waits saw; returns
    /// the screen output up to and including it.
    async fn wait_for(&mut self, text: &str) -> String {
        let deadline = tokio::time::Instant::now() + ANSWER_TIMEOUT;
        loop {
            if let Some(at) = self.screen[self.seen..].find(text) {
                let end = self.seen + at + text.len();
                let got = self.screen[self.seen..end].to_owned();
                self.seen = end;
                return got;
            }
            match tokio::time::timeout_at(deadline, self.reader.wait()).await {
                Ok(Some(ChannelMsg::Data { data })) => self.screen.push_str(&String::from_utf8_lossy(&data)),
                Ok(Some(_)) => {}
                Ok(None) => panic!("channel closed waiting for {text:?}; screen: {:?}", &self.screen[self.seen..]),
                Err(_) => panic!("timed out waiting for {text:?}; screen: {:?}", &self.screen[self.seen..]),
            }
        }
    }

    /// Waits for the channel to close; returns what came before.
    async fn wait_closed(&mut self) -> String {
        loop {
            match tokio::time::timeout(ANSWER_TIMEOUT, self.reader.wait()).await.expect("close") {
                Some(ChannelMsg::Data { data }) => self.screen.push_str(&String::from_utf8_lossy(&data)),
                Some(_) => {}
                None => return self.screen[self.seen..].to_owned(),
            }
        }
    }
}

fn new_key() -> PrivateKey {
    use rand::RngCore;
    let mut seed = [0u8; 32];
    rand::rngs::OsRng.fill_bytes(&mut seed);
    PrivateKey::from(Ed25519Keypair::from_seed(&seed))
}

fn register(server: &TestServer, name: &str, password: &str) {
    let mut plain = server.plain();
    assert_eq!(plain.send(&format!("register {name} {name}@example.org {password}")), "Register successfully.");
}

fn fast_config() -> Config {
    Config { hash_workers: 2, ..Config::default() }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_password_login_starts_logged_in_and_pushes_are_drawn_above_the_typed_line() {
    let server = TestServer::start_with_doors(fast_config());
    register(&server, "ann", "secret");
    let handle = connect(&server, "ann", Login::Password("secret")).await.expect("password login");
    let mut term = Terminal::open(handle).await;
    let greeting = term.wait_for("Welcome, ann.\r\n% ").await;
    assert!(greeting.contains("** Welcome to the BBS server. **"), "{greeting:?}");

    term.type_keys("whoami\r").await;
    assert!(term.wait_for("\r\nann\r\n% ").await.ends_with("% whoami\r\nann\r\n% "));

    // Half a line typed, then a push: it appears above, the line is redrawn.
    term.type_keys("list-bo").await;
    term.wait_for("list-bo").await;
    let deadline = std::time::Instant::now() + ANSWER_TIMEOUT;
    while server.push("ann", "Message from bob: hello") == 0 {
        assert!(std::time::Instant::now() < deadline, "the SSH session never registered");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert_eq!(term.wait_for("% list-bo").await, "\r\x1b[KMessage from bob: hello\r\n% list-bo");
    // Backspace, finish the line: the edited line is what runs.
    term.type_keys("x\x7fard\r").await;
    let answer = term.wait_for("\r\n% ").await;
    assert!(answer.contains("Index") && answer.contains("Name"), "{answer:?}");

    // History: the arrow brings back `list-board`.
    term.type_keys("\x1b[A\r").await;
    let again = term.wait_for("Moderator").await;
    assert!(again.contains("% list-board\r\n"), "{again:?}");
    term.wait_for("\r\n% ").await;

    // Chatrooms need the client, as on telnet.
    term.type_keys("create-chatroom 9000\r").await;
    assert!(term.wait_for("\r\n% ").await.contains("create-chatroom needs the bbs client"));

    term.type_keys("exit\r").await;
    term.wait_closed().await;
    assert_eq!(server.sessions.online("ann"), 0, "the session ended with the channel");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wrong_passwords_and_unknown_users_are_refused() {
    let server = TestServer::start_with_doors(fast_config());
    register(&server, "ann", "secret");
    assert!(connect(&server, "ann", Login::Password("wrong")).await.is_err());
    assert!(connect(&server, "nobody", Login::Password("secret")).await.is_err());
    assert!(connect(&server, "ann", Login::None).await.is_err(), "no login without a credential");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn password_logins_share_the_login_rate_limit() {
    let config = Config { login_rate_per_account: bbs_server::Rate::new(2, Duration::from_secs(600)), ..fast_config() };
    let server = TestServer::start_with_doors(config);
    register(&server, "ann", "secret");
    assert!(connect(&server, "ann", Login::Password("wrong")).await.is_err());
    assert!(connect(&server, "ann", Login::Password("wrong")).await.is_err());
    assert!(connect(&server, "ann", Login::Password("secret")).await.is_err(), "the account's attempts are used up");
    let mut plain = server.plain();
    assert!(plain.send("login ann secret").starts_with("Too many login attempts for ann."));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_registered_key_logs_in_until_it_is_deleted() {
    let server = TestServer::start_with_doors(fast_config());
    register(&server, "ann", "secret");
    let key = new_key();
    let stranger = new_key();
    let public = key.public_key().to_openssh().unwrap();
    assert!(connect(&server, "ann", Login::Key(&key)).await.is_err(), "not registered yet");

    let mut plain = server.plain();
    assert_eq!(plain.send(&format!("add-key {public} laptop")), "Please login first.");
    plain.send("login ann secret");
    assert_eq!(plain.send("add-key ssh-ed25519 notbase64"), bbs_protocol::answer::NOT_A_KEY);
    assert_eq!(plain.send(&format!("add-key {public} laptop")), "Add key successfully.");
    assert_eq!(plain.send(&format!("add-key {public}")), "Key already added.");
    let listed = plain.send("list-key");
    let fingerprint = key.public_key().fingerprint(russh::keys::HashAlg::Sha256).to_string();
    assert!(listed.contains("ssh-ed25519") && listed.contains(&fingerprint) && listed.contains("laptop"), "{listed}");

    let handle = connect(&server, "ann", Login::Key(&key)).await.expect("key login");
    let mut term = Terminal::open(handle).await;
    term.wait_for("Welcome, ann.\r\n% ").await;
    term.type_keys("whoami\r").await;
    assert!(term.wait_for("\r\n% ").await.ends_with("\r\nann\r\n% "));
    assert!(connect(&server, "ann", Login::Key(&stranger)).await.is_err(), "another key");
    assert!(connect(&server, "bob", Login::Key(&key)).await.is_err(), "another user's name");

    assert_eq!(plain.send("delete-key 2"), "Key does not exist.");
    assert_eq!(plain.send("delete-key 1"), "Delete key successfully.");
    assert!(connect(&server, "ann", Login::Key(&key)).await.is_err(), "deleted");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_new_user_registers_and_logs_in_like_on_telnet() {
    let server = TestServer::start_with_doors(fast_config());
    let handle = connect(&server, "new", Login::None).await.expect("new gets in");
    let mut term = Terminal::open(handle).await;
    term.wait_for("*****\r\n% ").await;
    // Typed ahead, all at once: each line waits for its prompt.
    term.type_keys("whoami\rregister cat cat@example.org pw\rlogin cat pw\rwhoami\r").await;
    assert!(term.wait_for("Please login first.\r\n% ").await.contains("% whoami\r\n"));
    term.wait_for("Register successfully.\r\n% ").await;
    term.wait_for("Welcome, cat.\r\n% ").await;
    assert!(term.wait_for("cat\r\n% ").await.contains("% whoami\r\n"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ssh_sessions_count_against_the_per_address_limit() {
    let server = TestServer::start_with_doors(Config { max_connections_per_ip: 1, ..fast_config() });
    let handle = connect(&server, "new", Login::None).await.expect("the first connection");
    let mut term = Terminal::open(handle).await;
    term.wait_for("% ").await;
    let mut refused = std::net::TcpStream::connect(server.addr).unwrap();
    let mut said = String::new();
    std::io::Read::read_to_string(&mut refused, &mut said).unwrap();
    assert!(said.starts_with("Too many connections from your address"), "{said:?}");
    assert!(connect(&server, "new", Login::None).await.is_err(), "a second SSH connection is refused too");
}
