//! The client dialect's frames: after the hello, every line either way is
//! one JSON object ending in `\n` (JSON escapes newlines inside text, so a
//! frame ends at the first `\n` whatever a post contains).
//!
//! Client → server: [`ClientFrame`], a command line as typed or one of the
//! client's own requests (chatroom bookkeeping, keepalive), so a request can
//! never be mistaken for a command a person typed.
//!
//! Server → client: [`ServerFrame`]. Exactly one `answer` per client frame,
//! in order; `push` frames (a message for the user, sent unasked) may come
//! between answers but never inside one, because each frame is written
//! whole; `closing` is the server's last frame when it ends the connection
//! on its own (idle timeout, shutdown, a reader too slow for its pushes).

use serde::{Deserialize, Serialize};

use crate::Reply;

/// One line from the client.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ClientFrame {
    /// A command line, exactly as the user typed it.
    Command(String),
    /// "I have bound the port the server asked for; register my chatroom
    /// open". Answered with [`crate::Event::ChatroomOpened`] or a refusal.
    ChatroomOpened,
    /// "I closed my chatroom" (the owner's `leave-chatroom`, or `exit` with
    /// the room open). The registry shows `close` before the members are
    /// told, so what they see next is consistent.
    ChatroomClosed,
    /// Proves the client is alive while nothing else goes over the
    /// connection (the user is inside a chatroom); answered with an empty
    /// answer, and resets the server's idle timer like a command.
    Keepalive,
    /// `send-file`, one file: "I want to upload `name`, `size` bytes".
    /// `resume_key` (64 hex digits, [`crate::transfer::disk::resume_key`])
    /// tells this local file from another of the same name and size, so an
    /// interrupted upload resumes only from the same file's bytes; it is
    /// cheap to compute, unlike the SHA-256, which the client computes
    /// while sending and delivers at the end in a digest datagram (the
    /// server keeps the file only if it matches). Answered with a refusal,
    /// or with [`crate::Event::Transfer`] (the client then sends the bytes
    /// over UDP, see [`crate::transfer`]).
    SendFile { name: String, size: u64, resume_key: String },
    /// `get-file`, one file. Answered with a refusal, or with
    /// [`crate::Event::Transfer`] (the server then sends the bytes over
    /// UDP once the client's hello arrives).
    GetFile { name: String },
    /// The client is done with transfer `id` (hex): every byte went across,
    /// or it gave up. The server lets the transfer go and answers with its
    /// outcome: for an upload `Sent <name> (<size> bytes).` or why not
    /// (what arrived stays, so the same command resumes; bytes that did
    /// not match the digest do not); for a download, nothing (the client
    /// checked the bytes itself).
    TransferDone { id: String },
}

/// One line from the server.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ServerFrame {
    /// The answer to the client's frame (one per client frame, in order).
    Answer(Reply),
    /// Something for the user that nobody asked for just now.
    Push(Push),
    /// The server is ending the connection; `text` says why.
    Closing(Push),
}

/// A line the server delivers unasked.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Push {
    /// What to print, lines joined by `\n`.
    pub text: String,
}

impl Push {
    pub fn new(text: impl Into<String>) -> Push {
        Push { text: text.into() }
    }
}

impl ClientFrame {
    /// Encodes the frame as one line of JSON ending in `\n`.
    pub fn to_line(&self) -> Vec<u8> {
        let mut out = serde_json::to_vec(self).expect("a client frame always serialises");
        out.push(b'\n');
        out
    }

    /// Decodes one line (without its `\n`).
    pub fn from_line(line: &[u8]) -> Result<ClientFrame, serde_json::Error> {
        serde_json::from_slice(line)
    }
}

impl ServerFrame {
    /// Appends the encoded line to `out` (a buffer the caller reuses).
    pub fn write_line(&self, out: &mut impl std::io::Write) {
        serde_json::to_writer(&mut *out, self).expect("a server frame always serialises");
        out.write_all(b"\n").expect("writing to a memory buffer");
    }

    /// The bytes of an answer frame around its text, for an answer whose
    /// text is written in pieces: `prefix`, then each piece through
    /// [`push_json_escaped`], then `suffix` (which ends the line). The
    /// result is byte for byte what [`Self::write_line`] writes for
    /// `ServerFrame::Answer(Reply::text(whole_text))` with a non-empty text.
    pub fn answer_text_frame() -> (&'static [u8], &'static [u8]) {
        static PARTS: std::sync::OnceLock<(Vec<u8>, Vec<u8>)> = std::sync::OnceLock::new();
        let (prefix, suffix) = PARTS.get_or_init(|| {
            // A marker whose escaped form appears nowhere else in a frame.
            const MARKER: &[u8] = br"\u0001";
            let line = ServerFrame::Answer(crate::Reply::text("\u{1}")).to_line();
            let at = line.windows(MARKER.len()).position(|w| w == MARKER).expect("the marker is in the frame");
            (line[..at].to_vec(), line[at + MARKER.len()..].to_vec())
        });
        (prefix, suffix)
    }

    /// Encodes the frame as one line of JSON ending in `\n`.
    pub fn to_line(&self) -> Vec<u8> {
        let mut out = Vec::new();
        self.write_line(&mut out);
        out
    }

    /// Decodes one line (without its `\n`).
    pub fn from_line(line: &[u8]) -> Result<ServerFrame, serde_json::Error> {
        serde_json::from_slice(line)
    }
}

/// Appends `piece` as JSON string content (escaped, without quotes): the
/// pieces of a text escaped one by one give the text's escaped form.
pub fn push_json_escaped(out: &mut impl std::io::Write, piece: &str) {
    let quoted = serde_json::to_vec(piece).expect("a string always serialises");
    // Without the quotes serde_json put around it.
    out.write_all(&quoted[1..quoted.len() - 1]).expect("writing to a memory buffer");
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Event;

    #[test]
    fn any_text_round_trips_on_one_line() {
        let text = "% \n--\nWelcome, x.\r\n\u{0}\"quoted\"".to_owned() + &"y".repeat(60_000);
        let frames = [
            ServerFrame::Answer(Reply::with_event(&*text, Event::LoggedIn { username: "u".into(), token: "t".into() })),
            ServerFrame::Push(Push::new(&*text)),
            ServerFrame::Closing(Push::new("bye")),
        ];
        for frame in frames {
            let line = frame.to_line();
            assert_eq!(line.iter().filter(|b| **b == b'\n').count(), 1);
            assert_eq!(ServerFrame::from_line(&line[..line.len() - 1]).unwrap(), frame);
        }
        for frame in [ClientFrame::Command(text.clone()), ClientFrame::ChatroomOpened, ClientFrame::Keepalive] {
            let line = frame.to_line();
            assert_eq!(line.iter().filter(|b| **b == b'\n').count(), 1);
            assert_eq!(ClientFrame::from_line(&line[..line.len() - 1]).unwrap(), frame);
        }
    }

    #[test]
    fn an_answer_and_a_push_are_told_apart() {
        let answer = ServerFrame::Answer(Reply::text("hi")).to_line();
        let push = ServerFrame::Push(Push::new("hi")).to_line();
        assert_eq!(answer, b"{\"answer\":{\"text\":\"hi\"}}\n");
        assert_eq!(push, b"{\"push\":{\"text\":\"hi\"}}\n");
        assert_eq!(ClientFrame::Command("whoami".into()).to_line(), b"{\"command\":\"whoami\"}\n");
        assert_eq!(ClientFrame::Keepalive.to_line(), b"\"keepalive\"\n");
    }

    /// An answer written in pieces is byte for byte the frame of the whole
    /// text, wherever the pieces are cut and whatever needs escaping.
    #[test]
    fn an_answer_in_pieces_is_the_whole_frame() {
        let text = "S/N  Title\n1    \"公告\" \\ tab\there \u{7}\n2    end";
        let whole = ServerFrame::Answer(Reply::text(text)).to_line();
        let (prefix, suffix) = ServerFrame::answer_text_frame();
        for cut in text.char_indices().map(|(i, _)| i) {
            let mut pieced = prefix.to_vec();
            push_json_escaped(&mut pieced, &text[..cut]);
            push_json_escaped(&mut pieced, &text[cut..]);
            pieced.extend_from_slice(suffix);
            assert_eq!(String::from_utf8_lossy(&pieced), String::from_utf8_lossy(&whole), "cut at {cut}");
        }
    }
}
