//! The social area: who is online, instant messages (live through the event
//! layer, kept in the store for offline users), the shared accounts, mail;
//! and [`login_notices`], what a login shows after its welcome line.
//!
//! Whatever must outlive the answer (a waiting message, mute mode, a
//! balance and its ledger entry, a mail) is committed by the store before
//! the answer is given; live messages are published, never written to a
//! session directly.

use std::net::{IpAddr, SocketAddr};

use bbs_protocol::answer;
use bbs_protocol::command::{
    DeleteMail, Deposit, ListMail, ListOnline, MailTo, Mute, RetrMail, ShowAccounts, Tell, Unmute, Withdraw, Yell,
};
use bbs_protocol::table::format_table;
use bbs_protocol::{Push, Reply};
use bbs_storage::{BalanceChange, NewMail, Store, StoreError, WaitingMessage};

use super::board::month_day;
use super::context::{logged_in, now, require, Apply, Caller, Outcome};
use crate::events::Audience;
use crate::presence;
use crate::rate::seconds;
use crate::state::Shared;

/// The most one deposit or withdrawal may move.
const MAX_AMOUNT: u64 = 1_000_000_000_000;

/// What a login shows after `Welcome, <name>.`: the messages that waited
/// (now gone from the store), then the unread-mail count. Empty if there is
/// nothing. A store failure is logged and shows nothing: the messages stay
/// stored (their removal rolled back) for the next login.
pub(crate) async fn login_notices<S: Store>(shared: &Shared<S>, user: &str) -> String {
    let notices = async {
        let mut lines = Vec::new();
        let messages = shared.store.take_messages(user).await?;
        if !messages.is_empty() {
            lines.push(answer::messages_waiting(messages.len()));
            lines.extend(messages.iter().map(|m| answer::told_you(&m.from, &m.text)));
        }
        let unread = shared.store.unread_mails(user).await?;
        if unread > 0 {
            lines.push(answer::new_mails(unread));
        }
        Ok::<_, StoreError>(lines.join("\n"))
    };
    notices.await.unwrap_or_else(|e| {
        tracing::error!(error = %e, user, "login notices failed");
        String::new()
    })
}

/// `From` of `list-online`: the whole address for the asker's own
/// sessions, the first half of it for everybody else's.
fn shown_address(peer: SocketAddr, own: bool) -> String {
    if own {
        return peer.to_string();
    }
    match peer.ip().to_canonical() {
        IpAddr::V4(ip) => {
            let [a, b, _, _] = ip.octets();
            format!("{a}.{b}.*.*")
        }
        IpAddr::V6(ip) => {
            let mut groups: Vec<String> = ip.segments()[..4].iter().map(|g| format!("{g:x}")).collect();
            while groups.last().is_some_and(|g| g == "0") {
                groups.pop();
            }
            if groups.is_empty() {
                "::*".to_owned()
            } else {
                format!("{}:*", groups.join(":"))
            }
        }
    }
}

/// `Idle` of `list-online`: whole minutes below an hour, then whole hours.
fn idle(seconds: u64) -> String {
    let minutes = seconds / 60;
    if minutes < 60 {
        format!("{minutes}m")
    } else {
        format!("{}h", minutes / 60)
    }
}

impl Apply for ListOnline {
    async fn apply<S: Store>(self, shared: &Shared<S>, caller: &mut Caller<'_>) -> Outcome {
        let user = require!(logged_in(caller));
        let mut sessions = presence::sessions(shared).await;
        // Stable: one user's sessions stay in login order.
        sessions.sort_by(|a, b| a.name.to_lowercase().cmp(&b.name.to_lowercase()).then_with(|| a.name.cmp(&b.name)));
        let now = u64::try_from(now()).unwrap_or(0);
        let rows: Vec<Vec<String>> = sessions
            .into_iter()
            .map(|s| {
                let from = shown_address(s.peer, s.name == user.name);
                vec![s.name, from, idle(now.saturating_sub(s.last_command))]
            })
            .collect();
        Ok(Reply::text(format_table(&["Name", "From", "Idle"], &rows)))
    }
}

/// The message limits shared by `tell` and `yell`: length, then the user's
/// rate for this kind of message.
fn check_message<S>(
    shared: &Shared<S>,
    user: &str,
    message: &str,
    rate: &crate::rate::RateLimiter<String>,
) -> Result<(), Reply> {
    let max = shared.limits().max_message;
    if message.len() > max {
        return Err(Reply::text(format!("Message too long: at most {max} bytes.")));
    }
    rate.check(&user.to_owned()).map_err(|wait| {
        Reply::text(format!("Too many messages: please wait {} seconds before the next one.", seconds(wait)))
    })
}

impl Apply for Tell {
    async fn apply<S: Store>(self, shared: &Shared<S>, caller: &mut Caller<'_>) -> Outcome {
        let user = require!(logged_in(caller));
        require!(check_message(shared, &user.name, &self.message, &shared.tell_rate));
        if shared.store.password_hash(&self.to).await?.is_none() {
            return Ok(Reply::text(answer::no_such_user(&self.to)));
        }
        if self.to == user.name {
            return Ok(Reply::text(answer::is_yourself(&self.to)));
        }
        if shared.store.is_muted(&self.to).await? {
            return Ok(Reply::text(answer::in_mute_mode(&self.to)));
        }
        if presence::is_online(shared, &self.to).await {
            shared
                .events
                .publish(Audience::User(self.to), Push::new(answer::told_you(&user.name, &self.message)))
                .await;
            return Ok(Reply::default());
        }
        let message = WaitingMessage { from: user.name.clone(), text: self.message, sent_at: now() };
        if shared.store.leave_message(&self.to, message, shared.limits().max_waiting_messages).await? {
            Ok(Reply::text(answer::not_online(&self.to)))
        } else {
            Ok(Reply::text(format!("{} has too many messages waiting; please try again later.", self.to)))
        }
    }
}

impl Apply for Yell {
    async fn apply<S: Store>(self, shared: &Shared<S>, caller: &mut Caller<'_>) -> Outcome {
        let user = require!(logged_in(caller));
        require!(check_message(shared, &user.name, &self.message, &shared.yell_rate));
        let muted = shared.store.muted_users().await?;
        let mut audience = presence::users(shared).await;
        audience.retain(|name| *name != user.name && !muted.contains(name));
        if !audience.is_empty() {
            shared
                .events
                .publish(Audience::Users(audience), Push::new(answer::yelled(&user.name, &self.message)))
                .await;
        }
        Ok(Reply::default())
    }
}

impl Apply for Mute {
    async fn apply<S: Store>(self, shared: &Shared<S>, caller: &mut Caller<'_>) -> Outcome {
        let user = require!(logged_in(caller));
        let changed = shared.store.set_muted(&user.name, true).await?;
        Ok(Reply::text(if changed { answer::MUTED } else { answer::ALREADY_MUTED }))
    }
}

impl Apply for Unmute {
    async fn apply<S: Store>(self, shared: &Shared<S>, caller: &mut Caller<'_>) -> Outcome {
        let user = require!(logged_in(caller));
        let changed = shared.store.set_muted(&user.name, false).await?;
        Ok(Reply::text(if changed { answer::UNMUTED } else { answer::ALREADY_UNMUTED }))
    }
}

impl Apply for ShowAccounts {
    async fn apply<S: Store>(self, shared: &Shared<S>, _caller: &mut Caller<'_>) -> Outcome {
        let lines: Vec<String> =
            shared.store.accounts().await?.into_iter().map(|a| format!("{}: {}", a.name, a.balance)).collect();
        Ok(Reply::text(lines.join("\n")))
    }
}

/// An amount as typed: plain decimal digits, from 1 to [`MAX_AMOUNT`].
fn amount(money: &str) -> Result<u64, Reply> {
    let not_positive = || Reply::text(answer::not_positive_integer(money));
    if money.is_empty() || !money.bytes().all(|b| b.is_ascii_digit()) {
        return Err(not_positive());
    }
    // All digits: only an enormous number fails to parse.
    let value = money.parse::<u64>().unwrap_or(u64::MAX);
    match value {
        0 => Err(not_positive()),
        v if v > MAX_AMOUNT => Err(Reply::text(format!("{money} is too much: at most {MAX_AMOUNT} at a time."))),
        v => Ok(v),
    }
}

/// A deposit (positive `sign`) or withdrawal, after the login check.
async fn change<S: Store>(
    shared: &Shared<S>,
    caller: &Caller<'_>,
    account: &str,
    money: &str,
    deposit: bool,
) -> Outcome {
    let user = require!(logged_in(caller));
    let value = require!(amount(money));
    let delta = i64::try_from(value).expect("at most MAX_AMOUNT");
    let delta = if deposit { delta } else { -delta };
    Ok(Reply::text(match shared.store.change_balance(account, &user.name, delta, now()).await? {
        BalanceChange::Done(_) if deposit => answer::deposited(value, account),
        BalanceChange::Done(_) => answer::withdrew(value, account),
        BalanceChange::NoSuchAccount => answer::no_such_account(account),
        BalanceChange::Insufficient => answer::WITHDRAW_EXCESS.to_owned(),
        BalanceChange::Overflow => format!("{account} cannot hold that much money."),
    }))
}

impl Apply for Deposit {
    async fn apply<S: Store>(self, shared: &Shared<S>, caller: &mut Caller<'_>) -> Outcome {
        change(shared, caller, &self.account, &self.money, true).await
    }
}

impl Apply for Withdraw {
    async fn apply<S: Store>(self, shared: &Shared<S>, caller: &mut Caller<'_>) -> Outcome {
        change(shared, caller, &self.account, &self.money, false).await
    }
}

impl Apply for MailTo {
    async fn apply<S: Store>(self, shared: &Shared<S>, caller: &mut Caller<'_>) -> Outcome {
        let user = require!(logged_in(caller));
        if shared.store.password_hash(&self.to).await?.is_none() {
            return Ok(Reply::text(answer::no_such_user(&self.to)));
        }
        let mail = NewMail {
            to: self.to.clone(),
            from: user.name.clone(),
            subject: self.subject,
            content: self.content,
            sent_at: now(),
        };
        if shared.store.send_mail(mail, shared.limits().max_mailbox).await? {
            Ok(Reply::text(answer::MAIL_SENT))
        } else {
            Ok(Reply::text(format!("{}'s mailbox is full.", self.to)))
        }
    }
}

impl Apply for ListMail {
    async fn apply<S: Store>(self, shared: &Shared<S>, caller: &mut Caller<'_>) -> Outcome {
        let user = require!(logged_in(caller));
        let rows: Vec<Vec<String>> = shared
            .store
            .mails(&user.name)
            .await?
            .into_iter()
            .enumerate()
            .map(|(i, m)| vec![(i + 1).to_string(), m.subject, m.from, month_day(m.sent_at)])
            .collect();
        Ok(Reply::text(format_table(&["ID", "Subject", "From", "Date"], &rows)))
    }
}

impl Apply for RetrMail {
    async fn apply<S: Store>(self, shared: &Shared<S>, caller: &mut Caller<'_>) -> Outcome {
        let user = require!(logged_in(caller));
        let Some(mail) = shared.store.read_mail(&user.name, self.mail).await? else {
            return Ok(Reply::text(answer::NO_SUCH_MAIL));
        };
        Ok(Reply::text(format!(
            "Subject: {}\nFrom: {}\nDate: {}\n--\n{}",
            mail.subject,
            mail.from,
            month_day(mail.sent_at),
            mail.content
        )))
    }
}

impl Apply for DeleteMail {
    async fn apply<S: Store>(self, shared: &Shared<S>, caller: &mut Caller<'_>) -> Outcome {
        let user = require!(logged_in(caller));
        let deleted = shared.store.delete_mail(&user.name, self.mail).await?;
        Ok(Reply::text(if deleted { answer::MAIL_DELETED } else { answer::NO_SUCH_MAIL }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn other_peoples_addresses_show_their_first_half() {
        let shown = |addr: &str, own| shown_address(addr.parse().unwrap(), own);
        assert_eq!(shown("140.113.1.2:5000", false), "140.113.*.*");
        assert_eq!(shown("140.113.1.2:5000", true), "140.113.1.2:5000");
        assert_eq!(shown("[2001:db8::1]:5000", false), "2001:db8:*");
        assert_eq!(shown("[2001:db8:85a3:8d3:1319:8a2e:370:7348]:1", false), "2001:db8:85a3:8d3:*");
        assert_eq!(shown("[::ffff:10.1.2.3]:1", false), "10.1.*.*");
        assert_eq!(shown("[::1]:1", false), "::*");
        assert_eq!(shown("[::1]:1", true), "[::1]:1");
    }

    #[test]
    fn idle_is_minutes_then_hours() {
        assert_eq!(idle(0), "0m");
        assert_eq!(idle(59), "0m");
        assert_eq!(idle(12 * 60 + 5), "12m");
        assert_eq!(idle(59 * 60 + 59), "59m");
        assert_eq!(idle(3 * 3600 + 1800), "3h");
    }

    #[test]
    fn amounts_are_plain_digits_from_one_to_a_trillion() {
        assert_eq!(amount("1"), Ok(1));
        assert_eq!(amount("007"), Ok(7));
        assert_eq!(amount("1000000000000"), Ok(MAX_AMOUNT));
        for bad in ["0", "-1", "+1", "1_000", "1.5", "1e3", "", "abc"] {
            assert_eq!(amount(bad), Err(Reply::text(answer::not_positive_integer(bad))), "{bad}");
        }
        for big in ["1000000000001", "99999999999999999999999999"] {
            assert!(amount(big).unwrap_err().text.contains("too much"), "{big}");
        }
    }
}
