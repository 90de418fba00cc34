//! The SSH door's key management: `add-key`, `list-key`, `delete-key`.
//! A key is parsed and fingerprinted here, so the store only keeps text;
//! [`user_has_key`] is what the SSH door asks when a client offers a key.

use bbs_protocol::answer;
use bbs_protocol::command::{AddKey, DeleteKey, ListKey};
use bbs_protocol::table::format_table;
use bbs_protocol::Reply;
use bbs_storage::{NewSshKey, Store, StoreError};
use russh::keys::{HashAlg, PublicKey};

use super::context::{logged_in, now, require, Apply, Caller, Outcome};
use crate::state::Shared;

/// The key in the form it is stored and compared in: `<algorithm>
/// <base64>`, without the comment.
pub(crate) fn key_text(key: &PublicKey) -> Option<String> {
    let mut bare = key.clone();
    bare.set_comment("");
    bare.to_openssh().ok().map(|text| text.trim().to_owned())
}

impl Apply for AddKey {
    async fn apply<S: Store>(self, shared: &Shared<S>, caller: &mut Caller<'_>) -> Outcome {
        let user = require!(logged_in(caller));
        let Ok(key) = PublicKey::from_openssh(&self.key) else {
            return Ok(Reply::text(answer::NOT_A_KEY));
        };
        let Some(public_key) = key_text(&key) else {
            return Ok(Reply::text(answer::NOT_A_KEY));
        };
        let new = NewSshKey {
            public_key,
            fingerprint: key.fingerprint(HashAlg::Sha256).to_string(),
            comment: key.comment().to_string(),
            added_at: now(),
        };
        let max = shared.limits().max_ssh_keys;
        Ok(match shared.store.add_ssh_key(&user.name, new, max).await? {
            bbs_storage::AddKey::Added => Reply::text(answer::KEY_ADDED),
            bbs_storage::AddKey::AlreadyAdded => Reply::text(answer::KEY_EXISTS),
            bbs_storage::AddKey::TooMany => Reply::text(answer::too_many_keys(max)),
        })
    }
}

impl Apply for ListKey {
    async fn apply<S: Store>(self, shared: &Shared<S>, caller: &mut Caller<'_>) -> Outcome {
        let user = require!(logged_in(caller));
        let rows: Vec<Vec<String>> = shared
            .store
            .ssh_keys(&user.name)
            .await?
            .into_iter()
            .enumerate()
            .map(|(i, key)| {
                let kind = key.public_key.split_whitespace().next().unwrap_or_default().to_owned();
                vec![(i + 1).to_string(), kind, key.fingerprint, key.comment]
            })
            .collect();
        Ok(Reply::text(format_table(&["Index", "Type", "Fingerprint", "Comment"], &rows)))
    }
}

impl Apply for DeleteKey {
    async fn apply<S: Store>(self, shared: &Shared<S>, caller: &mut Caller<'_>) -> Outcome {
        let user = require!(logged_in(caller));
        let deleted = shared.store.delete_ssh_key(&user.name, self.index).await?;
        Ok(Reply::text(if deleted { answer::KEY_DELETED } else { answer::NO_SUCH_KEY }))
    }
}

/// Whether `user` registered `key` (the key a client proved it holds).
pub(crate) async fn user_has_key<S: Store>(
    shared: &Shared<S>,
    user: &str,
    key: &PublicKey,
) -> Result<bool, StoreError> {
    let Some(offered) = key_text(key) else { return Ok(false) };
    Ok(shared.store.ssh_keys(user).await?.iter().any(|k| k.public_key == offered))
}
