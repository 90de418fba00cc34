//! `bbs <server-host> <server-port>`: the terminal client of the BBS.

use bbs_client::app;
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
    // Diagnostics go to stderr, off unless BBS_LOG asks (e.g.
    // BBS_LOG=bbs_client=debug): the screen belongs to the user.
    if let Ok(filter) = tracing_subscriber::EnvFilter::try_from_env("BBS_LOG") {
        tracing_subscriber::fmt().with_env_filter(filter).with_writer(std::io::stderr).with_ansi(false).init();
    }
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
