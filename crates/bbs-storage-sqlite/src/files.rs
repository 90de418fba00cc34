//! The file area's records in SQLite (table `files`, schema migration
//! "Files over UDP").

use bbs_storage::{FileRow, FileStore, FileUsage, Result};
use rusqlite::{params, OptionalExtension};

use crate::SqliteStore;

impl FileStore for SqliteStore {
    async fn add_file(&self, file: FileRow) -> Result<bool> {
        self.write(move |c| {
            let added = c
                .prepare_cached(
                    "INSERT INTO files (name, owner, size, sha256, created_at) VALUES (?1, ?2, ?3, ?4, ?5)
                     ON CONFLICT (name) DO NOTHING",
                )?
                .execute(params![file.name, file.owner, file.size as i64, file.sha256, file.created_at])?;
            Ok(added == 1)
        })
        .await
    }

    async fn file(&self, name: &str) -> Result<Option<FileRow>> {
        let name = name.to_owned();
        self.read(move |c| {
            c.prepare_cached("SELECT name, owner, size, sha256, created_at FROM files WHERE name = ?1")?
                .query_row([name], |r| {
                    Ok(FileRow {
                        name: r.get(0)?,
                        owner: r.get(1)?,
                        size: r.get::<_, i64>(2)? as u64,
                        sha256: r.get(3)?,
                        created_at: r.get(4)?,
                    })
                })
                .optional()
        })
        .await
    }

    async fn file_names(&self) -> Result<Vec<String>> {
        // TEXT compares with memcmp: byte order.
        self.read(|c| c.prepare_cached("SELECT name FROM files ORDER BY name")?.query_map([], |r| r.get(0))?.collect())
            .await
    }

    async fn file_usage(&self, owner: &str) -> Result<FileUsage> {
        let owner = owner.to_owned();
        self.read(move |c| {
            c.prepare_cached(
                "SELECT COALESCE(SUM(CASE WHEN owner = ?1 THEN size END), 0), COALESCE(SUM(size), 0) FROM files",
            )?
            .query_row([owner], |r| {
                Ok(FileUsage { user: r.get::<_, i64>(0)? as u64, total: r.get::<_, i64>(1)? as u64 })
            })
        })
        .await
    }

    async fn remove_file(&self, name: &str) -> Result<()> {
        let name = name.to_owned();
        self.write(move |c| {
            c.prepare_cached("DELETE FROM files WHERE name = ?1")?.execute([name])?;
            Ok(())
        })
        .await
    }
}
