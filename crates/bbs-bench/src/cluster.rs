//! `cluster`: the same command mix, in one run, on SQLite with one `bbsd`,
//! then on one PostgreSQL (a throwaway server with fsync on, as in
//! production) with one `bbsd` and with two `bbsd` sharing the database,
//! the sessions split evenly between the two. Every server gets the same
//! users, boards and load; the generator is the same process throughout.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use anyhow::Context;
use bbs_storage_postgres::throwaway::ThrowawayServer;

use crate::load::{self, Mix, Window};
use crate::process::{self, CpuMeter, Spawned};
use crate::{client, setup};

pub struct ClusterPlan {
    pub bbsd: PathBuf,
    pub connections: usize,
    pub users: usize,
    pub warmup: Duration,
    pub duration: Duration,
    pub mix: Mix,
    pub read_boards: usize,
    pub posts_per_board: usize,
    pub server_args: Vec<String>,
}

pub async fn run(plan: ClusterPlan) -> anyhow::Result<()> {
    let dir = tempfile::Builder::new().prefix("bbs-bench-cluster").tempdir_in(".")?;
    let sqlite = dir.path().join("bbs.db");
    let files = dir.path().join("files");
    let mut args = plan.server_args.clone();
    args.extend(["--files-dir".to_owned(), files.display().to_string()]);

    let one = vec![process::spawn_bbsd(&plan.bbsd, &sqlite, &args)?];
    measure(&plan, "SQLite, one bbsd", &one).await?;
    drop(one);

    let postgres = ThrowawayServer::start_durable().context("a throwaway PostgreSQL")?;
    let url = postgres.fresh_database().await?;
    let one = vec![process::spawn_bbsd(&plan.bbsd, url.as_ref(), &args)?];
    measure(&plan, "PostgreSQL, one bbsd", &one).await?;
    drop(one);

    let url = postgres.fresh_database().await?;
    let two: Vec<Spawned> =
        (0..2).map(|_| process::spawn_bbsd(&plan.bbsd, url.as_ref(), &args)).collect::<anyhow::Result<_>>()?;
    measure(&plan, "PostgreSQL, two bbsd", &two).await
}

/// Registers the users and boards through the first server, logs the
/// sessions in round-robin over all of them, and runs the mix.
async fn measure(plan: &ClusterPlan, label: &str, servers: &[Spawned]) -> anyhow::Result<()> {
    let first = servers[0].addr;
    setup::register_users(first, plan.users).await.context("registering users over UDP")?;
    let mut admin = client::Session::connect(first).await?;
    admin.login(&setup::user_name(0), setup::PASSWORD).await?;
    let workload = setup::prepare_boards(&mut admin, plan.read_boards, plan.posts_per_board).await?;
    let mut sessions = Vec::new();
    let share = plan.connections.div_ceil(servers.len());
    let addrs: Vec<SocketAddr> = servers.iter().map(|s| s.addr).collect();
    for addr in &addrs {
        let n = share.min(plan.connections - sessions.len());
        sessions.extend(setup::open_sessions(*addr, n, plan.users, true, 16).await?);
    }
    let window = Window::starting_now(plan.warmup, plan.duration);
    let meters: Vec<CpuMeter> = servers.iter().map(|s| CpuMeter::start(Some(s.pid()))).collect();
    let stats = load::run_all(sessions, &plan.mix, workload, window, true).await?;
    stats.print(&format!("{label}, C={} over {addrs:?}", plan.connections), plan.duration.as_secs_f64());
    for meter in &meters {
        meter.print();
    }
    if stats.error_count() > 0 {
        anyhow::bail!("{} errors", stats.error_count());
    }
    Ok(())
}
