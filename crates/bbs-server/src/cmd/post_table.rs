//! `list-post` of a board too big to hold: the course's table, produced in
//! pieces as the connection's peer takes them (see `engine.rs`).
//!
//! A table's columns are as wide as their widest cell, so the rows are read
//! twice from the store's [`PostPages`], which is one snapshot: first for
//! the widths (display columns, so CJK titles count two), then to write
//! them. Memory is a page of rows and the text of one piece, whatever the
//! board holds; the bytes are those of [`format_table`] over all rows.
//!
//! [`format_table`]: bbs_protocol::table::format_table

use bbs_protocol::table::{cell_width, push_row};
use bbs_storage::{PostId, PostPages, PostSummary, StoreError};

use super::board::{month_day, serial_cell};

/// Rows read from the store at a time, and rows per piece of the answer.
const PAGE_ROWS: usize = 1000;

const HEADERS: [&str; 4] = ["S/N", "Title", "Author", "Date"];

/// A `list-post` answer being written.
pub(crate) struct PostTable {
    /// `None` only while a page is being read on the blocking pool.
    pages: Option<Box<dyn PostPages>>,
    /// The board's pinned posts: written first, skipped among the pages.
    pinned: Vec<PostSummary>,
    widths: [usize; 4],
    after: Option<PostId>,
    header_sent: bool,
    done: bool,
}

impl std::fmt::Debug for PostTable {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PostTable").field("widths", &self.widths).field("after", &self.after).finish()
    }
}

impl PostTable {
    /// Reads every row once for the column widths.
    pub(crate) async fn open(pages: Box<dyn PostPages>, pinned: Vec<PostSummary>) -> Result<PostTable, StoreError> {
        let mut widths = HEADERS.map(cell_width);
        for post in &pinned {
            let cells = [cell_width(&serial_cell(post.id, true)), cell_width(&post.title), cell_width(&post.author), 5];
            for (width, cell) in widths.iter_mut().zip(cells) {
                *width = (*width).max(cell);
            }
        }
        let pinned_ids: Vec<PostId> = pinned.iter().map(|p| p.id).collect();
        let (pages, widths) = blocking(move || {
            let mut pages = pages;
            let mut after = None;
            loop {
                let page = pages.next_page(after, PAGE_ROWS)?;
                let Some(last) = page.last() else { break };
                after = Some(last.id);
                for post in page.iter().filter(|p| !pinned_ids.contains(&p.id)) {
                    let cells = [post.id.to_string().len(), cell_width(&post.title), cell_width(&post.author), 0];
                    for (width, cell) in widths.iter_mut().zip(cells) {
                        *width = (*width).max(cell);
                    }
                }
                // `MM/DD` (or `??/??`): always five columns.
                widths[3] = widths[3].max(5);
            }
            Ok((pages, widths))
        })
        .await?;
        Ok(PostTable { pages: Some(pages), pinned, widths, after: None, header_sent: false, done: false })
    }

    /// The next piece of the table's text (the header first, lines joined
    /// by `\n`, a piece after the first starting with its `\n`), or `None`
    /// once everything was given.
    pub(crate) async fn next_piece(&mut self) -> Result<Option<String>, StoreError> {
        if self.done {
            return Ok(None);
        }
        let mut text = String::new();
        if !self.header_sent {
            self.header_sent = true;
            push_row(&mut text, &self.widths, &HEADERS);
            for post in &self.pinned {
                text.push('\n');
                let cells =
                    [serial_cell(post.id, true), post.title.clone(), post.author.clone(), month_day(post.created_at)];
                push_row(&mut text, &self.widths, &cells);
            }
        }
        let (pages, after) = (self.pages.take().expect("pages are back between pieces"), self.after);
        let (pages, page) = blocking(move || {
            let mut pages = pages;
            let page = pages.next_page(after, PAGE_ROWS);
            Ok((pages, page))
        })
        .await?;
        self.pages = Some(pages);
        let page: Vec<PostSummary> = page?;
        match page.last() {
            Some(last) => self.after = Some(last.id),
            None => {
                self.done = true;
                // The snapshot is released as soon as the rows are out.
                self.pages = None;
            }
        }
        for post in page.into_iter().filter(|p| !self.pinned.iter().any(|pin| pin.id == p.id)) {
            text.push('\n');
            push_row(
                &mut text,
                &self.widths,
                &[post.id.to_string(), post.title, post.author, month_day(post.created_at)],
            );
        }
        Ok(if text.is_empty() { None } else { Some(text) })
    }
}

/// Runs store work that blocks off the async workers.
async fn blocking<T: Send + 'static>(
    work: impl FnOnce() -> Result<T, StoreError> + Send + 'static,
) -> Result<T, StoreError> {
    tokio::task::spawn_blocking(work).await.map_err(|_| StoreError::Closed)?
}
