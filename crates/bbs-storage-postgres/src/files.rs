//! The file area's records on PostgreSQL.

use bbs_storage::{FileRow, FileStore, FileUsage, Result};

use crate::{signed, unsigned, OrBackend, PostgresStore};

impl FileStore for PostgresStore {
    async fn add_file(&self, file: FileRow) -> Result<bool> {
        let c = self.client().await?;
        let n = c
            .execute(
                "INSERT INTO files (name, owner, size, sha256, created_at) VALUES ($1, $2, $3, $4, $5)
                 ON CONFLICT (name) DO NOTHING",
                &[&file.name, &file.owner, &signed(file.size), &file.sha256, &file.created_at],
            )
            .await
            .or_backend()?;
        Ok(n == 1)
    }

    async fn file(&self, name: &str) -> Result<Option<FileRow>> {
        let c = self.client().await?;
        let row = c
            .query_opt("SELECT name, owner, size, sha256, created_at FROM files WHERE name = $1", &[&name])
            .await
            .or_backend()?;
        Ok(row.map(|r| FileRow {
            name: r.get(0),
            owner: r.get(1),
            size: unsigned(r.get(2)),
            sha256: r.get(3),
            created_at: r.get(4),
        }))
    }

    async fn file_names(&self) -> Result<Vec<String>> {
        let c = self.client().await?;
        // COLLATE "C": by bytes, whatever the database's locale.
        let rows = c.query(r#"SELECT name FROM files ORDER BY name COLLATE "C""#, &[]).await.or_backend()?;
        Ok(rows.iter().map(|r| r.get(0)).collect())
    }

    async fn file_usage(&self, owner: &str) -> Result<FileUsage> {
        let c = self.client().await?;
        let r = c
            .query_one(
                "SELECT COALESCE(SUM(CASE WHEN owner = $1 THEN size END), 0)::BIGINT, COALESCE(SUM(size), 0)::BIGINT
                 FROM files",
                &[&owner],
            )
            .await
            .or_backend()?;
        Ok(FileUsage { user: unsigned(r.get(0)), total: unsigned(r.get(1)) })
    }

    async fn remove_file(&self, name: &str) -> Result<()> {
        let c = self.client().await?;
        c.execute("DELETE FROM files WHERE name = $1", &[&name]).await.or_backend()?;
        Ok(())
    }
}
