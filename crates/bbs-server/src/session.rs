//! What a connection knows about its user, and the token registry the UDP
//! side uses to recognise logged-in users.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Mutex;

/// The state of one TCP connection.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub enum Session {
    #[default]
    Anonymous,
    LoggedIn(User),
}

/// A logged-in user on one connection.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct User {
    pub name: String,
    /// The UDP token given at login; revoked at logout or disconnect.
    pub token: String,
}

impl Session {
    pub fn user(&self) -> Option<&User> {
        match self {
            Session::Anonymous => None,
            Session::LoggedIn(user) => Some(user),
        }
    }
}

/// Live login tokens: token → who, and from which address.
#[derive(Debug, Default)]
pub struct Tokens {
    live: Mutex<HashMap<String, TokenOwner>>,
}

#[derive(Debug, Clone)]
struct TokenOwner {
    name: String,
    ip: IpAddr,
}

impl Tokens {
    pub fn insert(&self, token: &str, name: &str, ip: IpAddr) {
        self.live.lock().expect("tokens lock").insert(token.to_owned(), TokenOwner { name: name.to_owned(), ip });
    }

    pub fn revoke(&self, token: &str) {
        self.live.lock().expect("tokens lock").remove(token);
    }

    /// The user of a token, if it is live and used from the address that
    /// logged in (a token seen on the wire is useless elsewhere).
    pub fn user(&self, token: &str, from: IpAddr) -> Option<String> {
        let live = self.live.lock().expect("tokens lock");
        live.get(token).filter(|owner| owner.ip == from).map(|owner| owner.name.clone())
    }
}
