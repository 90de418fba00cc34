//! Answer texts of the course protocol, each defined once and printed by
//! whichever side produces it: the server for what it decides, the client
//! for what it decides itself (`attach`, chatroom mode). A grader compares
//! these byte for byte, so no other crate spells them out.

// Accounts (spec §4).
pub const REGISTERED: &str = "Register successfully.";
pub const NAME_TAKEN: &str = "Username is already used.";
pub const LOGIN_FIRST: &str = "Please login first.";
pub const LOGOUT_FIRST: &str = "Please logout first.";
pub const LOGIN_FAILED: &str = "Login failed.";
/// `logout` while the user's chatroom still runs.
pub const LEAVE_ROOM_FIRST: &str = "Please do \"attach\" and \"leave-chatroom\" first.";

pub fn welcome(name: &str) -> String {
    format!("Welcome, {name}.")
}

pub fn bye(name: &str) -> String {
    format!("Bye, {name}.")
}

// Boards and posts (spec §5).
pub const BOARD_CREATED: &str = "Create board successfully.";
pub const BOARD_EXISTS: &str = "Board already exists.";
pub const NO_SUCH_BOARD: &str = "Board does not exist.";
pub const POST_CREATED: &str = "Create post successfully.";
pub const NO_SUCH_POST: &str = "Post does not exist.";
pub const NOT_POST_OWNER: &str = "Not the post owner.";
pub const POST_DELETED: &str = "Delete successfully.";
pub const POST_UPDATED: &str = "Update successfully.";
pub const COMMENTED: &str = "Comment successfully.";

// Chatrooms (spec §7).
pub const NO_SUCH_ROOM: &str = "The chatroom does not exist or the chatroom is close.";
pub const ROOM_EXISTS: &str = "User has already created the chatroom.";
pub const CREATE_ROOM_FIRST: &str = "Please create-chatroom first.";
pub const RESTART_ROOM_FIRST: &str = "Please restart-chatroom first.";
pub const ROOM_STILL_RUNNING: &str = "Your chatroom is still running.";
pub const ROOM_STARTING: &str = "start to create chatroom...";
/// Printed when a member or the owner is back at the BBS prompt.
pub const WELCOME_BACK: &str = "Welcome back to BBS.";
/// The system message every member sees when the room closes.
pub const ROOM_CLOSED: &str = "the chatroom is close.";

// Beyond the course: what a public server must say when it refuses.
/// The connection was silent for the idle timeout.
pub const IDLE_CLOSE: &str = "Idle for too long: closing the connection.";
/// The server is shutting down.
pub const SHUTTING_DOWN: &str = "The server is shutting down: closing the connection.";

pub fn line_too_long(max: usize) -> String {
    format!("Error: line too long (the limit is {max} bytes); it was ignored.")
}

pub const LINE_NOT_UTF8: &str = "Error: the line is not valid UTF-8; it was ignored.";

// Social (who is online, messages, shared accounts, mail).

// Search and subscriptions.

// Files over UDP.
pub const NO_FILE_TO_SEND: &str = "No file to send.";

/// `get-file-list`: `Files:` then the names, sorted, one space apart.
pub fn file_list(names: &[String]) -> String {
    let mut text = String::from("Files:");
    for name in names {
        text.push(' ');
        text.push_str(name);
    }
    text
}

pub fn no_such_local_file(name: &str) -> String {
    format!("{name}: no such local file.")
}

pub fn file_exists(name: &str) -> String {
    format!("{name} already exists.")
}

pub fn file_too_large(name: &str, limit: u64) -> String {
    format!("{name} is too large (the limit is {limit} bytes).")
}

pub fn no_such_file(name: &str) -> String {
    format!("{name} does not exist.")
}

pub fn invalid_file_name(name: &str) -> String {
    format!("{name} is not a valid file name.")
}

pub fn file_sent(name: &str, size: u64) -> String {
    format!("Sent {name} ({size} bytes).")
}

pub fn file_received(name: &str, size: u64) -> String {
    format!("Received {name} ({size} bytes).")
}

/// A telnet user's `send-file` / `get-file`.
pub fn files_need_client(command: &str) -> String {
    format!(
        "{command} needs the bbs client: file contents travel over UDP between the client and the server. \
         Connect with: bbs <host> <port>"
    )
}

// Beyond the spec: limits and failures, each saying what to do next.
pub fn user_quota_full(name: &str, quota: u64, used: u64) -> String {
    format!("{name} does not fit in your quota ({used} of {quota} bytes used).")
}

pub fn file_area_full(name: &str) -> String {
    format!("{name} does not fit: the server's file area is full.")
}

pub fn transfers_busy(name: &str) -> String {
    format!("{name}: too many transfers at once; please try again in a moment.")
}

pub fn transfer_interrupted(name: &str, held: u64, size: u64) -> String {
    format!("{name}: the transfer stopped at {held} of {size} bytes; run the same command again to resume.")
}

pub fn transfer_damaged(name: &str) -> String {
    format!("{name}: the bytes that arrived do not match the file's SHA-256; nothing was kept. Please try again.")
}

pub fn transfer_stalled(name: &str, seconds: u64) -> String {
    format!("{name}: no answer from the server for {seconds} seconds; run the same command again to resume.")
}

pub fn local_file_error(name: &str, error: &str) -> String {
    format!("{name}: {error}.")
}
