//! The community area: pushes and boos (推 / 噓) and the long post list
//! with each post's count.

use bbs_protocol::answer;
use bbs_protocol::command::{matches_key, BooPost, PushPost};
use bbs_protocol::table::format_table;
use bbs_protocol::Reply;
use bbs_storage::{CommentKind, NewVote, PostId, Store, Voted};

use super::board::{month_day, pinned_first, serial_cell};
use super::context::{logged_in, require, Apply, Caller, Failure, Outcome};
use super::moderation::refusal_answer;
use crate::state::Shared;

/// Least seconds between two votes of one user on one post (PTT's rule
/// against vote storms); a vote sooner is kept as a plain comment.
const VOTE_INTERVAL: i64 = 90;

impl Apply for PushPost {
    async fn apply<S: Store>(self, shared: &Shared<S>, caller: &mut Caller<'_>) -> Outcome {
        vote(shared, caller, self.post, CommentKind::Push, self.text).await
    }
}

impl Apply for BooPost {
    async fn apply<S: Store>(self, shared: &Shared<S>, caller: &mut Caller<'_>) -> Outcome {
        vote(shared, caller, self.post, CommentKind::Boo, self.text).await
    }
}

/// Takes one comment (of any kind) from the user's allowance for this
/// minute; `Some(refusal)` when none is left. `Post does not exist.` still
/// comes before the rate answer for a missing post, but the existence check
/// runs only on that refused path: an allowed comment costs its write and
/// nothing else (the write itself notices a missing post). An attempt on a
/// missing post uses up allowance like any other attempt to write.
pub(super) async fn comment_allowance<S: Store>(
    shared: &Shared<S>,
    user: &str,
    post: PostId,
) -> Result<Option<Reply>, Failure> {
    if shared.comment_rate.check(&user.to_owned()).is_ok() {
        return Ok(None);
    }
    let exists = shared.store.push_count(post).await?.is_some();
    Ok(Some(Reply::text(if exists { answer::TOO_MANY_COMMENTS } else { answer::NO_SUCH_POST })))
}

async fn vote<S: Store>(
    shared: &Shared<S>,
    caller: &mut Caller<'_>,
    post: PostId,
    kind: CommentKind,
    text: String,
) -> Outcome {
    let user = require!(logged_in(caller));
    if let Some(refused) = comment_allowance(shared, &user.name, post).await? {
        return Ok(refused);
    }
    let vote = NewVote {
        post,
        voter: user.name.clone(),
        kind,
        text,
        at: shared.config.clock.now(),
        vote_interval: VOTE_INTERVAL,
        sysops: shared.config.sysops.clone(),
    };
    Ok(Reply::text(match shared.store.vote(vote).await? {
        Voted::NoPost => answer::NO_SUCH_POST,
        Voted::Refused(refusal) => return Ok(refusal_answer(refusal, answer::NO_SUCH_POST)),
        Voted::AsComment => answer::COMMENTED,
        Voted::Counted(CommentKind::Boo, _) => answer::BOOED,
        Voted::Counted(_, _) => answer::PUSHED,
    }))
}

/// `list-post <board> --long`: the course's columns and `Push`.
pub(super) async fn list_post_long<S: Store>(shared: &Shared<S>, board: &str, key: Option<&str>) -> Outcome {
    let Some(posts) = shared.store.posts(board).await? else {
        return Ok(Reply::text(answer::NO_SUCH_BOARD));
    };
    let counts = shared.store.push_counts(board).await?.unwrap_or_default();
    let pinned = shared.store.pinned_posts(board).await?;
    let count_of = |id: PostId| counts.binary_search_by_key(&id, |(p, _)| *p).map_or(0, |i| counts[i].1);
    let rows: Vec<Vec<String>> = pinned_first(pinned, posts)
        .filter(|(_, p)| matches_key(key, &p.title))
        .map(|(pin, p)| {
            let push = answer::push_column(count_of(p.id));
            vec![serial_cell(p.id, pin), p.title, p.author, month_day(p.created_at), push]
        })
        .collect();
    Ok(Reply::text(format_table(&["S/N", "Title", "Author", "Date", "Push"], &rows)))
}
