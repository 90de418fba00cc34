//! The full-screen interface of `bbsd`, as pure state machines: nothing
//! here reads a socket, a clock or the store. A door feeds bytes and
//! events in and writes the bytes that come out, so every part can be
//! driven by tests at any byte split and rendered into a test buffer.
//!
//! - [`input`]: terminal bytes to keys (escape sequences split across
//!   reads, UTF-8, bracketed paste);
//! - [`telnet`]: telnet option negotiation (ECHO, SGA, BINARY, NAWS,
//!   TTYPE) and window sizes;
//! - [`text`]: display width of text (CJK takes two columns), cut at a
//!   width without splitting a character, wrapped by width;
//! - [`buffer`]: a grid of cells and the renderer that turns the change
//!   since the last frame into ANSI output;
//! - [`keys`]: one key table per screen, which both dispatches keys and
//!   draws the hints;
//! - [`app`]: the screens (login, main menu, boards, posts, reader,
//!   editor, lists, help), their state and their rendering; what they need
//!   from the server goes out as [`app::Effect`]s and comes back as
//!   [`app::Data`].

pub mod app;
pub mod buffer;
pub mod editor;
pub mod input;
pub mod keys;
mod render;
pub mod telnet;
pub mod text;

pub use app::{App, Data, Effect};
pub use buffer::{Buffer, Renderer, Style};
pub use input::{Input, InputParser, Key};
