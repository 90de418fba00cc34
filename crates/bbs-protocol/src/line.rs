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
    ///
    /// A line may hold `max` bytes before its `\r\n` (or `\n`); so the
    /// decoder looks at most `max + 2` bytes ahead for the line break, and
    /// reports a longer line as soon as that many bytes hold none.
    pub fn decode(&mut self, buf: &mut BytesMut) -> Option<Result<String, LineError>> {
        let window = self.max.saturating_add(2);
        loop {
            // While skipping the rest of an over-long line, any distance
            // to its end is fine; otherwise a line break must come in time.
            let limit = if self.discarding { buf.len() } else { buf.len().min(window) };
            let from = self.scanned.min(limit);
            let found = buf[from..limit].iter().position(|b| *b == b'\n');
            match found {
                Some(pos) => {
                    let end = from + pos;
                    self.scanned = 0;
                    let line = buf.split_to(end + 1);
                    if std::mem::take(&mut self.discarding) {
                        continue;
                    }
                    let mut line = &line[..end];
                    if let Some(stripped) = line.strip_suffix(b"\r") {
                        line = stripped;
                    }
                    if line.len() > self.max {
                        return Some(Err(LineError::TooLong(self.max)));
                    }
                    return Some(std::str::from_utf8(line).map(str::to_owned).map_err(|_| LineError::InvalidUtf8));
                }
                None if self.discarding => {
                    buf.advance(buf.len());
                    self.scanned = 0;
                    return None;
                }
                None if buf.len() >= window => {
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
        let mut buf = BytesMut::from(&b"123456789"[..]);
        assert_eq!(decode_all(&mut d, &mut buf), vec![], "9 bytes may still be 8 and a CR");
        buf.extend_from_slice(b"abc");
        assert_eq!(decode_all(&mut d, &mut buf), vec![Err(LineError::TooLong(8))]);
        buf.extend_from_slice(b"def\nwhoami\r\nabc");
        assert_eq!(decode_all(&mut d, &mut buf), vec![Ok("whoami".into())]);
        buf.extend_from_slice(b"\n");
        assert_eq!(decode_all(&mut d, &mut buf), vec![Ok("abc".into())]);
    }

    #[test]
    fn a_line_of_exactly_the_limit_is_accepted() {
        let mut d = LineDecoder::new(4);
        let mut buf = BytesMut::from(&b"abcd\nabcde\nx\nabcd\r\nabcde\r\nabcdef\r\ny\n"[..]);
        assert_eq!(
            decode_all(&mut d, &mut buf),
            vec![
                Ok("abcd".into()),
                Err(LineError::TooLong(4)),
                Ok("x".into()),
                Ok("abcd".into()),
                Err(LineError::TooLong(4)),
                Err(LineError::TooLong(4)),
                Ok("y".into())
            ]
        );
    }

    #[test]
    fn the_line_after_an_over_long_one_survives_when_both_arrive_together() {
        // Found by the split-invariance property test: skipping the rest of
        // an over-long line used to look only `max + 2` bytes ahead, and
        // threw the next line away with it.
        let mut d = LineDecoder::new(2);
        let mut buf = BytesMut::from("é日 and much more\r\nok\n".as_bytes());
        assert_eq!(decode_all(&mut d, &mut buf), vec![Err(LineError::TooLong(2)), Ok("ok".into())]);
    }

    #[test]
    fn invalid_utf8_spoils_only_its_own_line() {
        let mut d = LineDecoder::new(64);
        let mut buf = BytesMut::from(&b"a\xffb\nok\n"[..]);
        assert_eq!(decode_all(&mut d, &mut buf), vec![Err(LineError::InvalidUtf8), Ok("ok".into())]);
    }
}
