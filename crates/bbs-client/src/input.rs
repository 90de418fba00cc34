//! Where command lines come from: a terminal (line editing and history,
//! through rustyline) or piped standard input (scripts and tests).
//!
//! Reading blocks, so it runs on its own thread. The main loop asks for one
//! line at a time, giving the prompt; on a terminal the thread shows the
//! prompt only then, so the prompt always follows the previous answer. With
//! piped input the main loop prints the prompt itself.
//!
//! In a chatroom, lines from others arrive while the user is typing. On a
//! terminal they go through rustyline's external printer, which prints
//! them above the line being edited and redraws it, so the half-typed line
//! is never corrupted; with a pipe they are printed plainly.

use std::io::{BufRead, IsTerminal, Write};
use std::sync::mpsc as std_mpsc;
use std::sync::Mutex;

use tokio::sync::mpsc;

/// One thing the user did at the prompt.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Input {
    Line(String),
    /// End of input (Ctrl-D, or the end of a pipe).
    End,
}

type Printer = Box<dyn rustyline::ExternalPrinter + Send>;

/// The reading thread and the channels to it.
pub struct Lines {
    requests: std_mpsc::Sender<String>,
    lines: mpsc::Receiver<Input>,
    /// A terminal (rustyline) rather than a pipe.
    pub interactive: bool,
    /// The prompt of a line asked for and not yet received (a `next` was
    /// cancelled by something arriving first: a chat line, a keepalive).
    pending: Option<String>,
    printer: Option<Mutex<Printer>>,
}

impl Lines {
    /// Starts the reader on standard input.
    pub fn stdin() -> Lines {
        let interactive = std::io::stdin().is_terminal() && std::io::stdout().is_terminal();
        let (requests, prompts) = std_mpsc::channel::<String>();
        let (send, lines) = mpsc::channel(1);
        let (printer_tx, printer_rx) = std_mpsc::channel::<Option<Printer>>();
        std::thread::Builder::new()
            .name("input".into())
            .spawn(move || {
                if interactive {
                    read_terminal(prompts, send, printer_tx)
                } else {
                    let _ = printer_tx.send(None);
                    read_pipe(prompts, send)
                }
            })
            .expect("starting the input thread");
        let printer = printer_rx.recv().ok().flatten().map(Mutex::new);
        Lines { requests, lines, interactive, pending: None, printer }
    }

    /// Shows `prompt` and waits for the next line. Cancel-safe: if dropped
    /// before a line came, the next call gets that line.
    pub async fn next(&mut self, prompt: &str) -> Input {
        match &self.pending {
            Some(shown) if shown == prompt => {}
            Some(_) => {
                // Asked with another prompt (a chat line was awaited, and now
                // the BBS prompt): a pipe reader shows the new one; a
                // terminal read in progress cannot change its prompt.
                self.show_prompt(prompt);
                self.pending = Some(prompt.to_owned());
            }
            None => {
                self.show_prompt(prompt);
                if self.requests.send(prompt.to_owned()).is_err() {
                    return Input::End;
                }
                self.pending = Some(prompt.to_owned());
            }
        }
        let input = self.lines.recv().await.unwrap_or(Input::End);
        self.pending = None;
        input
    }

    /// With piped input the prompt is printed here (a terminal's reader
    /// thread shows it through rustyline).
    fn show_prompt(&self, prompt: &str) {
        if !self.interactive && !prompt.is_empty() {
            let mut out = std::io::stdout();
            let _ = out.write_all(prompt.as_bytes());
            let _ = out.flush();
        }
    }

    /// Prints one line (or several joined by `\n`) without disturbing a
    /// line being typed.
    pub fn print(&self, text: &str) {
        if let Some(printer) = &self.printer {
            if let Ok(mut printer) = printer.lock() {
                if printer.print(format!("{text}\n")).is_ok() {
                    return;
                }
            }
        }
        println!("{text}");
    }
}

fn read_pipe(prompts: std_mpsc::Receiver<String>, lines: mpsc::Sender<Input>) {
    let stdin = std::io::stdin();
    let mut stdin = stdin.lock();
    let mut raw = Vec::new();
    while prompts.recv().is_ok() {
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

fn read_terminal(
    prompts: std_mpsc::Receiver<String>,
    lines: mpsc::Sender<Input>,
    printer: std_mpsc::Sender<Option<Printer>>,
) {
    use rustyline::error::ReadlineError;
    let mut editor = match rustyline::DefaultEditor::new() {
        Ok(editor) => editor,
        Err(_) => {
            let _ = printer.send(None);
            return read_pipe(prompts, lines);
        }
    };
    let external: Option<Printer> = editor.create_external_printer().ok().map(|p| Box::new(p) as Printer);
    let _ = printer.send(external);
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
