//! The client's main loop at the BBS prompt: read a line, send it the way
//! spec §2 says (TCP, UDP or handled here), print exactly the answer.

use bbs_protocol::{Command, Event, ParseError, Transport, BANNER, PROMPT};

use crate::input::{Input, Lines};
use crate::link::{Link, LinkError};
use crate::udp::UdpLink;

/// Everything one running client holds.
pub struct App {
    link: Link,
    udp: UdpLink,
    lines: Lines,
    /// The login token for UDP commands; never shown.
    token: Option<String>,
}

/// Why the client stopped other than by `exit` or the end of input.
#[derive(Debug, thiserror::Error)]
pub enum AppError {
    #[error(transparent)]
    Link(#[from] LinkError),
    #[error(transparent)]
    Udp(#[from] crate::udp::UdpError),
}

impl App {
    pub async fn connect(host: &str, port: u16) -> Result<App, AppError> {
        let link = Link::connect(host, port).await?;
        let udp = UdpLink::new(link.local.ip(), link.server).await?;
        Ok(App { link, udp, lines: Lines::stdin(), token: None })
    }

    /// Runs until `exit`, the end of input, or a lost connection.
    pub async fn run(mut self) -> Result<(), AppError> {
        println!("{BANNER}");
        loop {
            let line = match self.lines.next(PROMPT).await {
                Input::Line(line) => line,
                Input::End => "exit".to_owned(),
            };
            let command = match Command::parse(&line) {
                Ok(command) => command,
                Err(ParseError::Empty) => continue,
                Err(e) => {
                    println!("{e}");
                    continue;
                }
            };
            let answer = match command.spec().transport {
                Transport::Udp => match self.udp.request(self.token.as_deref(), line.trim()).await {
                    Ok(answer) => answer,
                    // A lost UDP answer is reported, and the prompt comes back.
                    Err(e) => format!("Error: {e}."),
                },
                Transport::Tcp | Transport::Client => {
                    let reply = self.link.call(line.trim()).await?;
                    match reply.event {
                        Some(Event::LoggedIn { token, .. }) => self.token = Some(token),
                        Some(Event::LoggedOut) => self.token = None,
                        Some(Event::Goodbye) => return Ok(()),
                        Some(Event::Hello { .. }) | None => {}
                    }
                    reply.text
                }
            };
            if !answer.is_empty() {
                println!("{answer}");
            }
        }
    }
}
