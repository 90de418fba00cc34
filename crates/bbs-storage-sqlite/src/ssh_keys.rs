//! [`KeyStore`] on SQLite: the `ssh_keys` table. Writes go through the
//! writer thread (answered after the commit), reads through the pool; the
//! cache is not involved (keys are read once per SSH login).

use bbs_storage::{AddKey, KeyStore, NewSshKey, Result, SshKeyRow};
use rusqlite::{params, OptionalExtension};

use crate::SqliteStore;

impl KeyStore for SqliteStore {
    async fn add_ssh_key(&self, user: &str, key: NewSshKey, max: usize) -> Result<AddKey> {
        let user = user.to_owned();
        self.write(move |c| {
            let known: Option<i64> = c
                .prepare_cached("SELECT id FROM ssh_keys WHERE user = ?1 AND fingerprint = ?2")?
                .query_row(params![user, key.fingerprint], |r| r.get(0))
                .optional()?;
            if known.is_some() {
                return Ok(AddKey::AlreadyAdded);
            }
            let count: i64 =
                c.prepare_cached("SELECT count(*) FROM ssh_keys WHERE user = ?1")?.query_row([&user], |r| r.get(0))?;
            if usize::try_from(count).unwrap_or(usize::MAX) >= max {
                return Ok(AddKey::TooMany);
            }
            c.prepare_cached(
                "INSERT INTO ssh_keys (user, public_key, fingerprint, comment, added_at) VALUES (?1, ?2, ?3, ?4, ?5)",
            )?
            .execute(params![user, key.public_key, key.fingerprint, key.comment, key.added_at])?;
            Ok(AddKey::Added)
        })
        .await
    }

    async fn ssh_keys(&self, user: &str) -> Result<Vec<SshKeyRow>> {
        let user = user.to_owned();
        self.read(move |c| {
            let mut statement = c.prepare_cached(
                "SELECT public_key, fingerprint, comment, added_at FROM ssh_keys WHERE user = ?1 ORDER BY id",
            )?;
            let rows = statement.query_map([&user], |r| {
                Ok(SshKeyRow { public_key: r.get(0)?, fingerprint: r.get(1)?, comment: r.get(2)?, added_at: r.get(3)? })
            })?;
            rows.collect()
        })
        .await
    }

    async fn delete_ssh_key(&self, user: &str, index: u64) -> Result<bool> {
        let user = user.to_owned();
        let Some(offset) = index.checked_sub(1).and_then(|o| i64::try_from(o).ok()) else {
            return Ok(false);
        };
        self.write(move |c| {
            let n = c
                .prepare_cached(
                    "DELETE FROM ssh_keys WHERE id =
                        (SELECT id FROM ssh_keys WHERE user = ?1 ORDER BY id LIMIT 1 OFFSET ?2)",
                )?
                .execute(params![user, offset])?;
            Ok(n == 1)
        })
        .await
    }
}
