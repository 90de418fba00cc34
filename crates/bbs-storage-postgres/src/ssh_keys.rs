//! Users' SSH public keys on PostgreSQL.

use bbs_storage::{AddKey, KeyStore, NewSshKey, Result, SshKeyRow};

use crate::{commit, lock_user, signed, unsigned, OrBackend, PostgresStore};

impl KeyStore for PostgresStore {
    async fn add_ssh_key(&self, user: &str, key: NewSshKey, max: usize) -> Result<AddKey> {
        let mut c = self.client().await?;
        let tx = c.transaction().await.or_backend()?;
        lock_user(&tx, "ssh_keys", user).await?;
        let known = tx
            .query_opt("SELECT 1 FROM ssh_keys WHERE username = $1 AND fingerprint = $2", &[&user, &key.fingerprint])
            .await
            .or_backend()?;
        if known.is_some() {
            return Ok(AddKey::AlreadyAdded);
        }
        let count: i64 =
            tx.query_one("SELECT count(*) FROM ssh_keys WHERE username = $1", &[&user]).await.or_backend()?.get(0);
        if unsigned(count) >= max as u64 {
            return Ok(AddKey::TooMany);
        }
        tx.execute(
            "INSERT INTO ssh_keys (username, public_key, fingerprint, comment, added_at) VALUES ($1, $2, $3, $4, $5)",
            &[&user, &key.public_key, &key.fingerprint, &key.comment, &key.added_at],
        )
        .await
        .or_backend()?;
        commit(tx).await?;
        Ok(AddKey::Added)
    }

    async fn ssh_keys(&self, user: &str) -> Result<Vec<SshKeyRow>> {
        let c = self.client().await?;
        let rows = c
            .query(
                "SELECT public_key, fingerprint, comment, added_at FROM ssh_keys WHERE username = $1 ORDER BY id",
                &[&user],
            )
            .await
            .or_backend()?;
        Ok(rows
            .iter()
            .map(|r| SshKeyRow { public_key: r.get(0), fingerprint: r.get(1), comment: r.get(2), added_at: r.get(3) })
            .collect())
    }

    async fn delete_ssh_key(&self, user: &str, index: u64) -> Result<bool> {
        let Some(offset) = index.checked_sub(1) else { return Ok(false) };
        let c = self.client().await?;
        let n = c
            .execute(
                "DELETE FROM ssh_keys WHERE id =
                    (SELECT id FROM ssh_keys WHERE username = $1 ORDER BY id LIMIT 1 OFFSET $2)",
                &[&user, &signed(offset)],
            )
            .await
            .or_backend()?;
        Ok(n == 1)
    }
}
