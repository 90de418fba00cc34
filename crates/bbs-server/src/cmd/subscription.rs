//! Subscriptions: `subscribe`, `unsubscribe`, `list-sub`; the live
//! notification of a new post to its subscribers; and the notifications
//! they missed, shown at their next login.
//!
//! A new post's notifications are made durable by the store in the post's
//! own transaction (one missed-notification entry per matching
//! subscriber), and the store says whom it matched. After the commit,
//! [`announce_new_post`], in a task of its own so that the author's answer
//! never waits for it, drops the entries
//! of the subscribers who are online and publishes the notification to
//! all of them through the event layer. Whoever was offline finds theirs
//! at the next login ([`missed_notices`]).

use bbs_protocol::answer;
use bbs_protocol::command::{ListSub, Subscribe, SubscriptionTarget, Unsubscribe};
use bbs_protocol::table::format_table;
use bbs_protocol::{Push, Reply};
use bbs_storage::{CreatedPost, NewPost, Store, Subscribed, SubscriptionKind};

use super::context::{logged_in, require, Apply, Caller, Outcome};
use crate::events::Audience;
use crate::state::Shared;

fn kind_and_name(target: &SubscriptionTarget) -> (SubscriptionKind, &str) {
    match target {
        SubscriptionTarget::Board(name) => (SubscriptionKind::Board, name),
        SubscriptionTarget::Author(name) => (SubscriptionKind::Author, name),
    }
}

impl Apply for Subscribe {
    async fn apply<S: Store>(self, shared: &Shared<S>, caller: &mut Caller<'_>) -> Outcome {
        let user = require!(logged_in(caller));
        let config = &shared.config;
        if self.keyword.len() > config.max_keyword {
            return Ok(Reply::text(answer::keyword_too_long(config.max_keyword)));
        }
        let (kind, name) = kind_and_name(&self.target);
        let outcome = shared.store.subscribe(&user.name, kind, name, &self.keyword, config.max_subscriptions).await?;
        Ok(Reply::text(match outcome {
            Subscribed::Added => answer::SUBSCRIBED.to_owned(),
            Subscribed::Already => answer::ALREADY_SUBSCRIBED.to_owned(),
            Subscribed::TooMany => answer::too_many_subscriptions(config.max_subscriptions),
        }))
    }
}

impl Apply for Unsubscribe {
    async fn apply<S: Store>(self, shared: &Shared<S>, caller: &mut Caller<'_>) -> Outcome {
        let user = require!(logged_in(caller));
        let (kind, name) = kind_and_name(&self.target);
        Ok(Reply::text(if shared.store.unsubscribe(&user.name, kind, name).await? {
            answer::UNSUBSCRIBED.to_owned()
        } else {
            answer::not_subscribed(name)
        }))
    }
}

impl Apply for ListSub {
    async fn apply<S: Store>(self, shared: &Shared<S>, caller: &mut Caller<'_>) -> Outcome {
        let user = require!(logged_in(caller));
        let rows: Vec<Vec<String>> = shared
            .store
            .subscriptions(&user.name)
            .await?
            .into_iter()
            .map(|s| {
                let kind = match s.kind {
                    SubscriptionKind::Board => "board",
                    SubscriptionKind::Author => "author",
                };
                vec![kind.to_owned(), s.target, s.keyword]
            })
            .collect();
        Ok(Reply::text(format_table(&["Type", "Name", "Keyword"], &rows)))
    }
}

/// Tells the subscribers of a post just committed about it, live, without
/// delaying anybody: the publishing runs in a task of its own, and a post
/// nobody subscribed to costs nothing more. Each subscriber is told once,
/// however many of their subscriptions match; the author never.
pub(crate) fn announce_new_post<S: Store>(shared: &Shared<S>, created: CreatedPost, post: NewPost) {
    let CreatedPost { id, subscribers: users } = created;
    if users.is_empty() {
        return;
    }
    let store = shared.store.clone();
    let events = std::sync::Arc::clone(&shared.events);
    tokio::spawn(async move {
        // Those online now see it live, so it is not missed: their entries
        // go first, so that a notification seen live is never shown again
        // at a login that follows it.
        let online: Vec<String> = match store.online_among(&users).await {
            Ok(online) => online,
            Err(e) => {
                tracing::warn!(error = %e, post = id, "cannot tell who is online");
                Vec::new()
            }
        };
        if let Err(e) = store.delivered(id, online).await {
            // At worst an online subscriber sees it again at the next login.
            tracing::warn!(error = %e, post = id, "cannot mark notifications as delivered");
        }
        let text = answer::new_post_notice(&post.board, &post.title, &post.author);
        events.publish(Audience::Users(users), Push::new(text)).await;
    });
}

/// The lines a login shows about the notifications the user missed while
/// offline (the latest ones, under a line saying how many there were), or
/// nothing; they are shown once. If they cannot be read now, the login
/// still succeeds and they wait for the next one.
pub(crate) async fn missed_notices<S: Store>(shared: &Shared<S>, user: &str) -> String {
    let missed = match shared.store.take_missed(user).await {
        Ok(missed) if missed.total > 0 => missed,
        Ok(_) => return String::new(),
        Err(e) => {
            tracing::warn!(error = %e, user, "cannot read missed notifications");
            return String::new();
        }
    };
    let mut text = answer::missed_notices(missed.total, missed.latest.len());
    for notice in missed.latest {
        text.push('\n');
        text.push_str(&answer::new_post_notice(&notice.board, &notice.title, &notice.author));
    }
    text
}
