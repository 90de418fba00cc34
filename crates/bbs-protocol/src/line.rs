//! Splits a byte stream into command lines with a length limit.
//!
//! Unlike `tokio_util`'s `LinesCodec`, an over-long line does not end the
//! stream: the decoder reports it once, at once, skips the rest of it up to
//! the next line break, and goes on with the lines behind it. Each line is
//! checked for UTF-8 on its own, so one bad line does not poison the rest.

use bytes::{Buf, BytesMut};

/// What a line could not be.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum LineError {
    #[error("line longer than {0} bytes")]
    TooLong(usize),
    #[error("line is not valid UTF-8")]
    InvalidUtf8,
}

/// Incremental line decoder; keeps its place between calls.
#[derive(Debug, Clone)]
pub struct LineDecoder {
    max: usize,
    /// Bytes of `buf` already searched for `\n` (avoids rescanning a line
    /// that arrives one byte at a time).
    scanned: usize,
    /// Inside an over-long line that was already reported.
    discarding: bool,
}

impl LineDecoder {
    pub fn new(max: usize) -> LineDecoder {
        LineDecoder { max, scanned: 0, discarding: false }
    }

    pub fn max(&self) -> usize {
        self.max
    }

    /// Takes the next complete line out of `buf` (without `\n` or `\r\n`).
    /// `None` means more bytes are needed.
    pub fn decode(&mut self, buf: &mut BytesMut) -> Option<Result<String, LineError>> {
        loop {
            if self.discarding {
                // Skip the rest of an over-long line, however long it is.
                match buf[self.scanned..].iter().position(|b| *b == b'\n') {
                    Some(pos) => {
                        buf.advance(self.scanned + pos + 1);
                        self.scanned = 0;
                        self.discarding = false;
                        continue;
                    }
                    None => {
                        buf.clear();
                        self.scanned = 0;
                        return None;
                    }
                }
            }
            // A line of `max` bytes may still be followed by `\r\n`.
            let window = buf.len().min(self.max + 2);
            let from = self.scanned.min(window);
            match buf[from..window].iter().position(|b| *b == b'\n') {
                Some(pos) => {
                    self.scanned = 0;
                    let line = buf.split_to(from + pos + 1);
                    let line = &line[..line.len() - 1];
                    let line = line.strip_suffix(b"\r").unwrap_or(line);
                    if line.len() > self.max {
                        return Some(Err(LineError::TooLong(self.max)));
                    }
                    return Some(
                        std::str::from_utf8(line).map(str::to_owned).map_err(|_| LineError::InvalidUtf8),
                    );
                }
                None if buf.len() > self.max + 1 => {
                    // Too long already: report it now, not when it ends.
                    buf.advance(window);
                    self.scanned = 0;
                    self.discarding = true;
                    return Some(Err(LineError::TooLong(self.max)));
                }
                None => {
                    self.scanned = buf.len();
                    return None;
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn decode_all(d: &mut LineDecoder, buf: &mut BytesMut) -> Vec<Result<String, LineError>> {
        std::iter::from_fn(|| d.decode(buf)).collect()
    }

    #[test]
    fn too_long_is_reported_once_and_following_lines_still_decode() {
        let mut d = LineDecoder::new(8);
        let mut buf = BytesMut::from(&b"123456789abc"[..]);
        assert_eq!(decode_all(&mut d, &mut buf), vec![Err(LineError::TooLong(8))]);
        buf.extend_from_slice(b"def\nwhoami\r\nabc");
        assert_eq!(decode_all(&mut d, &mut buf), vec![Ok("whoami".into())]);
        buf.extend_from_slice(b"\n");
        assert_eq!(decode_all(&mut d, &mut buf), vec![Ok("abc".into())]);
    }

    #[test]
    fn a_line_of_exactly_the_limit_is_accepted() {
        let mut d = LineDecoder::new(4);
        let mut buf = BytesMut::from(&b"abcd\nabcd\r\nabcde\nabcde\r\nx\n"[..]);
        assert_eq!(
            decode_all(&mut d, &mut buf),
            vec![
                Ok("abcd".into()),
                Ok("abcd".into()),
                Err(LineError::TooLong(4)),
                Err(LineError::TooLong(4)),
                Ok("x".into())
            ]
        );
    }

    #[test]
    fn invalid_utf8_spoils_only_its_own_line() {
        let mut d = LineDecoder::new(64);
        let mut buf = BytesMut::from(&b"a\xffb\nok\n"[..]);
        assert_eq!(decode_all(&mut d, &mut buf), vec![Err(LineError::InvalidUtf8), Ok("ok".into())]);
    }
}
