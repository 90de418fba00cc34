//! What the social area keeps: mute mode, messages waiting for an offline
//! user, the shared accounts with their ledger, and mailboxes.
//!
//! Every write returns only after it is committed durably, like the rest of
//! [`crate::Store`]: a message the sender was told "waits", a mail "sent",
//! a deposit "successful" survives a crash that follows the answer.

use std::future::Future;

use crate::{Result, Timestamp};

/// A message kept for a user who was offline when it was sent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WaitingMessage {
    pub from: String,
    pub text: String,
    pub sent_at: Timestamp,
}

/// A shared account and its balance.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AccountRow {
    pub name: String,
    pub balance: i64,
}

/// Outcome of a deposit or withdrawal.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BalanceChange {
    /// Applied and recorded in the ledger; the new balance.
    Done(i64),
    NoSuchAccount,
    /// A withdrawal of more than the balance; nothing changed.
    Insufficient,
    /// A deposit that would take the balance past `i64::MAX`; nothing changed.
    Overflow,
}

/// One entry of the ledger: every change ever applied to an account.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LedgerRow {
    /// Grows with each change, across accounts: the order they happened in.
    pub id: u64,
    pub account: String,
    pub user: String,
    pub at: Timestamp,
    /// Positive for a deposit, negative for a withdrawal.
    pub delta: i64,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewMail {
    pub to: String,
    pub from: String,
    pub subject: String,
    pub content: String,
    pub sent_at: Timestamp,
}

/// One line of a mailbox listing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MailSummary {
    pub subject: String,
    pub from: String,
    pub sent_at: Timestamp,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mail {
    pub subject: String,
    pub from: String,
    pub content: String,
    pub sent_at: Timestamp,
}

/// The social area's part of the store. Mail numbers are positions in the
/// mailbox, oldest first, counting from 1: deleting a mail moves the later
/// ones up by one.
pub trait SocialStore {
    /// Sets the user's mute mode; `false` if it already was that.
    fn set_muted(&self, user: &str, muted: bool) -> impl Future<Output = Result<bool>> + Send;
    fn is_muted(&self, user: &str) -> impl Future<Output = Result<bool>> + Send;
    /// Every user in mute mode.
    fn muted_users(&self) -> impl Future<Output = Result<Vec<String>>> + Send;

    /// Keeps a message for `to` until its next login, unless `to` already
    /// has `max_waiting` waiting (then `false`, nothing kept).
    fn leave_message(
        &self,
        to: &str,
        message: WaitingMessage,
        max_waiting: usize,
    ) -> impl Future<Output = Result<bool>> + Send;
    /// Removes and returns `user`'s waiting messages, oldest first.
    fn take_messages(&self, user: &str) -> impl Future<Output = Result<Vec<WaitingMessage>>> + Send;

    /// Every shared account, in creation order (`ACCOUNT1` and `ACCOUNT2`
    /// exist from the start, at 0).
    fn accounts(&self) -> impl Future<Output = Result<Vec<AccountRow>>> + Send;
    /// Adds `delta` to the balance of `account` and records it in the ledger,
    /// in one transaction: concurrent changes never lose an update, a
    /// balance never goes below 0 or past `i64::MAX`.
    fn change_balance(
        &self,
        account: &str,
        user: &str,
        delta: i64,
        at: Timestamp,
    ) -> impl Future<Output = Result<BalanceChange>> + Send;
    /// The whole ledger, oldest first.
    fn ledger(&self) -> impl Future<Output = Result<Vec<LedgerRow>>> + Send;

    /// Puts a mail in `mail.to`'s mailbox, unread, unless it already holds
    /// `max_mailbox` mails (then `false`).
    fn send_mail(&self, mail: NewMail, max_mailbox: usize) -> impl Future<Output = Result<bool>> + Send;
    /// `user`'s mailbox, oldest first.
    fn mails(&self, user: &str) -> impl Future<Output = Result<Vec<MailSummary>>> + Send;
    /// Mail number `number` of `user`'s mailbox, now marked read.
    fn read_mail(&self, user: &str, number: u64) -> impl Future<Output = Result<Option<Mail>>> + Send;
    /// Deletes mail number `number`; `false` if there is none.
    fn delete_mail(&self, user: &str, number: u64) -> impl Future<Output = Result<bool>> + Send;
    /// How many of `user`'s mails were never read.
    fn unread_mails(&self, user: &str) -> impl Future<Output = Result<u64>> + Send;
}
