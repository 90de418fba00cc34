//! The moderators' side of the community area: moderators, bans, board
//! settings, the recycle bin, pins, edit history, the audit log, reports,
//! and the sysop's suspensions. Every rule lives in the store, checked in
//! the transaction of the write it guards; this file only turns requests
//! into store calls and outcomes into the spec's answers.

use bbs_protocol::answer;
use bbs_protocol::command::{
    AddModerator, Ban, BoardSetting as Setting, ListBan, ListRecycle, ListReport, ModLog, PinPost, PostHistory,
    PurgeUserPosts, RemoveModerator, Report, ResolveReport, RestorePost, SetBoard, Suspend, Unban, UnpinPost,
    Unsuspend,
};
use bbs_protocol::table::format_table;
use bbs_protocol::{Push, Reply};
use bbs_storage::{
    Acting, BanChange, BoardSetting, Moderated, ModeratorChange, NewBan, NewMail, Pinning, Refusal, Reporting,
    Resolution, Restoral, Store,
};
use chrono::TimeZone;

use super::context::{logged_in, require, Apply, Caller, Failure, Outcome};
use crate::events::Audience;
use crate::state::Shared;

/// Seconds in a day.
const DAY: i64 = 24 * 60 * 60;

/// `YYYY-MM-DD HH:MM` in the server's local time: ban ends, deletions and
/// the audit log need the day and the time, not just `MM/DD`.
pub(crate) fn date_time(unix: i64) -> String {
    match chrono::Local.timestamp_opt(unix, 0) {
        chrono::LocalResult::Single(t) | chrono::LocalResult::Ambiguous(t, _) => t.format("%Y-%m-%d %H:%M").to_string(),
        chrono::LocalResult::None => "????-??-?? ??:??".to_owned(),
    }
}

/// The logged-in caller as the store's rules see them, now.
pub(super) fn acting<S>(shared: &Shared<S>, caller: &Caller<'_>) -> Result<Acting, Reply> {
    let user = logged_in(caller)?;
    Ok(Acting { user: user.name.clone(), sysop: is_sysop(shared, &user.name), at: shared.config.clock.now() })
}

fn is_sysop<S>(shared: &Shared<S>, name: &str) -> bool {
    shared.config.sysops.iter().any(|s| s == name)
}

/// Seconds a deleted post stays restorable.
pub(super) fn keep_seconds<S>(shared: &Shared<S>) -> i64 {
    i64::from(shared.limits().recycle_days) * DAY
}

/// The answer to a member's write the board refused.
pub(super) fn refusal_answer(refusal: Refusal, missing: &'static str) -> Reply {
    Reply::text(match refusal {
        Refusal::Missing => missing,
        Refusal::Banned => answer::YOU_ARE_BANNED,
        Refusal::Requirements => answer::REQUIREMENTS_NOT_MET,
        Refusal::NoBoos => answer::NO_BOOS,
    })
}

/// The "Board does not exist." / "Not a board moderator." answer for a
/// moderator's read, or `None` when `who` may go on.
async fn refuse_non_moderator<S: Store>(
    shared: &Shared<S>,
    board: &str,
    who: &Acting,
) -> Result<Option<Reply>, Failure> {
    Ok(match shared.store.moderates(board, &who.user, who.sysop).await? {
        None => Some(Reply::text(answer::NO_SUCH_BOARD)),
        Some(false) => Some(Reply::text(answer::NOT_BOARD_MODERATOR)),
        Some(true) => None,
    })
}

/// A suspended account's login answer, if `name` is suspended now.
pub(super) async fn suspended<S: Store>(shared: &Shared<S>, name: &str) -> Result<Option<Reply>, Failure> {
    let now = shared.config.clock.now();
    Ok(shared
        .store
        .suspension(name, now)
        .await?
        .map(|s| Reply::text(answer::suspended(&date_time(s.until), &s.reason))))
}

fn moderator_answer(change: ModeratorChange, user: &str, done: &'static str) -> Reply {
    Reply::text(match change {
        ModeratorChange::NoBoard => answer::NO_SUCH_BOARD.to_owned(),
        ModeratorChange::NotOwner => answer::NOT_BOARD_OWNER.to_owned(),
        ModeratorChange::NoUser => answer::USER_DOES_NOT_EXIST.to_owned(),
        ModeratorChange::AlreadyModerator => answer::already_moderator(user),
        ModeratorChange::TooMany => answer::TOO_MANY_MODERATORS.to_owned(),
        ModeratorChange::NotModerator => answer::not_moderator(user),
        ModeratorChange::IsOwner => answer::CANNOT_REMOVE_OWNER.to_owned(),
        ModeratorChange::Done => done.to_owned(),
    })
}

impl Apply for AddModerator {
    async fn apply<S: Store>(self, shared: &Shared<S>, caller: &mut Caller<'_>) -> Outcome {
        let by = require!(acting(shared, caller));
        let change = shared.store.add_moderator(&self.board, &self.user, &by).await?;
        Ok(moderator_answer(change, &self.user, answer::MODERATOR_ADDED))
    }
}

impl Apply for RemoveModerator {
    async fn apply<S: Store>(self, shared: &Shared<S>, caller: &mut Caller<'_>) -> Outcome {
        let by = require!(acting(shared, caller));
        let change = shared.store.remove_moderator(&self.board, &self.user, &by).await?;
        Ok(moderator_answer(change, &self.user, answer::MODERATOR_REMOVED))
    }
}

fn ban_answer(change: BanChange, user: &str, done: &'static str) -> Reply {
    Reply::text(match change {
        BanChange::NoBoard => answer::NO_SUCH_BOARD.to_owned(),
        BanChange::NotModerator => answer::NOT_BOARD_MODERATOR.to_owned(),
        BanChange::NoUser => answer::USER_DOES_NOT_EXIST.to_owned(),
        BanChange::IsModerator => answer::CANNOT_BAN_MODERATOR.to_owned(),
        BanChange::AlreadyBanned => answer::already_banned(user),
        BanChange::NotBanned => answer::not_banned(user),
        BanChange::Done => done.to_owned(),
    })
}

impl Apply for Ban {
    async fn apply<S: Store>(self, shared: &Shared<S>, caller: &mut Caller<'_>) -> Outcome {
        let by = require!(acting(shared, caller));
        let until = by.at + self.days * DAY;
        let ban = NewBan { board: self.board.clone(), user: self.user.clone(), until, reason: self.reason.clone() };
        let change = shared.store.ban(ban, &by).await?;
        if change == BanChange::Done {
            // The banned user learns of it by mail: board, end, moderator,
            // reason. A full mailbox does not undo the ban.
            let mail = NewMail {
                to: self.user.clone(),
                from: by.user.clone(),
                subject: answer::ban_mail_subject(&self.board),
                content: answer::ban_mail_content(&self.board, &date_time(until), &by.user, &self.reason),
                sent_at: by.at,
            };
            if !shared.store.send_mail(mail, shared.limits().max_mailbox).await? {
                tracing::info!(user = %self.user, "mailbox full: the ban notice was not delivered");
            }
        }
        Ok(ban_answer(change, &self.user, answer::BANNED_DONE))
    }
}

impl Apply for Unban {
    async fn apply<S: Store>(self, shared: &Shared<S>, caller: &mut Caller<'_>) -> Outcome {
        let by = require!(acting(shared, caller));
        let change = shared.store.unban(&self.board, &self.user, &self.reason, &by).await?;
        Ok(ban_answer(change, &self.user, answer::UNBANNED))
    }
}

impl Apply for ListBan {
    async fn apply<S: Store>(self, shared: &Shared<S>, caller: &mut Caller<'_>) -> Outcome {
        let by = require!(acting(shared, caller));
        if let Some(refused) = refuse_non_moderator(shared, &self.board, &by).await? {
            return Ok(refused);
        }
        let rows: Vec<Vec<String>> = shared
            .store
            .bans(&self.board, by.at)
            .await?
            .into_iter()
            .map(|b| vec![b.user, date_time(b.until), b.by, b.reason])
            .collect();
        Ok(Reply::text(format_table(&["User", "Until", "By", "Reason"], &rows)))
    }
}

impl Apply for SetBoard {
    async fn apply<S: Store>(self, shared: &Shared<S>, caller: &mut Caller<'_>) -> Outcome {
        let by = require!(acting(shared, caller));
        let setting = match self.setting {
            Setting::NoBoo(on) => BoardSetting::NoBoo(on),
            Setting::PushInterval(s) => BoardSetting::PushInterval(s),
            Setting::MinDays(d) => BoardSetting::MinDays(d),
        };
        Ok(Reply::text(match shared.store.set_board(&self.board, setting, &by).await? {
            Moderated::NoBoard => answer::NO_SUCH_BOARD,
            Moderated::NotModerator => answer::NOT_BOARD_MODERATOR,
            Moderated::Done => answer::BOARD_UPDATED,
        }))
    }
}

impl Apply for ListRecycle {
    async fn apply<S: Store>(self, shared: &Shared<S>, caller: &mut Caller<'_>) -> Outcome {
        let by = require!(acting(shared, caller));
        if let Some(refused) = refuse_non_moderator(shared, &self.board, &by).await? {
            return Ok(refused);
        }
        let rows: Vec<Vec<String>> = shared
            .store
            .recycled(&self.board, by.at, keep_seconds(shared))
            .await?
            .unwrap_or_default()
            .into_iter()
            .map(|p| vec![p.id.to_string(), p.title, p.author, p.deleted_by, date_time(p.deleted_at), p.reason])
            .collect();
        Ok(Reply::text(format_table(&["S/N", "Title", "Author", "Deleted-by", "Date", "Reason"], &rows)))
    }
}

impl Apply for RestorePost {
    async fn apply<S: Store>(self, shared: &Shared<S>, caller: &mut Caller<'_>) -> Outcome {
        let by = require!(acting(shared, caller));
        Ok(Reply::text(match shared.store.restore_post(self.post, &by, keep_seconds(shared)).await? {
            Restoral::NotInBin => answer::NOT_IN_RECYCLE_BIN,
            Restoral::NotModerator => answer::NOT_BOARD_MODERATOR,
            Restoral::Done => answer::RESTORED,
        }))
    }
}

fn pin_answer(pinning: Pinning, done: &'static str) -> Reply {
    Reply::text(match pinning {
        Pinning::NoPost => answer::NO_SUCH_POST,
        Pinning::NotModerator => answer::NOT_BOARD_MODERATOR,
        Pinning::TooMany => answer::TOO_MANY_PINNED,
        Pinning::AlreadyPinned => answer::ALREADY_PINNED,
        Pinning::NotPinned => answer::NOT_PINNED,
        Pinning::Done => done,
    })
}

impl Apply for PinPost {
    async fn apply<S: Store>(self, shared: &Shared<S>, caller: &mut Caller<'_>) -> Outcome {
        let by = require!(acting(shared, caller));
        Ok(pin_answer(shared.store.pin_post(self.post, &by).await?, answer::PINNED))
    }
}

impl Apply for UnpinPost {
    async fn apply<S: Store>(self, shared: &Shared<S>, caller: &mut Caller<'_>) -> Outcome {
        let by = require!(acting(shared, caller));
        Ok(pin_answer(shared.store.unpin_post(self.post, &by).await?, answer::UNPINNED))
    }
}

impl Apply for PostHistory {
    async fn apply<S: Store>(self, shared: &Shared<S>, caller: &mut Caller<'_>) -> Outcome {
        let by = require!(acting(shared, caller));
        let Some(history) = shared.store.post_history(self.post).await? else {
            return Ok(Reply::text(answer::NO_SUCH_POST));
        };
        if history.author != by.user && shared.store.moderates(&history.board, &by.user, by.sysop).await? != Some(true)
        {
            return Ok(Reply::text(answer::NOT_POST_OWNER));
        }
        let mut text = String::new();
        for (n, revision) in history.revisions.into_iter().enumerate() {
            if n > 0 {
                text.push('\n');
            }
            let row = vec![(n + 1).to_string(), date_time(revision.at), revision.editor, revision.title];
            text.push_str(&format_table(&["Rev", "Date", "Editor", "Title"], &[row]));
            text.push_str(&format!("\n--\n{}\n--", revision.content));
        }
        Ok(Reply::text(text))
    }
}

impl Apply for ModLog {
    async fn apply<S: Store>(self, shared: &Shared<S>, caller: &mut Caller<'_>) -> Outcome {
        let by = require!(acting(shared, caller));
        if let Some(refused) = refuse_non_moderator(shared, &self.board, &by).await? {
            return Ok(refused);
        }
        let rows: Vec<Vec<String>> = shared
            .store
            .mod_log(&self.board, self.rows)
            .await?
            .into_iter()
            .map(|r| vec![date_time(r.at), r.actor, r.action, r.target, r.reason])
            .collect();
        Ok(Reply::text(format_table(&["Date", "Actor", "Action", "Target", "Reason"], &rows)))
    }
}

impl Apply for Report {
    async fn apply<S: Store>(self, shared: &Shared<S>, caller: &mut Caller<'_>) -> Outcome {
        let by = require!(acting(shared, caller));
        Ok(Reply::text(match shared.store.report(self.post, &self.reason, &by).await? {
            Reporting::NoPost => answer::NO_SUCH_POST,
            Reporting::Banned => answer::YOU_ARE_BANNED,
            Reporting::OwnPost => answer::CANNOT_REPORT_OWN,
            Reporting::AlreadyReported => answer::ALREADY_REPORTED,
            Reporting::TooMany => answer::TOO_MANY_REPORTS,
            Reporting::Done => answer::REPORTED,
        }))
    }
}

impl Apply for ListReport {
    async fn apply<S: Store>(self, shared: &Shared<S>, caller: &mut Caller<'_>) -> Outcome {
        let by = require!(acting(shared, caller));
        if let Some(refused) = refuse_non_moderator(shared, &self.board, &by).await? {
            return Ok(refused);
        }
        let rows: Vec<Vec<String>> = shared
            .store
            .reports(&self.board, self.all)
            .await?
            .into_iter()
            .map(|r| vec![r.id.to_string(), r.post.to_string(), r.reporter, r.reason, r.status])
            .collect();
        Ok(Reply::text(format_table(&["ID", "S/N", "Reporter", "Reason", "Status"], &rows)))
    }
}

impl Apply for ResolveReport {
    async fn apply<S: Store>(self, shared: &Shared<S>, caller: &mut Caller<'_>) -> Outcome {
        let by = require!(acting(shared, caller));
        Ok(Reply::text(match shared.store.resolve_report(self.report, self.accept, &self.note, &by).await? {
            Resolution::NoReport => answer::NO_SUCH_REPORT,
            Resolution::NotModerator => answer::NOT_BOARD_MODERATOR,
            Resolution::AlreadyResolved => answer::REPORT_ALREADY_RESOLVED,
            Resolution::Done => answer::RESOLVED,
        }))
    }
}

/// The sysop acting, or the answer refusing everybody else.
fn sysop<S>(shared: &Shared<S>, caller: &Caller<'_>) -> Result<Acting, Reply> {
    let by = acting(shared, caller)?;
    if by.sysop {
        Ok(by)
    } else {
        Err(Reply::text(answer::PERMISSION_DENIED))
    }
}

impl Apply for Suspend {
    async fn apply<S: Store>(self, shared: &Shared<S>, caller: &mut Caller<'_>) -> Outcome {
        let by = require!(sysop(shared, caller));
        let until = by.at + self.days * DAY;
        if !shared.store.suspend(&self.user, until, &self.reason, &by).await? {
            return Ok(Reply::text(answer::USER_DOES_NOT_EXIST));
        }
        // Through the event layer: the user's sessions on other server
        // processes end too.
        let words = answer::suspended(&date_time(until), &self.reason);
        shared.events.publish(Audience::EndSessionsOf(self.user), Push::new(words)).await;
        Ok(Reply::text(answer::SUSPENDED_DONE))
    }
}

impl Apply for Unsuspend {
    async fn apply<S: Store>(self, shared: &Shared<S>, caller: &mut Caller<'_>) -> Outcome {
        let by = require!(sysop(shared, caller));
        let found = shared.store.unsuspend(&self.user, &by).await?;
        Ok(Reply::text(if found { answer::UNSUSPENDED } else { answer::USER_DOES_NOT_EXIST }))
    }
}

impl Apply for PurgeUserPosts {
    async fn apply<S: Store>(self, shared: &Shared<S>, caller: &mut Caller<'_>) -> Outcome {
        let by = require!(sysop(shared, caller));
        Ok(Reply::text(
            match shared.store.purge_user_posts(&self.user, &self.reason, &by, keep_seconds(shared)).await? {
                None => answer::USER_DOES_NOT_EXIST.to_owned(),
                Some(n) => answer::purged(n),
            },
        ))
    }
}
