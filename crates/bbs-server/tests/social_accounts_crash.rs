//! The shared accounts lose no update and create no money: 50 connections
//! deposit and withdraw at random on both accounts while the real `bbsd` is
//! killed with SIGKILL and restarted twice. Afterwards every acknowledged
//! change is in the ledger, nothing but acknowledged changes and the few
//! in flight at a kill is there, and each balance is the sum of its ledger.

use std::io::{self, BufRead, BufReader, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use bbs_storage::SocialStore;
use bbs_storage_sqlite::{SqliteOptions, SqliteStore};
use bbs_testkit::{database_with_users, BbsdProcess};

const CONNECTIONS: usize = 50;
const OPS: usize = 200;
const PASSWORD: &str = "pw";
const ACCOUNTS: [&str; 2] = ["ACCOUNT1", "ACCOUNT2"];

/// A change a connection asked for.
#[derive(Debug, Clone, Copy)]
struct Change {
    account: usize,
    delta: i64,
    /// Acknowledged as applied; `false`: the connection died before the
    /// answer (it may or may not have been applied).
    acknowledged: bool,
}

/// A plain connection that reports failures instead of panicking.
struct Line {
    reader: BufReader<TcpStream>,
    writer: TcpStream,
}

impl Line {
    fn connect(addr: SocketAddr, user: &str) -> io::Result<Line> {
        let stream = TcpStream::connect(addr)?;
        stream.set_read_timeout(Some(Duration::from_secs(20)))?;
        let mut line = Line { writer: stream.try_clone()?, reader: BufReader::new(stream) };
        line.until_prompt()?;
        let welcome = line.send(&format!("login {user} {PASSWORD}"))?;
        assert_eq!(welcome, format!("Welcome, {user}."));
        Ok(line)
    }

    /// Everything up to the next prompt.
    fn until_prompt(&mut self) -> io::Result<String> {
        let mut got = Vec::new();
        loop {
            let n = self.reader.read_until(b' ', &mut got)?;
            if n == 0 {
                return Err(io::ErrorKind::UnexpectedEof.into());
            }
            if got == b"% " || got.ends_with(b"\r\n% ") {
                got.truncate(got.len() - 2);
                let text = String::from_utf8_lossy(&got).replace("\r\n", "\n");
                return Ok(text.trim_end_matches('\n').to_owned());
            }
        }
    }

    fn send(&mut self, line: &str) -> io::Result<String> {
        self.writer.write_all(format!("{line}\r\n").as_bytes())?;
        self.until_prompt()
    }
}

/// xorshift: deterministic per connection, no dependency.
fn next(state: &mut u64) -> u64 {
    *state ^= *state << 13;
    *state ^= *state >> 7;
    *state ^= *state << 17;
    *state
}

/// One connection's work: its changes, in the order asked.
fn worker(user: String, seed: u64, addr: Arc<Mutex<SocketAddr>>, done: Arc<AtomicUsize>) -> Vec<Change> {
    let mut rng = seed | 1;
    let mut changes = Vec::new();
    let mut line: Option<Line> = None;
    let deadline = Instant::now() + Duration::from_secs(60);
    let mut n = 0;
    while n < OPS {
        assert!(Instant::now() < deadline, "{user} could not finish");
        let Some(conn) = line.as_mut() else {
            let current = *addr.lock().unwrap();
            line = Line::connect(current, &user).ok();
            if line.is_none() {
                std::thread::sleep(Duration::from_millis(20));
            }
            continue;
        };
        let account = (next(&mut rng) % 2) as usize;
        let amount = (next(&mut rng) % 1000 + 1) as i64;
        let deposit = next(&mut rng) % 5 < 3;
        let verb = if deposit { "deposit" } else { "withdraw" };
        let delta = if deposit { amount } else { -amount };
        n += 1;
        match conn.send(&format!("{verb} {} {amount}", ACCOUNTS[account])) {
            Ok(answer) => {
                let applied = if deposit {
                    format!("Successfully deposits {amount} into {}.", ACCOUNTS[account])
                } else {
                    format!("Successfully withdraws {amount} from {}.", ACCOUNTS[account])
                };
                if answer == applied {
                    changes.push(Change { account, delta, acknowledged: true });
                } else {
                    assert!(!deposit && answer == "Withdraw excess money from accounts.", "{user}: {answer}");
                }
                done.fetch_add(1, Ordering::Relaxed);
            }
            Err(_) => {
                changes.push(Change { account, delta, acknowledged: false });
                line = None;
            }
        }
    }
    changes
}

fn start(db: &Path) -> BbsdProcess {
    BbsdProcess::start(
        Path::new(env!("CARGO_BIN_EXE_bbsd")),
        db,
        &["--login-rate-ip", "100000/1", "--login-rate-account", "1000/1", "--max-connections-per-ip", "500"],
    )
}

#[test]
fn concurrent_changes_survive_kill_9_with_nothing_lost_or_created() {
    let users: Vec<String> = (0..CONNECTIONS).map(|i| format!("payer{i:02}")).collect();
    let (_dir, db) = database_with_users(&users, PASSWORD);
    let started = Instant::now();
    let mut server = start(&db);
    let addr = Arc::new(Mutex::new(server.addr));
    let done = Arc::new(AtomicUsize::new(0));
    let workers: Vec<_> = users
        .iter()
        .enumerate()
        .map(|(i, user)| {
            let (user, addr, done) = (user.clone(), Arc::clone(&addr), Arc::clone(&done));
            std::thread::spawn(move || worker(user, 0x9E37_79B9_7F4A_7C15 ^ (i as u64 * 7919), addr, done))
        })
        .collect();
    let total = CONNECTIONS * OPS;
    for kill_at in [total / 3, 2 * total / 3] {
        let deadline = Instant::now() + Duration::from_secs(60);
        while done.load(Ordering::Relaxed) < kill_at {
            assert!(Instant::now() < deadline, "the load stalled at {}", done.load(Ordering::Relaxed));
            std::thread::sleep(Duration::from_millis(5));
        }
        server.kill_9();
        server = start(&db);
        *addr.lock().unwrap() = server.addr;
    }
    let changes: Vec<Vec<Change>> = workers.into_iter().map(|w| w.join().expect("worker")).collect();
    server.kill_9();

    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    let (ledger, accounts) = runtime.block_on(async {
        let store = SqliteStore::open(SqliteOptions::new(&db)).expect("open database");
        (store.ledger().await.unwrap(), store.accounts().await.unwrap())
    });
    let mut in_flight = 0;
    for (user, asked) in users.iter().zip(&changes) {
        let recorded: Vec<(usize, i64)> = ledger
            .iter()
            .filter(|row| row.user == *user)
            .map(|row| (ACCOUNTS.iter().position(|a| *a == row.account).unwrap(), row.delta))
            .collect();
        // The ledger is the acknowledged changes in order, with perhaps some
        // of those whose answer was lost in a kill.
        let mut asked = asked.iter().peekable();
        for &(account, delta) in &recorded {
            loop {
                let change = asked.next().unwrap_or_else(|| panic!("{user}: unasked change {delta} in the ledger"));
                if change.account == account && change.delta == delta {
                    in_flight += usize::from(!change.acknowledged);
                    break;
                }
                assert!(!change.acknowledged, "{user}: acknowledged change {change:?} missing from the ledger");
            }
        }
        for change in asked {
            assert!(!change.acknowledged, "{user}: acknowledged change {change:?} missing from the ledger");
        }
    }
    for account in &accounts {
        let sum: i64 = ledger.iter().filter(|row| row.account == account.name).map(|row| row.delta).sum();
        assert_eq!(account.balance, sum, "{}", account.name);
        assert!(account.balance >= 0);
    }
    let acknowledged: usize = changes.iter().flatten().filter(|c| c.acknowledged).count();
    assert!(acknowledged > total / 2, "most changes went through: {acknowledged}");
    eprintln!(
        "{acknowledged} acknowledged changes, {} in the ledger ({in_flight} whose answer a kill lost), {:?}",
        ledger.len(),
        started.elapsed()
    );
}
