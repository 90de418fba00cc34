//! Files over UDP: `get-file-list`, and the client's requests that open
//! and close transfers (`send-file` and `get-file` are carried out by the
//! client one file at a time; the bytes travel over UDP, see
//! `transfers.rs`).
//!
//! Checks run in the spec's order: login, then the name, then whether the
//! file exists, then the size limit and the quotas, then the number of
//! transfers running.

use bbs_protocol::answer;
use bbs_protocol::command::files::valid_file_name;
use bbs_protocol::command::{GetFile, GetFileList, SendFile};
use bbs_protocol::{Event, Reply};
use bbs_storage::Store;

use super::context::{logged_in, require, Apply, Caller, Outcome};
use crate::state::Shared;
use crate::transfers::{held_chunks, upload_answer, Direction, Plan};

impl Apply for GetFileList {
    async fn apply<S: Store>(self, shared: &Shared<S>, _caller: &mut Caller<'_>) -> Outcome {
        Ok(Reply::text(answer::file_list(&shared.store.file_names().await?)))
    }
}

impl Apply for SendFile {
    /// The client carries out `send-file` itself; only a client that
    /// sends the typed line gets here.
    async fn apply<S: Store>(self, _shared: &Shared<S>, _caller: &mut Caller<'_>) -> Outcome {
        Ok(Reply::text("send-file is handled inside the bbs client."))
    }
}

impl Apply for GetFile {
    async fn apply<S: Store>(self, _shared: &Shared<S>, _caller: &mut Caller<'_>) -> Outcome {
        Ok(Reply::text("get-file is handled inside the bbs client."))
    }
}

/// A resume key's form: 64 lower-case hex digits (a SHA-256).
fn is_resume_key(hex: &str) -> bool {
    hex.len() == 64 && hex.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

/// The answer when no transfer can start now (too many running).
fn busy(name: &str) -> Reply {
    Reply::text(answer::transfers_busy(name))
}

/// The answer that opens a transfer; `sha256` is the file's for a download,
/// empty for an upload (its digest comes at the end).
fn transfer_event<S>(shared: &Shared<S>, id: &[u8; 16], offset: u64, size: u64, sha256: String) -> Reply {
    Reply::with_event("", Event::Transfer { id: hex::encode(id), port: shared.transfers.port(), offset, size, sha256 })
}

/// One file of `send-file`: the client wants to upload `name`; an earlier,
/// interrupted upload of the same local file (the same `resume_key`) is
/// continued.
pub(crate) async fn send_file<S: Store>(
    shared: &Shared<S>,
    caller: &mut Caller<'_>,
    name: String,
    size: u64,
    resume_key: String,
) -> Outcome {
    let owner = require!(logged_in(caller)).name.clone();
    if !valid_file_name(&name) {
        return Ok(Reply::text(answer::invalid_file_name(&name)));
    }
    if shared.store.file(&name).await?.is_some() {
        return Ok(Reply::text(answer::file_exists(&name)));
    }
    let config = &shared.config;
    if size > config.max_file_size {
        return Ok(Reply::text(answer::file_too_large(&name, config.max_file_size)));
    }
    if !is_resume_key(&resume_key) {
        return Ok(Reply::text("Error: the resume key must be 64 lower-case hex digits."));
    }
    let usage = shared.store.file_usage(&owner).await?;
    if usage.user.saturating_add(size) > config.file_quota_per_user {
        return Ok(Reply::text(answer::user_quota_full(&name, config.file_quota_per_user, usage.user)));
    }
    if usage.total.saturating_add(size) > config.file_quota_total {
        return Ok(Reply::text(answer::file_area_full(&name)));
    }
    let (all, own) = shared.transfers.running(&owner);
    if all >= config.max_transfers || own >= config.max_transfers_per_user {
        return Ok(busy(&name));
    }
    // Interrupted uploads nobody came back for go (bounded work per call).
    shared.files.clean_stale_partials(config.transfer_idle_timeout, &shared.transfers.partials_in_use(), false);
    let partial = shared.files.partial_path(&owner, &name, size, &resume_key);
    let resume = held_chunks(&partial, size);
    let plan = Plan {
        name: name.clone(),
        owner,
        size,
        direction: Direction::Upload { partial, complete: shared.files.complete_path(&name), resume },
        idle_timeout: config.transfer_idle_timeout,
        quota_per_user: config.file_quota_per_user,
        quota_total: config.file_quota_total,
    };
    let Some(id) = shared.transfers.open(shared.store.clone(), caller.peer.ip(), plan) else {
        return Ok(busy(&name));
    };
    let offset = (resume * bbs_protocol::transfer::CHUNK as u64).min(size);
    Ok(transfer_event(shared, &id, offset, size, String::new()))
}

/// One file of `get-file`: the client wants to download `name`.
pub(crate) async fn get_file<S: Store>(shared: &Shared<S>, caller: &mut Caller<'_>, name: String) -> Outcome {
    let owner = require!(logged_in(caller)).name.clone();
    if !valid_file_name(&name) {
        return Ok(Reply::text(answer::invalid_file_name(&name)));
    }
    let Some(file) = shared.store.file(&name).await? else {
        return Ok(Reply::text(answer::no_such_file(&name)));
    };
    let config = &shared.config;
    let (all, own) = shared.transfers.running(&owner);
    if all >= config.max_transfers || own >= config.max_transfers_per_user {
        return Ok(busy(&name));
    }
    let plan = Plan {
        name: name.clone(),
        owner,
        size: file.size,
        direction: Direction::Download { path: shared.files.complete_path(&name) },
        idle_timeout: config.transfer_idle_timeout,
        quota_per_user: config.file_quota_per_user,
        quota_total: config.file_quota_total,
    };
    let Some(id) = shared.transfers.open(shared.store.clone(), caller.peer.ip(), plan) else {
        return Ok(busy(&name));
    };
    Ok(transfer_event(shared, &id, 0, file.size, file.sha256))
}

/// The client lets transfer `id` go: the upload's outcome, or nothing.
pub(crate) fn transfer_done<S: Store>(shared: &Shared<S>, caller: &mut Caller<'_>, id: &str) -> Outcome {
    let owner = require!(logged_in(caller)).name.clone();
    let id: Option<[u8; 16]> = hex::decode(id).ok().and_then(|bytes| bytes.try_into().ok());
    let finished = id.and_then(|id| shared.transfers.finish(&id, &owner));
    Ok(match finished {
        Some(done) if done.upload => Reply::text(upload_answer(&done.name, done.size, &done.progress)),
        Some(_) => Reply::default(),
        // It ended on its own (silent for too long).
        None => Reply::text("The transfer has ended; run the same command again to resume it."),
    })
}
