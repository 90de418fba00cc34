//! Where command lines come from: a terminal (line editing and history,
//! through rustyline) or piped standard input (scripts and tests).
//!
//! Reading blocks, so it runs on its own thread. The main loop asks for one
//! line at a time, giving the prompt; the thread shows the prompt only
//! then, so the prompt always follows the previous answer on screen.

use std::io::{BufRead, IsTerminal, Write};
use std::sync::mpsc as std_mpsc;

use tokio::sync::mpsc;

/// One thing the user did at the prompt.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Input {
    Line(String),
    /// End of input (Ctrl-D, or the end of a pipe).
    End,
}

/// The reading thread and the channels to it.
pub struct Lines {
    requests: std_mpsc::Sender<String>,
    lines: mpsc::Receiver<Input>,
    /// A terminal (rustyline) rather than a pipe.
    pub interactive: bool,
}

impl Lines {
    /// Starts the reader on standard input.
    pub fn stdin() -> Lines {
        let interactive = std::io::stdin().is_terminal() && std::io::stdout().is_terminal();
        let (requests, prompts) = std_mpsc::channel::<String>();
        let (send, lines) = mpsc::channel(1);
        std::thread::Builder::new()
            .name("input".into())
            .spawn(move || {
                if interactive {
                    read_terminal(prompts, send)
                } else {
                    read_pipe(prompts, send)
                }
            })
            .expect("starting the input thread");
        Lines { requests, lines, interactive }
    }

    /// Shows `prompt` and waits for the next line.
    pub async fn next(&mut self, prompt: &str) -> Input {
        if self.requests.send(prompt.to_owned()).is_err() {
            return Input::End;
        }
        self.lines.recv().await.unwrap_or(Input::End)
    }
}

fn read_pipe(prompts: std_mpsc::Receiver<String>, lines: mpsc::Sender<Input>) {
    let stdin = std::io::stdin();
    let mut stdin = stdin.lock();
    let mut raw = Vec::new();
    while let Ok(prompt) = prompts.recv() {
        let mut out = std::io::stdout();
        let _ = out.write_all(prompt.as_bytes());
        let _ = out.flush();
        raw.clear();
        let input = match stdin.read_until(b'\n', &mut raw) {
            Ok(0) | Err(_) => Input::End,
            Ok(_) => {
                let text = String::from_utf8_lossy(&raw);
                Input::Line(text.trim_end_matches(['\n', '\r']).to_owned())
            }
        };
        let end = input == Input::End;
        if lines.blocking_send(input).is_err() || end {
            return;
        }
    }
}

fn read_terminal(prompts: std_mpsc::Receiver<String>, lines: mpsc::Sender<Input>) {
    use rustyline::error::ReadlineError;
    let mut editor = match rustyline::DefaultEditor::new() {
        Ok(editor) => editor,
        Err(_) => return read_pipe(prompts, lines),
    };
    while let Ok(prompt) = prompts.recv() {
        let input = loop {
            match editor.readline(&prompt) {
                Ok(line) => {
                    if !line.trim().is_empty() {
                        let _ = editor.add_history_entry(line.as_str());
                    }
                    break Input::Line(line);
                }
                // Ctrl-C abandons the line being typed, as in a shell.
                Err(ReadlineError::Interrupted) => continue,
                Err(_) => break Input::End,
            }
        };
        let end = input == Input::End;
        if lines.blocking_send(input).is_err() || end {
            return;
        }
    }
}
