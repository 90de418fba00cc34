//! Command types of the social area: who is online, instant messages, the
//! shared accounts and mail. Their table rows are in the "Social" section
//! of the command table (`mod.rs`).

use super::{clean_text, content_text, Args};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListOnline;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Tell {
    pub to: String,
    /// The rest of the line, surrounding spaces trimmed, control
    /// characters removed.
    pub message: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Yell {
    pub message: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mute;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unmute;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ShowAccounts;

/// `deposit` and `withdraw` keep the amount as typed: whether it is a
/// positive integer is an answer of its own (after the login check), not
/// a usage error.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Deposit {
    pub account: String,
    pub money: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Withdraw {
    pub account: String,
    pub money: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MailTo {
    pub to: String,
    pub subject: String,
    /// With `<br>` already turned into `\n`.
    pub content: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListMail;

/// A mail's position in the mailbox, counting from 1 (oldest first).
pub type MailNumber = u64;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RetrMail {
    pub mail: MailNumber,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeleteMail {
    pub mail: MailNumber,
}

/// The whole rest of the line as one message (at least one character),
/// surrounding spaces trimmed, inner spaces kept, control characters gone.
pub(super) fn message(args: &Args<'_>) -> Option<String> {
    let text = clean_text(args.rest);
    let text = text.trim();
    (!text.is_empty()).then(|| text.to_owned())
}

pub(super) fn tell(args: &Args<'_>) -> Option<Tell> {
    let (to, message) = args.first_and_rest()?;
    let message = clean_text(message).trim().to_owned();
    (!message.is_empty()).then(|| Tell { to: to.into(), message })
}

pub(super) fn mail_to(args: &Args<'_>) -> Option<MailTo> {
    let flags = named_flags(args.rest, &["--subject", "--content"])?;
    let [to] = super::exact(&flags.positional)?;
    let [Some(subject), Some(content)] = flags.values[..] else { return None };
    let subject = clean_text(subject);
    let content = content_text(content);
    (!subject.trim().is_empty() && !content.trim().is_empty()).then(|| MailTo { to: to.into(), subject, content })
}

/// A mail number as typed: digits only (`0` is a number, of no mail).
pub(super) fn mail_number(word: &str) -> Option<MailNumber> {
    if word.bytes().all(|b| b.is_ascii_digit()) {
        word.parse().ok()
    } else {
        None
    }
}

/// Words before the first flag, and the text after each named flag.
struct NamedFlags<'a> {
    positional: Vec<&'a str>,
    /// One slot per name, in the order the names were given.
    values: Vec<Option<&'a str>>,
}

/// Splits `rest` at whole-word flags from `names`: each flag's text runs up
/// to the next flag (or the end of the line), surrounding spaces trimmed.
/// `None` when a flag is repeated or has no text after it.
fn named_flags<'a>(rest: &'a str, names: &[&str]) -> Option<NamedFlags<'a>> {
    let mut marks: Vec<(usize, usize, usize)> = Vec::new();
    let mut offset = 0;
    for word in rest.split_whitespace() {
        let start = offset + rest[offset..].find(word).expect("word comes from rest");
        offset = start + word.len();
        if let Some(slot) = names.iter().position(|name| *name == word) {
            marks.push((start, offset, slot));
        }
    }
    let first = marks.first().map_or(rest.len(), |m| m.0);
    let mut flags =
        NamedFlags { positional: rest[..first].split_whitespace().collect(), values: vec![None; names.len()] };
    for (i, &(_, end, slot)) in marks.iter().enumerate() {
        let next = marks.get(i + 1).map_or(rest.len(), |m| m.0);
        let text = rest[end..next].trim();
        if text.is_empty() || flags.values[slot].is_some() {
            return None;
        }
        flags.values[slot] = Some(text);
    }
    Some(flags)
}

#[cfg(test)]
mod tests {
    use crate::command::{Command, ParseError};

    use super::*;

    #[test]
    fn messages_are_the_rest_of_the_line_as_typed() {
        assert_eq!(
            Command::parse("tell bob   hello   there  ").unwrap(),
            Command::Tell(Tell { to: "bob".into(), message: "hello   there".into() })
        );
        assert_eq!(Command::parse("yell  a  b ").unwrap(), Command::Yell(Yell { message: "a  b".into() }));
    }

    #[test]
    fn mail_to_takes_flags_in_either_order() {
        let expected = MailTo { to: "bob".into(), subject: "Hi there".into(), content: "line 1\nline 2".into() };
        assert_eq!(
            Command::parse("mail-to bob --subject Hi there --content line 1<br>line 2").unwrap(),
            Command::MailTo(expected.clone())
        );
        assert_eq!(
            Command::parse("mail-to bob --content line 1<br>line 2 --subject Hi there").unwrap(),
            Command::MailTo(expected)
        );
    }

    #[test]
    fn malformed_social_commands_give_their_usage() {
        let mail_usage = "Usage: mail-to <username> --subject <subject> --content <content>";
        let cases = [
            ("tell", "Usage: tell <username> <message>"),
            ("tell bob", "Usage: tell <username> <message>"),
            ("tell bob   ", "Usage: tell <username> <message>"),
            ("yell", "Usage: yell <message>"),
            ("yell   ", "Usage: yell <message>"),
            ("mute now", "Usage: mute"),
            ("unmute x", "Usage: unmute"),
            ("list-online x", "Usage: list-online"),
            ("show-accounts x", "Usage: show-accounts"),
            ("deposit ACCOUNT1", "Usage: deposit <account> <money>"),
            ("deposit ACCOUNT1 1 2", "Usage: deposit <account> <money>"),
            ("withdraw", "Usage: withdraw <account> <money>"),
            ("mail-to bob --subject s", mail_usage),
            ("mail-to --subject s --content c", mail_usage),
            ("mail-to bob --subject --content c", mail_usage),
            ("mail-to bob --subject a --subject b --content c", mail_usage),
            ("list-mail 1", "Usage: list-mail"),
            ("retr-mail", "Usage: retr-mail <mail#>"),
            ("retr-mail x", "Usage: retr-mail <mail#>"),
            ("delete-mail -1", "Usage: delete-mail <mail#>"),
            ("delete-mail 1 2", "Usage: delete-mail <mail#>"),
        ];
        for (line, usage) in cases {
            assert_eq!(Command::parse(line), Err(ParseError::Usage(usage)), "{line}");
        }
    }

    #[test]
    fn amounts_are_kept_as_typed_for_the_server_to_judge() {
        assert_eq!(
            Command::parse("deposit ACCOUNT1 -5").unwrap(),
            Command::Deposit(Deposit { account: "ACCOUNT1".into(), money: "-5".into() })
        );
    }
}
