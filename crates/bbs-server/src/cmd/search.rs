//! `search <words>`: full-text search over every post, through the
//! store's index (never a pass over the posts).

use bbs_protocol::answer;
use bbs_protocol::command::Search;
use bbs_protocol::table::format_table;
use bbs_protocol::Reply;
use bbs_storage::Store;

use super::board::month_day;
use super::context::{Apply, Caller, Outcome};
use crate::state::Shared;

/// The most rows one `search` answers with, newest first (also the web
/// door's search API).
pub(crate) const MAX_HITS: usize = 50;

impl Apply for Search {
    async fn apply<S: Store>(self, shared: &Shared<S>, _caller: &mut Caller<'_>) -> Outcome {
        if self.words.len() > shared.limits().max_search_words {
            return Ok(Reply::text(answer::too_many_search_words(shared.limits().max_search_words)));
        }
        let rows: Vec<Vec<String>> = shared
            .store
            .search(&self.words, MAX_HITS)
            .await?
            .into_iter()
            .map(|hit| vec![hit.id.to_string(), hit.board, hit.title, hit.author, month_day(hit.created_at)])
            .collect();
        Ok(Reply::text(format_table(&["S/N", "Board", "Title", "Author", "Date"], &rows)))
    }
}
