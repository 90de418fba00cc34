//! The social area on PostgreSQL: mute mode, waiting messages, the shared
//! accounts with their ledger, and mailboxes.

use bbs_storage::{
    AccountRow, BalanceChange, LedgerRow, Mail, MailSummary, NewMail, Result, SocialStore, Timestamp, WaitingMessage,
};
use deadpool_postgres::GenericClient;

use crate::{commit, lock_user, signed, unsigned, OrBackend, PostgresStore};

/// The row id of mail number `number` (1-based, oldest first) of `user`.
async fn mail_id(c: &impl GenericClient, user: &str, number: u64) -> Result<Option<i64>> {
    let Some(offset) = number.checked_sub(1) else { return Ok(None) };
    let row = c
        .query_opt("SELECT id FROM mails WHERE recipient = $1 ORDER BY id LIMIT 1 OFFSET $2", &[&user, &signed(offset)])
        .await
        .or_backend()?;
    Ok(row.map(|r| r.get(0)))
}

impl SocialStore for PostgresStore {
    async fn set_muted(&self, user: &str, muted: bool) -> Result<bool> {
        let sql = if muted {
            "INSERT INTO mutes (name) VALUES ($1) ON CONFLICT (name) DO NOTHING"
        } else {
            "DELETE FROM mutes WHERE name = $1"
        };
        let c = self.client().await?;
        Ok(c.execute(sql, &[&user]).await.or_backend()? == 1)
    }

    async fn is_muted(&self, user: &str) -> Result<bool> {
        let c = self.client().await?;
        Ok(c.query_opt("SELECT 1 FROM mutes WHERE name = $1", &[&user]).await.or_backend()?.is_some())
    }

    async fn muted_users(&self) -> Result<Vec<String>> {
        let c = self.client().await?;
        let rows = c.query(r#"SELECT name FROM mutes ORDER BY name COLLATE "C""#, &[]).await.or_backend()?;
        Ok(rows.iter().map(|r| r.get(0)).collect())
    }

    async fn leave_message(&self, to: &str, message: WaitingMessage, max_waiting: usize) -> Result<bool> {
        let mut c = self.client().await?;
        let tx = c.transaction().await.or_backend()?;
        lock_user(&tx, "waiting", to).await?;
        let count: i64 = tx
            .query_one("SELECT count(*) FROM waiting_messages WHERE recipient = $1", &[&to])
            .await
            .or_backend()?
            .get(0);
        if unsigned(count) >= max_waiting as u64 {
            return Ok(false);
        }
        tx.execute(
            "INSERT INTO waiting_messages (recipient, sender, text, sent_at) VALUES ($1, $2, $3, $4)",
            &[&to, &message.from, &message.text, &message.sent_at],
        )
        .await
        .or_backend()?;
        commit(tx).await?;
        Ok(true)
    }

    async fn take_messages(&self, user: &str) -> Result<Vec<WaitingMessage>> {
        let c = self.client().await?;
        let rows = c
            .query("DELETE FROM waiting_messages WHERE recipient = $1 RETURNING id, sender, text, sent_at", &[&user])
            .await
            .or_backend()?;
        let mut messages: Vec<(i64, WaitingMessage)> = rows
            .iter()
            .map(|r| (r.get(0), WaitingMessage { from: r.get(1), text: r.get(2), sent_at: r.get(3) }))
            .collect();
        messages.sort_by_key(|(id, _)| *id);
        Ok(messages.into_iter().map(|(_, m)| m).collect())
    }

    async fn accounts(&self) -> Result<Vec<AccountRow>> {
        let c = self.client().await?;
        let rows = c.query("SELECT name, balance FROM accounts ORDER BY id", &[]).await.or_backend()?;
        Ok(rows.iter().map(|r| AccountRow { name: r.get(0), balance: r.get(1) }).collect())
    }

    async fn change_balance(&self, account: &str, user: &str, delta: i64, at: Timestamp) -> Result<BalanceChange> {
        let mut c = self.client().await?;
        let tx = c.transaction().await.or_backend()?;
        // The row lock makes concurrent changes of one account wait for
        // each other: none reads a balance another is about to replace.
        let row = tx
            .query_opt("SELECT id, balance FROM accounts WHERE name = $1 FOR UPDATE", &[&account])
            .await
            .or_backend()?;
        let Some(row) = row else { return Ok(BalanceChange::NoSuchAccount) };
        let (id, balance): (i64, i64) = (row.get(0), row.get(1));
        let balance = match balance.checked_add(delta) {
            Some(b) if b >= 0 => b,
            Some(_) => return Ok(BalanceChange::Insufficient),
            None if delta > 0 => return Ok(BalanceChange::Overflow),
            None => return Ok(BalanceChange::Insufficient),
        };
        tx.execute("UPDATE accounts SET balance = $2 WHERE id = $1", &[&id, &balance]).await.or_backend()?;
        tx.execute(
            "INSERT INTO ledger (account_id, username, at, delta) VALUES ($1, $2, $3, $4)",
            &[&id, &user, &at, &delta],
        )
        .await
        .or_backend()?;
        commit(tx).await?;
        Ok(BalanceChange::Done(balance))
    }

    async fn ledger(&self) -> Result<Vec<LedgerRow>> {
        let c = self.client().await?;
        let rows = c
            .query(
                "SELECT l.id, a.name, l.username, l.at, l.delta FROM ledger l JOIN accounts a ON a.id = l.account_id
                 ORDER BY l.id",
                &[],
            )
            .await
            .or_backend()?;
        Ok(rows
            .iter()
            .map(|r| LedgerRow {
                id: unsigned(r.get(0)),
                account: r.get(1),
                user: r.get(2),
                at: r.get(3),
                delta: r.get(4),
            })
            .collect())
    }

    async fn send_mail(&self, mail: NewMail, max_mailbox: usize) -> Result<bool> {
        let mut c = self.client().await?;
        let tx = c.transaction().await.or_backend()?;
        lock_user(&tx, "mailbox", &mail.to).await?;
        let count: i64 =
            tx.query_one("SELECT count(*) FROM mails WHERE recipient = $1", &[&mail.to]).await.or_backend()?.get(0);
        if unsigned(count) >= max_mailbox as u64 {
            return Ok(false);
        }
        tx.execute(
            "INSERT INTO mails (recipient, sender, subject, content, sent_at) VALUES ($1, $2, $3, $4, $5)",
            &[&mail.to, &mail.from, &mail.subject, &mail.content, &mail.sent_at],
        )
        .await
        .or_backend()?;
        commit(tx).await?;
        Ok(true)
    }

    async fn mails(&self, user: &str) -> Result<Vec<MailSummary>> {
        let c = self.client().await?;
        let rows = c
            .query("SELECT subject, sender, sent_at FROM mails WHERE recipient = $1 ORDER BY id", &[&user])
            .await
            .or_backend()?;
        Ok(rows.iter().map(|r| MailSummary { subject: r.get(0), from: r.get(1), sent_at: r.get(2) }).collect())
    }

    async fn read_mail(&self, user: &str, number: u64) -> Result<Option<Mail>> {
        let mut c = self.client().await?;
        let tx = c.transaction().await.or_backend()?;
        let Some(id) = mail_id(&tx, user, number).await? else { return Ok(None) };
        let row = tx
            .query_opt(
                "UPDATE mails SET unread = FALSE WHERE id = $1 RETURNING subject, sender, content, sent_at",
                &[&id],
            )
            .await
            .or_backend()?;
        commit(tx).await?;
        Ok(row.map(|r| Mail { subject: r.get(0), from: r.get(1), content: r.get(2), sent_at: r.get(3) }))
    }

    async fn delete_mail(&self, user: &str, number: u64) -> Result<bool> {
        let mut c = self.client().await?;
        let tx = c.transaction().await.or_backend()?;
        let Some(id) = mail_id(&tx, user, number).await? else { return Ok(false) };
        let n = tx.execute("DELETE FROM mails WHERE id = $1", &[&id]).await.or_backend()?;
        commit(tx).await?;
        Ok(n == 1)
    }

    async fn unread_mails(&self, user: &str) -> Result<u64> {
        let c = self.client().await?;
        let n: i64 = c
            .query_one("SELECT count(*) FROM mails WHERE recipient = $1 AND unread", &[&user])
            .await
            .or_backend()?
            .get(0);
        Ok(unsigned(n))
    }
}
