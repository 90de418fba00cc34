//! Running `bbsd` as a service: the systemd unit in contrib/ is valid, the
//! server tells systemd when it is ready, and `bbsd check` answers health
//! checks.

use std::os::unix::net::UnixDatagram;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use bbs_testkit::BbsdProcess;

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn bbsd() -> &'static Path {
    Path::new(env!("CARGO_BIN_EXE_bbsd"))
}

#[test]
fn the_systemd_unit_passes_systemd_analyze_verify() {
    let _ = Command::new("sh").arg(repo().join("scripts/ensure-systemd-analyze.sh")).status();
    if !Command::new("systemd-analyze").arg("--version").output().is_ok_and(|o| o.status.success()) {
        eprintln!("SKIPPED: systemd-analyze cannot run here (scripts/ensure-systemd-analyze.sh installs it)");
        return;
    }
    let unit = std::fs::read_to_string(repo().join("contrib/bbsd.service")).unwrap();
    assert!(unit.contains("\nType=notify\n") && unit.contains("\nProtectSystem=strict\n"));
    // verify checks that ExecStart's program exists: point it at this build.
    let dir = tempfile::tempdir().unwrap();
    let copy = dir.path().join("bbsd.service");
    std::fs::write(&copy, unit.replace("/usr/local/bin/bbsd", bbsd().to_str().unwrap())).unwrap();
    let out = Command::new("systemd-analyze").arg("verify").arg(&copy).output().unwrap();
    let said = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success() && !said.contains("bbsd.service"), "systemd-analyze verify: {said}");
}

#[test]
fn the_server_tells_systemd_it_is_ready_once_listening() {
    let dir = tempfile::tempdir().unwrap();
    let socket_path = dir.path().join("notify");
    let systemd = UnixDatagram::bind(&socket_path).unwrap();
    systemd.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    let server = BbsdProcess::start_with_env(
        bbsd(),
        &dir.path().join("bbs.db"),
        &[],
        &[("NOTIFY_SOCKET", socket_path.to_str().unwrap())],
    );
    let mut buf = [0u8; 256];
    let n = systemd.recv(&mut buf).expect("a notification");
    assert_eq!(&buf[..n], b"READY=1");
    bbs_testkit::PlainClient::connect(server.addr);
}

#[test]
fn bbsd_check_exits_0_only_when_the_server_answers() {
    let dir = tempfile::tempdir().unwrap();
    let server = BbsdProcess::start(bbsd(), &dir.path().join("bbs.db"), &[]);
    let addr = server.addr.to_string();
    let out = Command::new(bbsd()).args(["check", &addr]).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(String::from_utf8_lossy(&out.stdout), format!("{addr} answers.\n"));

    server.kill_9();
    let out = Command::new(bbsd()).args(["check", &addr, "--timeout", "2"]).output().unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains(&format!("{addr} does not answer")));
}

#[test]
fn log_format_json_writes_one_json_object_a_line() {
    let dir = tempfile::tempdir().unwrap();
    let server = BbsdProcess::start(bbsd(), &dir.path().join("bbs.db"), &["--log-format", "json"]);
    bbs_testkit::PlainClient::connect(server.addr);
    let line = server.expect_log("New connection from");
    let entry: serde_json::Value = serde_json::from_str(&line).unwrap_or_else(|e| panic!("{e}: {line}"));
    assert_eq!(entry["level"], "INFO");
    assert!(entry["fields"]["message"].as_str().unwrap().starts_with("New connection from 127.0.0.1:"), "{line}");
    assert!(entry["timestamp"].is_string(), "{line}");
}
