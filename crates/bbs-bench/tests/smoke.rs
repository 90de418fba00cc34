//! The generator itself works: a short run against the real server must
//! measure something and see no unexpected answer. (Figures come from
//! release runs, see docs/PERFORMANCE.md; this only proves the instrument.)

use std::path::Path;
use std::process::Command;
use std::time::Duration;

use bbs_server::{Config, Rate};

use bbs_testkit::TestServer;

/// Runs `bbs-bench` and returns its standard output, failing on a non-zero
/// exit (the bench exits non-zero on any error or an empty measurement).
fn bench(args: &[&str]) -> String {
    bench_in(Path::new("."), args)
}

/// [`bench`] with `dir` as the working directory (where the bench puts
/// the databases of the servers it starts).
fn bench_in(dir: &Path, args: &[&str]) -> String {
    let out =
        Command::new(env!("CARGO_BIN_EXE_bbs-bench")).current_dir(dir).args(args).output().expect("run bbs-bench");
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(out.status.success(), "bbs-bench {args:?} failed:\n{stdout}\n{}", String::from_utf8_lossy(&out.stderr));
    stdout
}

/// `mix --addr` followed by `addr_and_more`, a load small enough for a
/// test (4 sessions of 2 users, 2 boards of 3 posts, 0.2 s of warm-up),
/// then `rest`.
fn small_mix<'a>(addr_and_more: &[&'a str], rest: &[&'a str]) -> Vec<&'a str> {
    let load = ["-c", "4", "--users", "2", "--read-boards", "2", "--posts-per-board", "3", "--warmup", "0.2"];
    [&["mix", "--addr"][..], addr_and_more, &load, rest].concat()
}

/// The count and error columns of the `ALL` row.
fn all_row(report: &str) -> (u64, u64) {
    let row = report.lines().rev().find(|l| l.starts_with("ALL")).expect("an ALL row");
    let cells: Vec<&str> = row.split_whitespace().collect();
    (cells[1].parse().unwrap(), cells[cells.len() - 1].parse().unwrap())
}

#[test]
fn mix_against_the_real_server_counts_commands_without_errors() {
    let server = loopback_load_server();
    let addr = server.addr.to_string();
    let report = bench(&small_mix(&[&addr], &["--duration", "1"]));
    let (count, errors) = all_row(&report);
    assert!(count > 0, "{report}");
    assert_eq!(errors, 0, "{report}");
    for command in ["read", "list-post", "list-board", "create-post", "comment"] {
        assert!(report.lines().any(|l| l.starts_with(command)), "no {command} row in:\n{report}");
    }
}

/// `mix --canned --durable-canned` measures both canned servers before the
/// real one, and sets the three figures side by side.
#[test]
fn mix_measures_the_canned_and_durable_canned_servers_in_the_same_run() {
    let server = loopback_load_server();
    let addr = server.addr.to_string();
    // The durable canned server's database goes into the working directory.
    let dir = tempfile::tempdir().unwrap();
    let pid = std::process::id().to_string();
    let report = bench_in(
        dir.path(),
        &small_mix(&[&addr, "--server-pid", &pid, "--canned", "--durable-canned"], &["--duration", "0.5"]),
    );
    for heading in ["== canned server", "== durable canned server", "== bbsd"] {
        let section = report.split(heading).nth(1).unwrap_or_else(|| panic!("no {heading} in:\n{report}"));
        let (count, errors) = all_row(section.split("== ").next().unwrap());
        assert!(count > 0 && errors == 0, "{heading}: {count} commands, {errors} errors in:\n{report}");
    }
    for line in ["server CPU per command, durable canned / canned", "server CPU per command, bbsd / canned"] {
        assert!(report.contains(line), "no {line:?} in:\n{report}");
    }
    assert!(report.contains("beyond the durable canned server's"), "{report}");
    let writer = report.lines().any(|l| l.starts_with("  by server thread") && l.contains("sqlite-writer"));
    assert!(writer, "no writer thread in:\n{report}");
}

/// The server with its per-address limits raised as the bench does for
/// `bbsd` (all load comes from 127.0.0.1; see `LOOPBACK_LOAD_LIMITS`).
fn loopback_load_server() -> TestServer {
    TestServer::start_with(Config {
        max_connections_per_ip: 25_000,
        login_rate_per_ip: Rate::new(1_000_000, Duration::from_secs(1)),
        login_rate_per_account: Rate::new(1_000_000, Duration::from_secs(1)),
        udp_rate_per_ip: Rate::new(100_000_000, Duration::from_secs(1)),
        // The same as the bench's own `LOOPBACK_LOAD_LIMITS`.
        write_rate_per_account: Rate::new(1_000_000, Duration::from_secs(1)),
        write_rate_per_ip: Rate::new(1_000_000, Duration::from_secs(1)),
        register_rate_per_ip: Rate::new(1_000_000, Duration::from_secs(1)),
        comment_rate: Rate::new(1_000_000, Duration::from_secs(1)),
        ..Config::default()
    })
}

#[test]
fn udp_whoami_against_the_real_server_counts_answers_without_errors() {
    let server = loopback_load_server();
    let addr = server.addr.to_string();
    let report = bench(&["udp", "--addr", &addr, "-k", "2", "--warmup", "0.2", "--duration", "0.5"]);
    let (count, errors) = all_row(&report);
    assert!(count > 0, "{report}");
    assert_eq!(errors, 0, "{report}");
}

/// The durable canned server answers a write only once its row is in the
/// database (another connection sees it at once), and stores nothing for
/// a read.
#[test]
fn the_durable_canned_server_stores_each_write_before_its_answer() {
    use std::io::{BufRead, BufReader, Read, Write};

    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("durable.db");
    let mut server = Killed(
        Command::new(env!("CARGO_BIN_EXE_bbs-bench"))
            .args(["canned", "--port", "0", "--durable"])
            .arg(&db)
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .expect("run bbs-bench canned"),
    );
    let mut log = BufReader::new(server.0.stderr.take().unwrap());
    let mut line = String::new();
    log.read_line(&mut line).unwrap();
    let addr = line.split("Listening on ").nth(1).and_then(|rest| rest.split_whitespace().next()).expect(&line);
    let stream = std::net::TcpStream::connect(addr).unwrap();
    let mut answers = BufReader::new(stream.try_clone().unwrap());
    // The greeting ends with a prompt, not a newline.
    let mut greeting = vec![0; bbs_protocol::PLAIN_GREETING.len()];
    answers.read_exact(&mut greeting).unwrap();
    let mut send = |frame: &str| {
        (&stream).write_all(format!("{frame}\n").as_bytes()).unwrap();
        let mut answer = String::new();
        answers.read_line(&mut answer).unwrap();
        answer
    };
    let stored = || {
        let conn = rusqlite::Connection::open(&db).unwrap();
        conn.query_row("SELECT count(*) FROM writes", [], |r| r.get::<_, i64>(0)).unwrap()
    };
    send(bbs_protocol::CLIENT_HELLO);
    assert!(send(r#"{"command":"create-post b --title T --content C"}"#).contains("ok"));
    assert_eq!(stored(), 1);
    assert!(send(r#"{"command":"read 1"}"#).contains("ok"));
    assert_eq!(stored(), 1);
    assert!(send(r#"{"command":"comment 1 Nice"}"#).contains("ok"));
    assert_eq!(stored(), 2);
}

/// A child process killed when the test ends, passed or not.
struct Killed(std::process::Child);

impl Drop for Killed {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}
