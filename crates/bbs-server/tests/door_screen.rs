//! The full-screen interface through its doors, byte for byte: a telnet
//! client over real TCP (option negotiation, NAWS, keys) and an SSH pty
//! (russh client), the server's output parsed by the `vt100` terminal
//! emulator and its screen checked as a user would see it.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::sync::Arc;
use std::time::{Duration, Instant};

use bbs_screen::telnet::{Negotiator, IAC, NAWS, SB, SE};
use bbs_server::Config;
use bbs_testkit::{TestServer, ANSWER_TIMEOUT};

const DO: u8 = 253;
const WILL: u8 = 251;

fn fast_config() -> Config {
    Config { hash_workers: 2, ..Config::default() }
}

/// What a telnet client answers to the server's offers, then its window.
fn client_hello(columns: u16, rows: u16) -> Vec<u8> {
    let mut bytes = vec![IAC, DO, 1, IAC, DO, 3, IAC, WILL, 3, IAC, WILL, 0, IAC, DO, 0, IAC, WILL, NAWS];
    bytes.extend(naws(columns, rows));
    bytes
}

/// A NAWS subnegotiation (0xFF bytes doubled, as RFC 1073 says).
fn naws(columns: u16, rows: u16) -> Vec<u8> {
    let mut bytes = vec![IAC, SB, NAWS];
    for b in columns.to_be_bytes().into_iter().chain(rows.to_be_bytes()) {
        bytes.push(b);
        if b == IAC {
            bytes.push(IAC);
        }
    }
    bytes.extend([IAC, SE]);
    bytes
}

/// A telnet client with a terminal emulator for a screen.
struct TelnetTerm {
    stream: TcpStream,
    /// Strips the server's negotiation from what it sends.
    filter: Negotiator,
    vt: vt100::Parser,
}

impl TelnetTerm {
    fn connect(server: &TestServer, columns: u16, rows: u16) -> TelnetTerm {
        let mut term = TelnetTerm::connect_raw(server, columns, rows);
        term.send(&client_hello(columns, rows));
        term
    }

    /// Connected, nothing sent yet.
    fn connect_raw(server: &TestServer, columns: u16, rows: u16) -> TelnetTerm {
        let stream = TcpStream::connect(server.telnet_addr.expect("telnet door")).expect("connect");
        stream.set_nodelay(true).expect("nodelay");
        stream.set_read_timeout(Some(Duration::from_millis(50))).expect("timeout");
        TelnetTerm { stream, filter: Negotiator::start().0, vt: vt100::Parser::new(rows, columns, 0) }
    }

    fn send(&mut self, bytes: &[u8]) {
        self.stream.write_all(bytes).expect("send");
    }

    fn resize(&mut self, columns: u16, rows: u16) {
        self.vt.set_size(rows, columns);
        self.send(&naws(columns, rows));
    }

    /// Reads what is there (up to 50 ms); false once the server closed.
    fn pump(&mut self) -> bool {
        let mut chunk = [0u8; 8192];
        match self.stream.read(&mut chunk) {
            Ok(0) => false,
            Ok(n) => {
                let (mut data, mut events, mut reply) = (Vec::new(), Vec::new(), Vec::new());
                self.filter.receive(&chunk[..n], &mut data, &mut events, &mut reply);
                self.vt.process(&data);
                true
            }
            Err(e) if matches!(e.kind(), std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut) => true,
            Err(e) => panic!("read: {e}"),
        }
    }

    /// Waits until the screen satisfies `check`.
    fn wait(&mut self, what: &str, check: impl Fn(&vt100::Screen) -> bool) {
        let deadline = Instant::now() + ANSWER_TIMEOUT;
        while !check(self.vt.screen()) {
            assert!(self.pump(), "closed waiting for {what}:\n{}", self.text());
            assert!(Instant::now() < deadline, "timed out waiting for {what}:\n{}", self.text());
        }
    }

    fn wait_text(&mut self, text: &str) {
        self.wait(text, |screen| screen.contents().contains(text));
    }

    fn text(&self) -> String {
        self.vt.screen().contents()
    }

    fn row(&self, y: u16) -> String {
        let (_, columns) = self.vt.screen().size();
        self.vt.screen().contents_between(y, 0, y, columns)
    }
}

fn register(server: &TestServer, name: &str) {
    let mut plain = server.plain();
    assert_eq!(plain.send(&format!("register {name} {name}@example.org pw-{name}")), "Register successfully.");
}

/// bob's board with one post, written through the line interface.
fn seed(server: &TestServer) {
    register(server, "ann");
    register(server, "bob");
    let mut bob = server.plain();
    assert_eq!(bob.send("login bob pw-bob"), "Welcome, bob.");
    assert_eq!(bob.send("create-board Gossiping"), "Create board successfully.");
    assert_eq!(
        bob.send("create-post Gossiping --title 第一篇 first --content line one<br>第二行"),
        "Create post successfully."
    );
}

#[test]
fn telnet_login_board_read_push_post_message_and_resize() {
    let server = TestServer::start_with_doors(fast_config());
    seed(&server);
    let mut ann = TelnetTerm::connect(&server, 80, 24);
    ann.wait_text("Username:");
    assert!(ann.text().contains("** Welcome to the BBS server. **"));
    ann.send(b"ann\rpw-wrong\r");
    ann.wait_text("Login failed.");
    ann.send(b"pw-ann\r");
    ann.wait_text("(B)oards");
    assert!(ann.row(23).contains("Welcome, ann."), "{}", ann.row(23));

    // Board list → post list → reader.
    ann.send(b"b");
    ann.wait_text("Gossiping");
    assert!(ann.vt.screen().cell(0, 0).unwrap().inverse(), "the title bar is reverse video");
    ann.send(b"\r");
    ann.wait_text("第一篇 first");
    ann.send(b"\r");
    ann.wait_text("第二行");
    assert!(ann.text().contains(" Title   第一篇 first"), "{}", ann.text());

    // Push it from the reader: the comment shows at once under the post.
    ann.send(b"X");
    ann.wait_text("1) 推");
    ann.send("1好文\r".as_bytes());
    ann.wait_text("推 ann: 好文");
    let mut bob = server.plain();
    bob.send("login bob pw-bob");
    let long = bob.send("list-post Gossiping --long");
    assert!(
        long.lines().nth(1).is_some_and(|row| row.trim_end().ends_with("  1")),
        "the push counts for the line interface too: {long}"
    );

    // Back to the list, which shows the count; write a post in the editor.
    ann.send(b"q");
    ann.wait("the push count", |s| s.contents().lines().any(|l| l.contains("     1      1 ")));
    ann.send(b"\x10");
    ann.wait_text("Title:");
    ann.send("從全螢幕\r".as_bytes());
    ann.wait_text("[Post to Gossiping] 從全螢幕");
    ann.send("hello 世界\rsecond line".as_bytes());
    ann.wait_text("second line");
    assert_eq!(ann.vt.screen().cursor_position(), (2, 11));
    // A message while the editor is open waits for it to close.
    let deadline = Instant::now() + ANSWER_TIMEOUT;
    while server.push("ann", "bob told you: lunch?") == 0 {
        assert!(Instant::now() < deadline);
    }
    ann.wait_text("1 message(s) waiting");
    assert!(!ann.text().contains("lunch?"));
    ann.send(b"\x18");
    ann.wait_text("(S)ave");
    ann.send(b"s");
    ann.wait_text("從全螢幕");
    ann.wait_text("lunch?");
    let read = bob.send("list-post Gossiping");
    assert!(read.contains("從全螢幕"), "{read}");

    // A post by someone else shows up in the open list by itself.
    bob.send("create-post Gossiping --title live update --content hi");
    ann.wait_text("live update");

    // Resize (NAWS): redrawn at the new size at once.
    ann.resize(100, 30);
    ann.wait("the status bar on row 30", |s| s.cell(29, 99).is_some_and(|c| c.inverse()));
    assert!(ann.row(0).trim_end().ends_with("bbsd"), "{:?}", ann.row(0));
    assert!(ann.text().contains("live update"), "{}", ann.text());

    // Messages, the online list, search and mail from the keyboard.
    ann.send(b"\x15");
    ann.wait_text("Online users");
    ann.wait_text("bob");
    ann.send(b"q/live\r");
    ann.wait_text("Search: live");
    ann.wait("a hit", |s| s.contents().contains("live update") && s.contents().contains(">"));
    // Search → post list → board list → main menu.
    ann.send(b"qqq");
    ann.wait_text("(M)ail");
    ann.send(b"g");
    let deadline = Instant::now() + ANSWER_TIMEOUT;
    while ann.pump() {
        assert!(Instant::now() < deadline, "goodbye closes the connection");
    }
}

/// The login screen after `script`, sent in two pieces split at `split`:
/// negotiation with NAWS (a 255 in it, doubled), a CJK character and an
/// escape sequence.
fn login_screen_after(server: &TestServer, script: &[u8], split: usize) -> String {
    let mut term = TelnetTerm::connect_raw(server, 255, 30);
    term.send(&script[..split]);
    // A moment between the two writes, so they leave as two segments.
    std::thread::sleep(Duration::from_millis(2));
    term.send(&script[split..]);
    term.wait(&format!("the typed name (split {split})"), |s| {
        // Down went to the password field: its start, (255 - 32) / 2 + 14.
        s.contents().contains("Username:     看x") && s.cursor_position().1 == 125
    });
    term.text()
}

#[test]
fn telnet_bytes_split_at_every_offset_draw_the_same_screen() {
    let server = TestServer::start_with_doors(fast_config());
    let mut script = client_hello(255, 30);
    script.extend("看x\x1b[B".as_bytes());
    let whole = login_screen_after(&server, &script, script.len());
    for split in 1..script.len() {
        assert_eq!(login_screen_after(&server, &script, split), whole, "split at {split}");
    }
}

mod ssh {
    use super::*;
    use russh::client::{self, Handle};
    use russh::keys::PublicKeyOrCertificate;
    use russh::ChannelMsg;

    struct AcceptAnyHostKey;

    impl client::Handler for AcceptAnyHostKey {
        type Error = russh::Error;

        async fn check_server_key(&mut self, _key: &PublicKeyOrCertificate) -> Result<bool, Self::Error> {
            Ok(true)
        }
    }

    async fn connect(server: &TestServer, user: &str, password: Option<&str>) -> Handle<AcceptAnyHostKey> {
        let config = Arc::new(client::Config::default());
        let mut handle =
            client::connect(config, server.ssh_addr.expect("SSH door"), AcceptAnyHostKey).await.expect("connect");
        let result = match password {
            Some(password) => handle.authenticate_password(user, password).await,
            None => handle.authenticate_none(user).await,
        };
        assert!(result.expect("authenticate").success());
        handle
    }

    /// A pty and a shell, the screen drawn into a vt100 terminal.
    struct SshTerm {
        channel: russh::Channel<client::Msg>,
        vt: vt100::Parser,
        _handle: Handle<AcceptAnyHostKey>,
    }

    impl SshTerm {
        async fn open(handle: Handle<AcceptAnyHostKey>, columns: u16, rows: u16) -> SshTerm {
            let channel = handle.channel_open_session().await.expect("session channel");
            channel.request_pty(true, "xterm", columns.into(), rows.into(), 0, 0, &[]).await.expect("pty");
            channel.request_shell(true).await.expect("shell");
            SshTerm { channel, vt: vt100::Parser::new(rows, columns, 0), _handle: handle }
        }

        async fn send(&mut self, bytes: &[u8]) {
            self.channel.data(bytes).await.expect("send");
        }

        async fn wait(&mut self, what: &str, check: impl Fn(&vt100::Screen) -> bool) {
            let deadline = tokio::time::Instant::now() + ANSWER_TIMEOUT;
            while !check(self.vt.screen()) {
                match tokio::time::timeout_at(deadline, self.channel.wait()).await {
                    Ok(Some(ChannelMsg::Data { data })) => self.vt.process(&data),
                    Ok(Some(_)) => {}
                    Ok(None) => panic!("closed waiting for {what}:\n{}", self.vt.screen().contents()),
                    Err(_) => panic!("timed out waiting for {what}:\n{}", self.vt.screen().contents()),
                }
            }
        }
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn an_ssh_pty_opens_the_full_screen_and_window_changes_redraw() {
        let server = TestServer::start_with_doors(fast_config());
        tokio::task::block_in_place(|| seed(&server));
        let mut term = SshTerm::open(connect(&server, "ann", Some("pw-ann")).await, 80, 24).await;
        term.wait("the main menu", |s| s.contents().contains("(B)oards")).await;
        term.send(b"b").await;
        term.wait("the board list", |s| s.contents().contains("Gossiping")).await;
        term.channel.window_change(120, 40, 0, 0).await.expect("window change");
        term.vt.set_size(40, 120);
        term.wait("the status bar on row 40", |s| s.contents_between(39, 0, 39, 120).contains("h help")).await;
        assert!(term.vt.screen().cell(0, 119).unwrap().inverse());
        term.send(b"\r\r").await;
        term.wait("the post", |s| s.contents().contains("第二行")).await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn ssh_keys_split_at_every_offset_draw_the_same_screen() {
        let server = TestServer::start_with_doors(fast_config());
        let script = "看x\x1b[Bpw\x1b[A".as_bytes();
        let mut screens = Vec::new();
        for split in 0..=script.len() {
            let mut term = SshTerm::open(connect(&server, "new", None).await, 80, 24).await;
            term.wait("the login screen", |s| s.contents().contains("Username:")).await;
            term.send(&script[..split]).await;
            term.send(&script[split..]).await;
            term.wait(&format!("the typed fields (split {split})"), |s| {
                s.contents().contains("Username:     看x") && s.contents().contains("Password:     **")
            })
            .await;
            // The cursor went back up to the name, after 看x (3 columns).
            term.wait("the cursor on the name", |s| s.cursor_position().1 == (80 - 32) / 2 + 14 + 3).await;
            screens.push(term.vt.screen().contents());
        }
        assert!(screens.windows(2).all(|w| w[0] == w[1]));
    }
}

#[test]
fn pinned_posts_lead_the_full_screen_post_list() {
    let server = TestServer::start_with_doors(fast_config());
    seed(&server);
    let mut bob = server.plain();
    assert_eq!(bob.send("login bob pw-bob"), "Welcome, bob.");
    assert_eq!(bob.send("create-post Gossiping --title later one --content x"), "Create post successfully.");
    assert_eq!(bob.send("pin-post 2"), "Pin successfully.");
    let mut ann = TelnetTerm::connect(&server, 80, 24);
    ann.wait_text("Username:");
    ann.send(b"ann\rpw-ann\r");
    ann.wait_text("(B)oards");
    ann.send(b"b");
    ann.wait_text("Gossiping");
    ann.send(b"\r");
    ann.wait_text("later one");
    let rows: Vec<String> = ann.text().lines().map(str::to_owned).collect();
    let older = rows.iter().position(|r| r.contains("第一篇 first")).expect("the older post is listed");
    let pinned = rows.iter().position(|r| r.contains("later one")).expect("the pinned post is listed");
    assert!(pinned < older, "the pinned (newer) post comes first:\n{}", ann.text());
    assert!(rows[pinned].contains("pin"), "it is marked as pinned: {}", rows[pinned]);
    assert!(!rows[older].contains("pin"), "the other is not: {}", rows[older]);
}
