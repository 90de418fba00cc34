//! `bbs <server-host> <server-port>`: the terminal client of the BBS.

mod app;
#[allow(dead_code)] // `interactive` is read by the chatroom screen.
mod input;
mod link;
mod udp;

use std::process::ExitCode;

use clap::Parser;

/// Terminal client of the BBS: boards, posts and chatrooms.
#[derive(Debug, Parser)]
#[command(name = "bbs", version)]
struct Args {
    /// Host name or address of the BBS server.
    host: String,
    /// Its port (TCP and UDP).
    port: u16,
}

#[tokio::main]
async fn main() -> ExitCode {
    let args = Args::parse();
    let result = match app::App::connect(&args.host, args.port).await {
        Ok(app) => app.run().await,
        Err(e) => Err(e),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("bbs: {e}");
            ExitCode::FAILURE
        }
    }
}
