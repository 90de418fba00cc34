//! The full-screen interface with real clients on a real terminal: the
//! system `telnet` and OpenSSH's `ssh`, each inside tmux at 80×24, typed
//! at with `send-keys` and read with `capture-pane` (the screen after the
//! terminal applied every escape sequence). The tools are installed by
//! `scripts/ensure-tmux.sh`, `ensure-telnet.sh` and `ensure-openssh.sh`
//! when missing. With `BBS_UPDATE_SCREENSHOT=1` the screens are saved as
//! text in docs/.

use std::path::PathBuf;
use std::process::{Command, Output};
use std::sync::Once;
use std::time::{Duration, Instant};

use bbs_server::Config;
use bbs_testkit::{TestServer, ANSWER_TIMEOUT};

fn ensure(script: &str) {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../scripts").join(script);
    let status = Command::new("sh").arg(&path).status().expect("run an ensure script");
    assert!(status.success(), "{} failed", path.display());
}

fn ensure_tools() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        ensure("ensure-tmux.sh");
        ensure("ensure-telnet.sh");
        ensure("ensure-openssh.sh");
    });
}

/// A program in a tmux session of its own (private server socket).
struct Tmux {
    socket: PathBuf,
    _dir: tempfile::TempDir,
}

impl Tmux {
    fn start(command: &str) -> Tmux {
        ensure_tools();
        let dir = tempfile::Builder::new().prefix("bbs-screen-tmux").tempdir().unwrap();
        let config = dir.path().join("tmux.conf");
        std::fs::write(&config, "set -g status off\nset -g remain-on-exit on\n").unwrap();
        let tmux = Tmux { socket: dir.path().join("socket"), _dir: dir };
        let config = config.to_str().unwrap().to_owned();
        tmux.run(&["-f", &config, "new-session", "-d", "-s", "main", "-x", "80", "-y", "24", command]);
        tmux
    }

    fn run(&self, args: &[&str]) -> Output {
        let output = Command::new("tmux").arg("-S").arg(&self.socket).args(args).output().expect("run tmux");
        assert!(output.status.success(), "tmux {args:?}: {}", String::from_utf8_lossy(&output.stderr));
        output
    }

    fn type_text(&self, text: &str) {
        self.run(&["send-keys", "-t", "main", "-l", text]);
    }

    fn keys(&self, keys: &[&str]) {
        let mut args = vec!["send-keys", "-t", "main"];
        args.extend_from_slice(keys);
        self.run(&args);
    }

    /// The visible screen, a line per row.
    fn screen(&self) -> String {
        String::from_utf8_lossy(&self.run(&["capture-pane", "-p", "-t", "main"]).stdout).into_owned()
    }

    fn wait_until(&self, what: &str, done: impl Fn(&str) -> bool) -> String {
        let deadline = Instant::now() + ANSWER_TIMEOUT;
        loop {
            let screen = self.screen();
            if done(&screen) {
                return screen;
            }
            assert!(Instant::now() < deadline, "gave up waiting for {what}; the screen:\n{screen}");
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    fn wait_for(&self, text: &str) -> String {
        self.wait_until(&format!("{text:?}"), |screen| screen.contains(text))
    }

    fn resize(&self, columns: u16, rows: u16) {
        self.run(&["resize-window", "-t", "main", "-x", &columns.to_string(), "-y", &rows.to_string()]);
    }

    /// Saves the screen in docs/ when asked to (BBS_UPDATE_SCREENSHOT).
    fn save(&self, name: &str) {
        if std::env::var_os("BBS_UPDATE_SCREENSHOT").is_some() {
            let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../docs/screens").join(name);
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            std::fs::write(path, self.screen()).unwrap();
        }
    }
}

impl Drop for Tmux {
    fn drop(&mut self) {
        let _ = Command::new("tmux").arg("-S").arg(&self.socket).arg("kill-server").output();
    }
}

fn seed(server: &TestServer) {
    let mut plain = server.plain();
    for name in ["ann", "bob"] {
        assert_eq!(plain.send(&format!("register {name} {name}@example.org pw-{name}")), "Register successfully.");
    }
    assert_eq!(plain.send("login bob pw-bob"), "Welcome, bob.");
    assert_eq!(plain.send("create-board Gossiping"), "Create board successfully.");
    assert_eq!(plain.send("create-board 中文看板"), "Create board successfully.");
    assert_eq!(
        plain.send("create-post Gossiping --title 今天天氣很好 a long title that is cut at the edge of the screen by width --content 第一行<br>second line"),
        "Create post successfully."
    );
}

/// Logged in and on the main menu: reads, pushes, posts, gets a message
/// and is resized; `shot` names the saved screens.
fn tour(server: &TestServer, term: &Tmux, shot: &str) {
    term.keys(&["b"]);
    term.wait_for("中文看板");
    term.save(&format!("{shot}-boards.txt"));
    term.keys(&["Enter"]);
    let list = term.wait_for("今天天氣很好");
    // The long title is cut to the 80 columns, whole characters only.
    assert!(list.lines().all(|row| unicode_width::UnicodeWidthStr::width(row) <= 80), "{list}");
    term.save(&format!("{shot}-posts.txt"));
    term.keys(&["Enter"]);
    term.wait_for("second line");
    term.keys(&["X", "1"]);
    term.type_text("好文");
    term.keys(&["Enter"]);
    let reader = term.wait_for("推 ann: 好文");
    assert!(reader.contains("Title   今天天氣很好"), "{reader}");
    term.save(&format!("{shot}-reader.txt"));
    term.keys(&["q", "C-p"]);
    term.wait_for("Title:");
    term.type_text("寫於終端機");
    term.keys(&["Enter"]);
    term.wait_for("[Post to Gossiping]");
    term.type_text("from a real terminal");
    term.keys(&["Enter"]);
    term.type_text("第二行");
    term.save(&format!("{shot}-editor.txt"));
    term.keys(&["C-x"]);
    term.wait_for("(S)ave");
    term.keys(&["s"]);
    term.wait_until("the new post in the list", |s| s.contains("寫於終端機") && s.contains("S/N"));
    let deadline = Instant::now() + ANSWER_TIMEOUT;
    while server.push("ann", "bob told you: nice post!") == 0 {
        assert!(Instant::now() < deadline);
    }
    let screen = term.wait_for("bob told you: nice post!");
    assert!(screen.lines().nth(23).unwrap().contains("bob told you: nice post!"), "{screen}");
    term.save(&format!("{shot}-message.txt"));
    term.resize(100, 30);
    term.wait_until("the redraw at 100×30", |s| {
        s.lines().count() == 30
            && s.lines().next().unwrap().trim_end().ends_with("bbsd")
            && s.lines().next().unwrap().len() > 90
    });
}

#[test]
fn telnet_in_tmux_logs_in_reads_pushes_posts_gets_a_message_and_resizes() {
    let server = TestServer::start_with_doors(Config { hash_workers: 2, ..Config::default() });
    seed(&server);
    let addr = server.telnet_addr.unwrap();
    let term = Tmux::start(&format!("telnet {} {}", addr.ip(), addr.port()));
    term.wait_for("Username:");
    term.save("telnet-login.txt");
    term.type_text("ann");
    term.keys(&["Enter"]);
    term.type_text("pw-ann");
    term.keys(&["Enter"]);
    term.wait_for("(B)oards");
    term.save("telnet-main.txt");
    tour(&server, &term, "telnet");
}

#[test]
fn openssh_in_tmux_opens_the_full_screen_on_its_pty() {
    let server = TestServer::start_with_doors(Config { hash_workers: 2, ..Config::default() });
    seed(&server);
    let port = server.ssh_addr.unwrap().port();
    let term = Tmux::start(&format!(
        "ssh -F /dev/null -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null -o LogLevel=ERROR \
         -o PubkeyAuthentication=no -p {port} ann@127.0.0.1"
    ));
    term.wait_for("password:");
    term.type_text("pw-ann");
    term.keys(&["Enter"]);
    term.wait_for("(B)oards");
    tour(&server, &term, "ssh");
}
