//! Read-only views of the boards for the web door: server-rendered HTML
//! that works without JavaScript, and the same data as JSON.
//!
//! Everything users wrote (board names, titles, contents, comments, user
//! names) reaches the HTML only through [`escape`], and the pages forbid
//! scripts by their Content-Security-Policy as a second line of defence.
//! `/api/search?q=<words>` answers what the `search` command does, as JSON.

use std::fmt::Write;
use std::sync::Arc;

use axum::extract::{Path, Query, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Json, Response};
use axum::routing::get;
use axum::Router;
use bbs_storage::{CommentKind, Post, PostSummary, Store, StoreError};
use serde_json::json;

use super::web::Web;

/// Pages run no script and load nothing from elsewhere.
const PAGE_POLICY: &str = "default-src 'none'; style-src 'unsafe-inline'";

const STYLE: &str = "body{font-family:sans-serif;max-width:50em;margin:2em auto;padding:0 1em;line-height:1.4}\
table{border-collapse:collapse}td,th{padding:.2em .8em;text-align:left;border-bottom:1px solid #ddd}\
.content{white-space:pre-wrap}";

pub(crate) fn routes<S: Store>() -> Router<Arc<Web<S>>> {
    Router::new()
        .route("/boards", get(boards_page::<S>))
        .route("/boards/{name}", get(board_page::<S>))
        .route("/posts/{id}", get(post_page::<S>))
        .route("/api/boards", get(boards_json::<S>))
        .route("/api/boards/{name}/posts", get(board_json::<S>))
        .route("/api/posts/{id}", get(post_json::<S>))
        .route("/api/search", get(search_json::<S>))
}

/// Text made safe to put in HTML, in element content or a quoted attribute.
pub(crate) fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// A path segment (board names are free text).
fn path_segment(text: &str) -> String {
    let mut out = String::new();
    for byte in text.bytes() {
        if byte.is_ascii_alphanumeric() || b"-._~".contains(&byte) {
            out.push(char::from(byte));
        } else {
            let _ = write!(out, "%{byte:02X}");
        }
    }
    out
}

fn date(at: i64) -> String {
    chrono::DateTime::from_timestamp(at, 0).map_or_else(String::new, |d| d.format("%Y-%m-%d").to_string())
}

/// A whole page around `body` (already HTML); `title` is escaped here.
fn page(status: StatusCode, title: &str, body: &str) -> Response {
    let html = format!(
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
         <title>{} · BBS</title><style>{STYLE}</style></head>\n<body>\
         <nav><a href=\"/boards\">Boards</a> · <a href=\"/\">Terminal</a></nav>\n<main>\n{body}\n</main></body></html>\n",
        escape(title)
    );
    (
        status,
        [
            (header::CONTENT_TYPE, "text/html; charset=utf-8"),
            (header::CONTENT_SECURITY_POLICY, PAGE_POLICY),
            (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
        ],
        html,
    )
        .into_response()
}

fn not_found(what: &str) -> Response {
    page(StatusCode::NOT_FOUND, what, &format!("<h1>{}</h1>", escape(what)))
}

fn server_error(error: StoreError) -> Response {
    tracing::error!(%error, "web page failed");
    (StatusCode::INTERNAL_SERVER_ERROR, "Server error: please try again.").into_response()
}

async fn boards_page<S: Store>(State(web): State<Arc<Web<S>>>) -> Response {
    let boards = match web.shared.store.boards().await {
        Ok(boards) => boards,
        Err(e) => return server_error(e),
    };
    let mut body = String::from("<h1>Boards</h1>\n");
    if boards.is_empty() {
        body.push_str("<p>No boards yet.</p>");
    } else {
        body.push_str("<table><tr><th>Index</th><th>Name</th><th>Moderator</th></tr>\n");
        for board in boards {
            let _ = writeln!(
                body,
                "<tr><td>{}</td><td><a href=\"/boards/{}\">{}</a></td><td>{}</td></tr>",
                board.index,
                path_segment(&board.name),
                escape(&board.name),
                escape(&board.moderator)
            );
        }
        body.push_str("</table>");
    }
    page(StatusCode::OK, "Boards", &body)
}

/// A comment's kind in the JSON API.
fn kind_name(kind: CommentKind) -> &'static str {
    match kind {
        CommentKind::Comment => "comment",
        CommentKind::Push => "push",
        CommentKind::Boo => "boo",
    }
}

/// A board's posts as `list-post --long` has them: pinned ones first
/// (marked), each with its count.
async fn long_listing<S: Store>(web: &Web<S>, name: &str) -> Result<Option<Vec<(bool, PostSummary, i64)>>, StoreError> {
    let store = &web.shared.store;
    let Some(posts) = store.posts(name).await? else { return Ok(None) };
    let pinned = store.pinned_posts(name).await?;
    let counts = store.push_counts(name).await?.unwrap_or_default();
    let count_of = |id| counts.binary_search_by_key(&id, |(p, _)| *p).map_or(0, |i| counts[i].1);
    let ids: Vec<_> = pinned.iter().map(|p| p.id).collect();
    let rows = pinned
        .into_iter()
        .map(|p| (true, p))
        .chain(posts.into_iter().filter(|p| !ids.contains(&p.id)).map(|p| (false, p)))
        .map(|(pin, p)| {
            let count = count_of(p.id);
            (pin, p, count)
        })
        .collect();
    Ok(Some(rows))
}

async fn board_page<S: Store>(State(web): State<Arc<Web<S>>>, Path(name): Path<String>) -> Response {
    let posts = match long_listing(&web, &name).await {
        Ok(Some(posts)) => posts,
        Ok(None) => return not_found("Board does not exist."),
        Err(e) => return server_error(e),
    };
    let mut body = format!("<h1>{}</h1>\n", escape(&name));
    if posts.is_empty() {
        body.push_str("<p>No posts yet.</p>");
    } else {
        body.push_str("<table><tr><th>S/N</th><th>Title</th><th>Author</th><th>Date</th><th>Push</th></tr>\n");
        for (pinned, post, count) in posts {
            let _ = writeln!(
                body,
                "<tr><td>{}{}</td><td><a href=\"/posts/{}\">{}</a></td><td>{}</td><td>{}</td><td>{}</td></tr>",
                if pinned { bbs_protocol::answer::PIN_MARK } else { "" },
                post.id,
                post.id,
                escape(&post.title),
                escape(&post.author),
                date(post.created_at),
                bbs_protocol::answer::push_column(count)
            );
        }
        body.push_str("</table>");
    }
    page(StatusCode::OK, &name, &body)
}

async fn post_page<S: Store>(State(web): State<Arc<Web<S>>>, Path(id): Path<String>) -> Response {
    let post = match load_post(&web, &id).await {
        Ok(Some(post)) => post,
        Ok(None) => return not_found("Post does not exist."),
        Err(e) => return server_error(e),
    };
    let mut body = format!(
        "<h1>{}</h1>\n<p>By {} on {} in <a href=\"/boards/{}\">{}</a></p>\n<div class=\"content\">{}</div>\n",
        escape(&post.title),
        escape(&post.author),
        date(post.created_at),
        path_segment(&post.board),
        escape(&post.board),
        escape(&post.content)
    );
    if !post.comments.is_empty() {
        body.push_str("<h2>Comments</h2>\n<ul>\n");
        for comment in &post.comments {
            let mark = match comment.kind {
                CommentKind::Comment => "",
                CommentKind::Push => "推 ",
                CommentKind::Boo => "噓 ",
            };
            let _ = writeln!(body, "<li>{mark}<b>{}</b>: {}</li>", escape(&comment.author), escape(&comment.text));
        }
        body.push_str("</ul>");
    }
    page(StatusCode::OK, &post.title, &body)
}

async fn load_post<S: Store>(web: &Web<S>, id: &str) -> Result<Option<Post>, StoreError> {
    // Digits only, as the `read` command takes them.
    if !id.bytes().all(|b| b.is_ascii_digit()) {
        return Ok(None);
    }
    match id.parse() {
        Ok(id) => web.shared.store.post(id).await,
        Err(_) => Ok(None),
    }
}

fn json_error(status: StatusCode, message: &str) -> Response {
    (status, Json(json!({ "error": message }))).into_response()
}

fn json_failure(error: StoreError) -> Response {
    tracing::error!(%error, "web API failed");
    json_error(StatusCode::INTERNAL_SERVER_ERROR, "server error")
}

async fn boards_json<S: Store>(State(web): State<Arc<Web<S>>>) -> Response {
    match web.shared.store.boards().await {
        Ok(boards) => Json(json!({
            "boards": boards
                .into_iter()
                .map(|b| json!({ "index": b.index, "name": b.name, "moderator": b.moderator }))
                .collect::<Vec<_>>()
        }))
        .into_response(),
        Err(e) => json_failure(e),
    }
}

fn summary_json(post: PostSummary) -> serde_json::Value {
    json!({ "id": post.id, "title": post.title, "author": post.author, "created_at": post.created_at })
}

async fn board_json<S: Store>(State(web): State<Arc<Web<S>>>, Path(name): Path<String>) -> Response {
    match web.shared.store.posts(&name).await {
        Ok(Some(posts)) => {
            Json(json!({ "board": name, "posts": posts.into_iter().map(summary_json).collect::<Vec<_>>() }))
                .into_response()
        }
        Ok(None) => json_error(StatusCode::NOT_FOUND, "Board does not exist."),
        Err(e) => json_failure(e),
    }
}

/// The query of `/api/search`: `q` holds the words, separated by spaces.
#[derive(Debug, serde::Deserialize)]
struct SearchQuery {
    #[serde(default)]
    q: String,
}

/// `search <words>` as JSON: the same posts, newest first, the same limits.
async fn search_json<S: Store>(State(web): State<Arc<Web<S>>>, Query(query): Query<SearchQuery>) -> Response {
    let words: Vec<String> = query.q.split_whitespace().map(str::to_owned).collect();
    if words.is_empty() {
        return json_error(StatusCode::BAD_REQUEST, "Usage: /api/search?q=<words>");
    }
    let max = web.shared.config.max_search_words;
    if words.len() > max {
        return json_error(StatusCode::BAD_REQUEST, &bbs_protocol::answer::too_many_search_words(max));
    }
    match web.shared.store.search(&words, crate::cmd::MAX_SEARCH_HITS).await {
        Ok(hits) => Json(json!({
            "posts": hits
                .into_iter()
                .map(|hit| json!({
                    "id": hit.id,
                    "board": hit.board,
                    "title": hit.title,
                    "author": hit.author,
                    "created_at": hit.created_at,
                }))
                .collect::<Vec<_>>(),
        }))
        .into_response(),
        Err(e) => json_failure(e),
    }
}

async fn post_json<S: Store>(State(web): State<Arc<Web<S>>>, Path(id): Path<String>) -> Response {
    match load_post(&web, &id).await {
        Ok(Some(post)) => Json(json!({
            "id": post.id,
            "board": post.board,
            "author": post.author,
            "title": post.title,
            "content": post.content,
            "created_at": post.created_at,
            "comments": post
                .comments
                .iter()
                .map(|c| json!({ "author": c.author, "text": c.text, "kind": kind_name(c.kind) }))
                .collect::<Vec<_>>(),
        }))
        .into_response(),
        Ok(None) => json_error(StatusCode::NOT_FOUND, "Post does not exist."),
        Err(e) => json_failure(e),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn markup_is_escaped() {
        assert_eq!(
            escape(r#"<script>alert("x")</script> & 'y'"#),
            "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; &#39;y&#39;"
        );
        assert_eq!(path_segment("a b/<c>"), "a%20b%2F%3Cc%3E");
    }
}
