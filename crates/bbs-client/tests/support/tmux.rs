//! A terminal for tests: a program running in a tmux session of its own
//! (80×24, on a private tmux server, `tmux -S` in a temporary directory), typed at with `send-keys` and read
//! with `capture-pane`, so tests see the screen a person would see —
//! after the terminal has applied every escape sequence.

use std::path::PathBuf;
use std::process::{Command, Output};
use std::sync::Once;
use std::time::{Duration, Instant};

use bbs_testkit::ANSWER_TIMEOUT;

use super::normalise;

pub const COLUMNS: u16 = 80;
pub const ROWS: u16 = 24;

/// Installs tmux once per test binary when it is missing
/// (`scripts/ensure-tmux.sh`), so a fresh machine runs these tests too.
fn ensure_tmux() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        let script = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../scripts/ensure-tmux.sh");
        let status = Command::new("sh").arg(&script).status().expect("run scripts/ensure-tmux.sh");
        assert!(status.success(), "{} failed: {status}", script.display());
    });
}

/// One program on its own tmux server; the server is killed on drop.
pub struct Tmux {
    pub name: String,
    /// The server's socket, inside `dir` (like `-L NAME`, but removed
    /// with the directory rather than left in /tmp/tmux-UID).
    socket: PathBuf,
    dir: tempfile::TempDir,
}

const TARGET: &str = "main";

impl Tmux {
    /// Starts `program` with `args` in a fresh 80×24 session.
    pub fn start(name: &str, program: &str, args: &[&str]) -> Tmux {
        ensure_tmux();
        let dir = tempfile::Builder::new().prefix("bbs-tmux").tempdir().unwrap();
        // No status line (the pane is the whole window); the pane stays
        // after the program ends, so what it printed last can be read.
        let config = dir.path().join("tmux.conf");
        std::fs::write(&config, "set -g status off\nset -g remain-on-exit on\nset -g history-limit 5000\n").unwrap();
        let command =
            std::iter::once(program).chain(args.iter().copied()).map(shell_quote).collect::<Vec<_>>().join(" ");
        let tmux = Tmux { name: name.to_owned(), socket: dir.path().join("socket"), dir };
        let (columns, rows) = (COLUMNS.to_string(), ROWS.to_string());
        let config = config.to_str().expect("a UTF-8 temporary path");
        tmux.run(&["-f", config, "new-session", "-d", "-s", TARGET, "-x", &columns, "-y", &rows, &command]);
        tmux
    }

    fn run(&self, args: &[&str]) -> Output {
        let output = Command::new("tmux").arg("-S").arg(&self.socket).args(args).output().expect("run tmux");
        assert!(
            output.status.success(),
            "{}: tmux {args:?} failed: {}",
            self.name,
            String::from_utf8_lossy(&output.stderr)
        );
        output
    }

    /// Types `text` literally (no key names).
    pub fn type_text(&self, text: &str) {
        self.run(&["send-keys", "-t", TARGET, "-l", text]);
    }

    /// Presses keys by tmux's names: `Enter`, `C-c`, `Up`, `BSpace`…
    pub fn keys(&self, keys: &[&str]) {
        let mut args = vec!["send-keys", "-t", TARGET];
        args.extend_from_slice(keys);
        self.run(&args);
    }

    /// Types a line and presses Enter.
    pub fn line(&self, text: &str) {
        self.type_text(text);
        self.keys(&["Enter"]);
    }

    /// Everything the pane shows, scrollback included, times normalised;
    /// trailing spaces kept where the program wrote them (the `% `
    /// prompt), empty rows below the last written one left out.
    pub fn screen(&self) -> String {
        let output = self.run(&["capture-pane", "-p", "-N", "-S", "-", "-t", TARGET]);
        let text = normalise(&String::from_utf8_lossy(&output.stdout));
        // tmux writes its own notice on the last row of a dead pane.
        let mut rows: Vec<&str> = text.lines().filter(|row| !row.starts_with("Pane is dead (")).collect();
        while rows.last().is_some_and(|row| row.trim().is_empty()) {
            rows.pop();
        }
        let mut screen = rows.join("\n");
        screen.push('\n');
        screen
    }

    /// The cursor's column and row in the visible pane.
    pub fn cursor(&self) -> (u16, u16) {
        let output = self.run(&["display-message", "-p", "-t", TARGET, "#{cursor_x} #{cursor_y}"]);
        let text = String::from_utf8_lossy(&output.stdout);
        let mut numbers = text.split_whitespace().map(|n| n.parse::<u16>().expect("a number"));
        (numbers.next().unwrap(), numbers.next().unwrap())
    }

    /// The program has ended (its pane stays, dead).
    pub fn ended(&self) -> bool {
        let output = self.run(&["display-message", "-p", "-t", TARGET, "#{pane_dead}"]);
        String::from_utf8_lossy(&output.stdout).trim() == "1"
    }

    /// How the ended program ended: `Some(status)`, or `None` when tmux
    /// recorded nothing. tmux 3.3 marks the pane dead when the terminal
    /// closes and records the status only once it reaps the process; now and
    /// then it records none at all (seen in about one run in ten), so this
    /// waits a moment for it and then gives up. A program killed by a signal
    /// fails the test with the signal's number.
    pub fn exit_status(&self) -> Option<i32> {
        let deadline = Instant::now() + Duration::from_secs(2);
        loop {
            let output = self.run(&["display-message", "-p", "-t", TARGET, "#{pane_dead_status}|#{pane_dead_signal}"]);
            let shown = String::from_utf8_lossy(&output.stdout);
            let (status, signal) = shown.trim().split_once('|').unwrap_or(("", ""));
            assert!(signal.is_empty(), "{}: the program was killed by signal {signal}", self.name);
            if let Ok(status) = status.parse() {
                return Some(status);
            }
            if Instant::now() >= deadline {
                return None;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// The process id of the program in the pane.
    pub fn pid(&self) -> i32 {
        let output = self.run(&["display-message", "-p", "-t", TARGET, "#{pane_pid}"]);
        String::from_utf8_lossy(&output.stdout).trim().parse().expect("a pid")
    }

    /// Polls the screen until `done` holds for it; panics with the last
    /// screen at the deadline. Returns the screen.
    pub fn wait_until(&self, what: &str, done: impl Fn(&str) -> bool) -> String {
        let deadline = Instant::now() + ANSWER_TIMEOUT;
        loop {
            let screen = self.screen();
            if done(&screen) {
                return screen;
            }
            assert!(Instant::now() < deadline, "{}: gave up waiting for {what}; the screen:\n{screen}", self.name);
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Waits until the screen shows `text` somewhere.
    pub fn wait_for(&self, text: &str) -> String {
        self.wait_until(&format!("{text:?}"), |screen| screen.contains(text))
    }

    /// Waits until the screen ends with `text` (the last rows written).
    pub fn wait_for_end(&self, text: &str) -> String {
        self.wait_until(&format!("the screen to end with {text:?}"), |screen| screen.ends_with(text))
    }

    /// Waits until the whole screen is `expected`; on the deadline, fails
    /// showing both and the first row that differs.
    pub fn expect_screen(&self, expected: &str) {
        let deadline = Instant::now() + ANSWER_TIMEOUT;
        loop {
            let screen = self.screen();
            if screen == expected {
                return;
            }
            if Instant::now() >= deadline {
                let row = screen.lines().zip(expected.lines()).take_while(|(a, b)| a == b).count();
                panic!(
                    "{}: the screen differs from row {row}:\n--- shown ---\n{screen}--- expected ---\n{expected}---\nrow {row} shown {:?}, expected {:?}",
                    self.name,
                    screen.lines().nth(row),
                    expected.lines().nth(row),
                );
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Waits until the cursor is at `(column, row)` (keys that move only
    /// the cursor change nothing else on the screen to wait for).
    pub fn wait_cursor(&self, place: (u16, u16)) {
        let deadline = Instant::now() + ANSWER_TIMEOUT;
        loop {
            let cursor = self.cursor();
            if cursor == place {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "{}: the cursor stays at {cursor:?}, not {place:?}; the screen:\n{}",
                self.name,
                self.screen()
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Waits until the program has ended.
    pub fn wait_ended(&self) {
        let deadline = Instant::now() + ANSWER_TIMEOUT;
        while !self.ended() {
            assert!(
                Instant::now() < deadline,
                "{}: the program did not end; the screen:\n{}",
                self.name,
                self.screen()
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for Tmux {
    fn drop(&mut self) {
        let _ = Command::new("tmux").arg("-S").arg(&self.socket).arg("kill-server").output();
    }
}

fn shell_quote(word: &str) -> String {
    format!("'{}'", word.replace('\'', r"'\''"))
}
