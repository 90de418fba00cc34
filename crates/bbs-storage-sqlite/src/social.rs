//! [`SocialStore`] on SQLite: every change goes through the one writer
//! (committed and flushed before it is acknowledged), reads through the
//! pooled read-only connections. Nothing here is cached in memory.
//!
//! A balance change reads the balance, checks it and writes it back inside
//! the writer's transaction, which no other writer can interleave with
//! (SQLite takes the write lock at `BEGIN IMMEDIATE`, for other processes
//! on the same file too): no update is lost, and the ledger row commits or
//! rolls back with the balance it explains.

use bbs_storage::{
    AccountRow, BalanceChange, LedgerRow, Mail, MailSummary, NewMail, Result, SocialStore, Timestamp, WaitingMessage,
};
use rusqlite::{params, Connection, OptionalExtension};

use crate::SqliteStore;

/// The row id of mail number `number` (1-based, oldest first) of `user`.
fn mail_id(conn: &Connection, user: &str, number: u64) -> rusqlite::Result<Option<i64>> {
    let Some(offset) = number.checked_sub(1).and_then(|n| i64::try_from(n).ok()) else { return Ok(None) };
    conn.prepare_cached("SELECT id FROM mails WHERE recipient = ?1 ORDER BY id LIMIT 1 OFFSET ?2")?
        .query_row(params![user, offset], |r| r.get(0))
        .optional()
}

impl SocialStore for SqliteStore {
    async fn set_muted(&self, user: &str, muted: bool) -> Result<bool> {
        let user = user.to_owned();
        self.write(move |c| {
            let sql = if muted {
                "INSERT INTO mutes (name) VALUES (?1) ON CONFLICT (name) DO NOTHING"
            } else {
                "DELETE FROM mutes WHERE name = ?1"
            };
            Ok(c.prepare_cached(sql)?.execute([user])? == 1)
        })
        .await
    }

    async fn is_muted(&self, user: &str) -> Result<bool> {
        let user = user.to_owned();
        self.read(move |c| {
            c.prepare_cached("SELECT 1 FROM mutes WHERE name = ?1")?.query_row([user], |_| Ok(())).optional()
        })
        .await
        .map(|row| row.is_some())
    }

    async fn muted_users(&self) -> Result<Vec<String>> {
        self.read(|c| c.prepare_cached("SELECT name FROM mutes")?.query_map([], |r| r.get(0))?.collect()).await
    }

    async fn leave_message(&self, to: &str, message: WaitingMessage, max_waiting: usize) -> Result<bool> {
        let to = to.to_owned();
        self.write(move |c| {
            let waiting: i64 = c
                .prepare_cached("SELECT count(*) FROM waiting_messages WHERE recipient = ?1")?
                .query_row([&to], |r| r.get(0))?;
            if usize::try_from(waiting).unwrap_or(usize::MAX) >= max_waiting {
                return Ok(false);
            }
            c.prepare_cached(
                "INSERT INTO waiting_messages (recipient, sender, text, sent_at) VALUES (?1, ?2, ?3, ?4)",
            )?
            .execute(params![to, message.from, message.text, message.sent_at])?;
            Ok(true)
        })
        .await
    }

    async fn take_messages(&self, user: &str) -> Result<Vec<WaitingMessage>> {
        let user = user.to_owned();
        self.write(move |c| {
            let messages = c
                .prepare_cached("SELECT sender, text, sent_at FROM waiting_messages WHERE recipient = ?1 ORDER BY id")?
                .query_map([&user], |r| Ok(WaitingMessage { from: r.get(0)?, text: r.get(1)?, sent_at: r.get(2)? }))?
                .collect::<rusqlite::Result<Vec<_>>>()?;
            if !messages.is_empty() {
                c.prepare_cached("DELETE FROM waiting_messages WHERE recipient = ?1")?.execute([&user])?;
            }
            Ok(messages)
        })
        .await
    }

    async fn accounts(&self) -> Result<Vec<AccountRow>> {
        self.read(|c| {
            c.prepare_cached("SELECT name, balance FROM accounts ORDER BY id")?
                .query_map([], |r| Ok(AccountRow { name: r.get(0)?, balance: r.get(1)? }))?
                .collect()
        })
        .await
    }

    async fn change_balance(&self, account: &str, user: &str, delta: i64, at: Timestamp) -> Result<BalanceChange> {
        let (account, user) = (account.to_owned(), user.to_owned());
        self.write(move |c| {
            let Some((id, balance)) = c
                .prepare_cached("SELECT id, balance FROM accounts WHERE name = ?1")?
                .query_row([&account], |r| Ok((r.get::<_, i64>(0)?, r.get::<_, i64>(1)?)))
                .optional()?
            else {
                return Ok(BalanceChange::NoSuchAccount);
            };
            let balance = match balance.checked_add(delta) {
                Some(b) if b < 0 => return Ok(BalanceChange::Insufficient),
                Some(b) => b,
                None if delta > 0 => return Ok(BalanceChange::Overflow),
                None => return Ok(BalanceChange::Insufficient),
            };
            c.prepare_cached("UPDATE accounts SET balance = ?2 WHERE id = ?1")?.execute(params![id, balance])?;
            c.prepare_cached("INSERT INTO ledger (account_id, username, at, delta) VALUES (?1, ?2, ?3, ?4)")?
                .execute(params![id, user, at, delta])?;
            Ok(BalanceChange::Done(balance))
        })
        .await
    }

    async fn ledger(&self) -> Result<Vec<LedgerRow>> {
        self.read(|c| {
            c.prepare_cached(
                "SELECT l.id, a.name, l.username, l.at, l.delta FROM ledger l JOIN accounts a ON a.id = l.account_id
                 ORDER BY l.id",
            )?
            .query_map([], |r| {
                Ok(LedgerRow {
                    id: r.get::<_, i64>(0)? as u64,
                    account: r.get(1)?,
                    user: r.get(2)?,
                    at: r.get(3)?,
                    delta: r.get(4)?,
                })
            })?
            .collect()
        })
        .await
    }

    async fn send_mail(&self, mail: NewMail, max_mailbox: usize) -> Result<bool> {
        self.write(move |c| {
            let held: i64 = c
                .prepare_cached("SELECT count(*) FROM mails WHERE recipient = ?1")?
                .query_row([&mail.to], |r| r.get(0))?;
            if usize::try_from(held).unwrap_or(usize::MAX) >= max_mailbox {
                return Ok(false);
            }
            c.prepare_cached(
                "INSERT INTO mails (recipient, sender, subject, content, sent_at) VALUES (?1, ?2, ?3, ?4, ?5)",
            )?
            .execute(params![mail.to, mail.from, mail.subject, mail.content, mail.sent_at])?;
            Ok(true)
        })
        .await
    }

    async fn mails(&self, user: &str) -> Result<Vec<MailSummary>> {
        let user = user.to_owned();
        self.read(move |c| {
            c.prepare_cached("SELECT subject, sender, sent_at FROM mails WHERE recipient = ?1 ORDER BY id")?
                .query_map([user], |r| Ok(MailSummary { subject: r.get(0)?, from: r.get(1)?, sent_at: r.get(2)? }))?
                .collect()
        })
        .await
    }

    async fn read_mail(&self, user: &str, number: u64) -> Result<Option<Mail>> {
        let user = user.to_owned();
        self.write(move |c| {
            let Some(id) = mail_id(c, &user, number)? else { return Ok(None) };
            c.prepare_cached("UPDATE mails SET unread = 0 WHERE id = ?1 AND unread = 1")?.execute([id])?;
            c.prepare_cached("SELECT subject, sender, content, sent_at FROM mails WHERE id = ?1")?
                .query_row([id], |r| {
                    Ok(Mail { subject: r.get(0)?, from: r.get(1)?, content: r.get(2)?, sent_at: r.get(3)? })
                })
                .optional()
        })
        .await
    }

    async fn delete_mail(&self, user: &str, number: u64) -> Result<bool> {
        let user = user.to_owned();
        self.write(move |c| {
            let Some(id) = mail_id(c, &user, number)? else { return Ok(false) };
            Ok(c.prepare_cached("DELETE FROM mails WHERE id = ?1")?.execute([id])? == 1)
        })
        .await
    }

    async fn unread_mails(&self, user: &str) -> Result<u64> {
        let user = user.to_owned();
        self.read(move |c| {
            c.prepare_cached("SELECT count(*) FROM mails WHERE recipient = ?1 AND unread = 1")?
                .query_row([user], |r| r.get::<_, i64>(0))
        })
        .await
        .map(|n| n as u64)
    }
}
