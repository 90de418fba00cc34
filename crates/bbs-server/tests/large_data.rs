//! Boards bigger than the server wants to hold: `list-post` of a board with
//! more posts than the store lists whole is written in pieces as the peer
//! reads, byte for byte the course's table, with bounded memory.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::Path;
use std::time::{Duration, Instant};

use bbs_protocol::table::format_table;
use bbs_protocol::{PLAIN_GREETING, PROMPT};
use bbs_storage::{NewPost, NewUser};
use bbs_storage_sqlite::bulk::BulkLoader;
use bbs_testkit::{BbsdProcess, TestServer};
use chrono::TimeZone;

const CREATED_AT: i64 = 1_700_000_000;

/// Fills a database with one board, "big", of `n` posts; post `cjk` has a
/// title of wide characters that is the widest of its column.
fn seed(db: &Path, n: usize, cjk: usize) -> Vec<Vec<String>> {
    let mut loader = BulkLoader::open(db).unwrap();
    loader.users([NewUser { name: "u".into(), email: "e".into(), password_hash: "h".into() }]).unwrap();
    loader.boards([("big", "u")]).unwrap();
    let title = |i: usize| {
        if i == cjk {
            format!("公告公告公告公告公告公告 {i}")
        } else {
            format!("Post number {i}")
        }
    };
    let ids = loader
        .posts((0..n).map(|i| NewPost {
            board: "big".into(),
            author: if i % 7 == 0 { "writer".into() } else { "u".into() },
            title: title(i),
            content: "c".into(),
            created_at: CREATED_AT,
        }))
        .unwrap();
    loader.finish().unwrap();
    let date = chrono::Local.timestamp_opt(CREATED_AT, 0).unwrap().format("%m/%d").to_string();
    ids.into_iter()
        .enumerate()
        .map(|(i, id)| {
            let author = if i % 7 == 0 { "writer" } else { "u" };
            vec![id.unwrap().to_string(), title(i), author.to_owned(), date.clone()]
        })
        .collect()
}

fn expected_table(rows: &[Vec<String>]) -> String {
    format_table(&["S/N", "Title", "Author", "Date"], rows)
}

fn resident_kib(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    let line = status.lines().find(|l| l.starts_with("VmRSS:")).unwrap();
    line.split_whitespace().nth(1).unwrap().parse().unwrap()
}

/// 200,000 posts, a reader that takes 16 KiB at a time with a pause in
/// between: the server's resident memory grows by far less than the
/// answer (about 11 MB of text; holding it, as the whole-answer path does,
/// takes several times that in rows and text), and the bytes are exact.
#[test]
fn list_post_of_a_huge_board_streams_to_a_slow_reader_in_bounded_memory() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("bbs.db");
    let rows = seed(&db, 200_000, 123_456);
    let expected = format!("{}\r\n{PROMPT}", expected_table(&rows).replace('\n', "\r\n"));
    // The allocator told to hand freed memory back at once and to commit
    // only what it uses, so that resident memory follows live allocations.
    let server = BbsdProcess::start_with_env(
        Path::new(env!("CARGO_BIN_EXE_bbsd")),
        &db,
        &["--max-pending-output", "65536"],
        &[("MIMALLOC_PURGE_DELAY", "0"), ("MIMALLOC_ARENA_EAGER_COMMIT", "0")],
    );
    let pid = server.child.id();

    let mut stream = TcpStream::connect(server.addr).unwrap();
    stream.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
    let mut greeting = vec![0; PLAIN_GREETING.len()];
    stream.read_exact(&mut greeting).unwrap();
    // Warm up what every answer needs before measuring the start.
    stream.write_all(b"list-board\r\n").unwrap();
    let mut warm = Vec::new();
    while !warm.ends_with(PROMPT.as_bytes()) {
        let mut buf = [0; 4096];
        let n = stream.read(&mut buf).unwrap();
        assert!(n > 0);
        warm.extend_from_slice(&buf[..n]);
    }
    let before = resident_kib(pid);
    let mut peak = before;
    stream.write_all(b"list-post big\r\n").unwrap();
    let mut got = Vec::with_capacity(expected.len());
    let deadline = Instant::now() + Duration::from_secs(60);
    let mut buf = vec![0; 16 * 1024];
    while got.len() < expected.len() && Instant::now() < deadline {
        let n = stream.read(&mut buf).unwrap();
        assert!(n > 0, "server closed after {} bytes", got.len());
        got.extend_from_slice(&buf[..n]);
        let now = resident_kib(pid);
        peak = peak.max(now);
        // A slow reader: the server must wait for it, not pile up output.
        std::thread::sleep(Duration::from_micros(500));
    }
    assert!(
        got == expected.as_bytes(),
        "answer differs from the course's table ({} bytes, want {})",
        got.len(),
        expected.len()
    );
    let growth_kib = peak - before;
    eprintln!(
        "answer {} KiB; server resident {before} KiB before, peak growth {growth_kib} KiB",
        expected.len() / 1024
    );
    assert!(growth_kib < 4 * 1024, "server grew by {growth_kib} KiB while streaming {} KiB", expected.len() / 1024);
}

/// A listing given in pieces is the same text in both dialects as the one
/// table of all rows, wide characters included.
#[test]
fn a_listing_in_pieces_is_byte_exact_in_both_dialects() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("bbs.db");
    let rows = seed(&db, bbs_storage_sqlite::WHOLE_LISTING * 3 + 17, 2021);
    let expected = expected_table(&rows);
    let server = TestServer::start_on(&db, bbs_server::Config::default());
    assert_eq!(server.plain().send("list-post big"), expected);
    let mut client = server.client();
    assert_eq!(client.call("list-post big").text, expected);
    // The connection goes on normally after it.
    assert_eq!(client.call("list-post nope").text, bbs_protocol::answer::NO_SUCH_BOARD);
}
