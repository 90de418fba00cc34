//! Online backups of a board's database, and their restore.
//!
//! A backup is taken with `VACUUM INTO` from a connection of its own: it
//! reads one consistent snapshot (SQLite's WAL lets the running server go
//! on writing meanwhile) and writes a compact copy. A restore checks the
//! copy first (`PRAGMA integrity_check` and the schema version) and only
//! then replaces the database, by a rename, so a refused or interrupted
//! restore leaves the old database as it was.

use std::path::{Path, PathBuf};
use std::time::Duration;

use rusqlite::{Connection, OpenFlags};

use crate::schema;

/// How long a backup waits for the server's writer to let it read.
const BUSY_WAIT: Duration = Duration::from_secs(30);

/// Why a backup or restore did not happen.
#[derive(Debug, thiserror::Error)]
pub enum BackupError {
    #[error("{path}: {source}")]
    Sqlite { path: PathBuf, source: rusqlite::Error },
    #[error("{path}: {source}")]
    Io { path: PathBuf, source: std::io::Error },
    #[error("{0} already exists; choose a new file for the backup")]
    Exists(PathBuf),
    #[error("{path} is not a usable backup: {why}; nothing was replaced")]
    Damaged { path: PathBuf, why: String },
}

fn sqlite(path: &Path) -> impl FnOnce(rusqlite::Error) -> BackupError + '_ {
    move |source| BackupError::Sqlite { path: path.to_owned(), source }
}

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> BackupError + '_ {
    move |source| BackupError::Io { path: path.to_owned(), source }
}

/// What a checked backup holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BackupInfo {
    pub schema_version: usize,
}

/// Copies the database at `db` (which a server may be writing) into the
/// new file `to`, then checks the copy.
pub fn backup(db: &Path, to: &Path) -> Result<BackupInfo, BackupError> {
    if to.exists() {
        return Err(BackupError::Exists(to.to_owned()));
    }
    if !db.exists() {
        return Err(io(db)(std::io::Error::new(std::io::ErrorKind::NotFound, "no such database")));
    }
    let conn = Connection::open_with_flags(db, OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX)
        .map_err(sqlite(db))?;
    conn.busy_timeout(BUSY_WAIT).map_err(sqlite(db))?;
    let target = to.to_str().ok_or_else(|| io(to)(std::io::Error::other("the path is not UTF-8")))?;
    conn.execute("VACUUM INTO ?1", [target]).map_err(sqlite(db))?;
    check(to)
}

/// Checks that `path` is a whole database of a schema this build knows.
pub fn check(path: &Path) -> Result<BackupInfo, BackupError> {
    let damaged = |why: String| BackupError::Damaged { path: path.to_owned(), why };
    if !path.is_file() {
        return Err(damaged("no such file".to_owned()));
    }
    let conn = Connection::open_with_flags(path, OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX)
        .map_err(|e| damaged(e.to_string()))?;
    let verdict: Vec<String> = conn
        .prepare("PRAGMA integrity_check")
        .and_then(|mut s| s.query_map([], |r| r.get(0))?.collect())
        .map_err(|e| damaged(e.to_string()))?;
    if verdict != ["ok"] {
        return Err(damaged(format!("integrity check failed: {}", verdict.join("; "))));
    }
    let version: usize = conn.query_row("PRAGMA user_version", [], |r| r.get(0)).map_err(|e| damaged(e.to_string()))?;
    let known = schema::version();
    if version == 0 {
        return Err(damaged("it holds no board (schema version 0)".to_owned()));
    }
    if version > known {
        return Err(damaged(format!("schema version {version} is newer than this bbsd's ({known})")));
    }
    Ok(BackupInfo { schema_version: version })
}

/// Replaces the database at `db` with the backup `from`, after checking
/// it. The server must be stopped. A schema older than this build's is
/// upgraded when the server next starts.
pub fn restore(from: &Path, db: &Path) -> Result<BackupInfo, BackupError> {
    let info = check(from)?;
    let mut staging = db.as_os_str().to_owned();
    staging.push(".restoring");
    let staging = PathBuf::from(staging);
    std::fs::copy(from, &staging).map_err(io(&staging))?;
    std::fs::File::open(&staging).and_then(|f| f.sync_all()).map_err(io(&staging))?;
    // The old database's write-ahead log belongs to the old file.
    for suffix in ["-wal", "-shm"] {
        let mut side = db.as_os_str().to_owned();
        side.push(suffix);
        match std::fs::remove_file(PathBuf::from(side)) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => return Err(io(db)(e)),
            _ => {}
        }
    }
    std::fs::rename(&staging, db).map_err(io(db))?;
    Ok(info)
}

/// Writes every table of the database at `db` (which a server may be
/// writing) to `out` as one JSON document, from one consistent snapshot:
/// `{"schema_version": N, "tables": {"users": [{"id": 1, …}, …], …}}`.
/// Text and numbers are JSON strings and numbers; a blob is `{"hex": "…"}`.
/// Password hashes are included: the export is a full copy of the board.
pub fn export_json(db: &Path, out: &mut impl std::io::Write) -> Result<(), BackupError> {
    let conn = Connection::open_with_flags(db, OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX)
        .map_err(sqlite(db))?;
    conn.busy_timeout(BUSY_WAIT).map_err(sqlite(db))?;
    let write = |out: &mut dyn std::io::Write, bytes: &[u8]| out.write_all(bytes).map_err(io(Path::new("(output)")));
    let json = |e: serde_json::Error| io(Path::new("(output)"))(e.into());
    // One read transaction: every table from the same moment.
    conn.execute_batch("BEGIN").map_err(sqlite(db))?;
    let version: usize = conn.query_row("PRAGMA user_version", [], |r| r.get(0)).map_err(sqlite(db))?;
    let tables: Vec<String> = conn
        .prepare(
            "SELECT name FROM pragma_table_list WHERE schema = 'main' AND type = 'table' \
             AND name NOT LIKE 'sqlite_%' ORDER BY name",
        )
        .and_then(|mut s| s.query_map([], |r| r.get(0))?.collect())
        .map_err(sqlite(db))?;
    write(out, format!("{{\"schema_version\":{version},\"tables\":{{").as_bytes())?;
    for (t, table) in tables.iter().enumerate() {
        if t > 0 {
            write(out, b",")?;
        }
        write(out, serde_json::to_string(table).map_err(json)?.as_bytes())?;
        write(out, b":[")?;
        let mut statement =
            conn.prepare(&format!("SELECT * FROM \"{}\"", table.replace('"', "\"\""))).map_err(sqlite(db))?;
        let columns: Vec<String> = statement.column_names().into_iter().map(str::to_owned).collect();
        let mut rows = statement.query([]).map_err(sqlite(db))?;
        let mut first = true;
        while let Some(row) = rows.next().map_err(sqlite(db))? {
            let mut object = serde_json::Map::new();
            for (i, column) in columns.iter().enumerate() {
                let value = match row.get_ref(i).map_err(sqlite(db))? {
                    rusqlite::types::ValueRef::Null => serde_json::Value::Null,
                    rusqlite::types::ValueRef::Integer(n) => n.into(),
                    rusqlite::types::ValueRef::Real(x) => x.into(),
                    rusqlite::types::ValueRef::Text(t) => String::from_utf8_lossy(t).into_owned().into(),
                    rusqlite::types::ValueRef::Blob(b) => {
                        let hex: String = b.iter().map(|byte| format!("{byte:02x}")).collect();
                        serde_json::json!({ "hex": hex })
                    }
                };
                object.insert(column.clone(), value);
            }
            if !first {
                write(out, b",")?;
            }
            first = false;
            write(out, serde_json::to_string(&object).map_err(json)?.as_bytes())?;
        }
        write(out, b"]")?;
    }
    write(out, b"}}\n")?;
    Ok(())
}
