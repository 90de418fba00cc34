//! The generator itself works: a short run against the real server must
//! measure something and see no unexpected answer. (Figures come from
//! release runs, see docs/PERFORMANCE.md; this only proves the instrument.)

use std::process::Command;
use std::time::Duration;

use bbs_server::{Config, Rate};

use bbs_testkit::TestServer;

/// Runs `bbs-bench` and returns its standard output, failing on a non-zero
/// exit (the bench exits non-zero on any error or an empty measurement).
fn bench(args: &[&str]) -> String {
    let out = Command::new(env!("CARGO_BIN_EXE_bbs-bench")).args(args).output().expect("run bbs-bench");
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(out.status.success(), "bbs-bench {args:?} failed:\n{stdout}\n{}", String::from_utf8_lossy(&out.stderr));
    stdout
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
    let report = bench(&[
        "mix",
        "--addr",
        &addr,
        "-c",
        "4",
        "--users",
        "2",
        "--read-boards",
        "2",
        "--posts-per-board",
        "3",
        "--warmup",
        "0.2",
        "--duration",
        "1",
    ]);
    let (count, errors) = all_row(&report);
    assert!(count > 0, "{report}");
    assert_eq!(errors, 0, "{report}");
    for command in ["read", "list-post", "list-board", "create-post", "comment"] {
        assert!(report.lines().any(|l| l.starts_with(command)), "no {command} row in:\n{report}");
    }
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
