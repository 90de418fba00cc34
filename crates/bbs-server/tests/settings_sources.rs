//! Every `bbsd` flag may also come from a `BBSD_…` environment variable or
//! a TOML file (`--config`); a flag beats the environment, which beats the
//! file, which beats the default. Shown with the real binary.

use std::path::Path;
use std::process::{Command, Output};

fn bbsd(args: &[&str], env: &[(&str, &str)]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_bbsd")).args(args).envs(env.iter().copied()).output().expect("run bbsd")
}

/// The `--print-config` line for `name`.
fn setting<'a>(printed: &'a str, name: &str) -> &'a str {
    printed.lines().find(|l| l.starts_with(&format!("{name} = "))).unwrap_or_else(|| panic!("no {name} in {printed}"))
}

fn write(dir: &Path, text: &str) -> String {
    let path = dir.join("bbsd.toml");
    std::fs::write(&path, text).unwrap();
    path.to_str().unwrap().to_owned()
}

#[test]
fn a_flag_beats_the_environment_which_beats_the_file_which_beats_the_default() {
    let dir = tempfile::tempdir().unwrap();
    let file = write(dir.path(), "# limits\nmax-line = 300\nmax_password = 50\nmax-message = 70\nport = 4000\n");
    let out = bbsd(
        &["--config", &file, "--print-config", "--max-line", "400"],
        &[("BBSD_MAX_LINE", "350"), ("BBSD_MAX_PASSWORD", "60")],
    );
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let printed = String::from_utf8(out.stdout).unwrap();
    assert_eq!(setting(&printed, "max-line"), "max-line = 400  # flag");
    assert_eq!(setting(&printed, "max-password"), "max-password = 60  # environment");
    assert_eq!(setting(&printed, "max-message"), "max-message = 70  # file");
    assert_eq!(setting(&printed, "port"), "port = 4000  # file");
    assert_eq!(setting(&printed, "max-mailbox"), "max-mailbox = 1000  # default");
}

#[test]
fn a_setting_from_the_file_is_applied_by_the_running_server() {
    let dir = tempfile::tempdir().unwrap();
    let file = write(dir.path(), "max-line = 40\n");
    let server = bbs_testkit::BbsdProcess::start(
        Path::new(env!("CARGO_BIN_EXE_bbsd")),
        &dir.path().join("bbs.db"),
        &["--config", &file],
    );
    let mut client = bbs_testkit::PlainClient::connect(server.addr);
    let answer = client.send(&"x".repeat(60));
    assert!(answer.contains("40"), "the file's max-line applies: {answer}");
}

#[test]
fn an_unknown_key_is_refused_naming_the_key_and_its_line() {
    let dir = tempfile::tempdir().unwrap();
    let file = write(dir.path(), "max-line = 300\n\nmax-lines = 3\n");
    let out = bbsd(&["--config", &file, "0"], &[]);
    assert!(!out.status.success());
    let error = String::from_utf8_lossy(&out.stderr);
    assert!(error.contains(&format!("{file}:3: unknown setting `max-lines`")), "{error}");
}

#[test]
fn a_malformed_value_from_the_environment_is_refused_like_a_flag() {
    let out = bbsd(&["--print-config", "0"], &[("BBSD_MAX_LINE", "lots")]);
    assert!(!out.status.success());
    let error = String::from_utf8_lossy(&out.stderr);
    assert!(error.contains("lots") && error.contains("max-line"), "{error}");
}
