//! `social` mode: live messages and mail with many sessions logged in.
//!
//! Needs a database seeded with cheap hashes for `sessions + 2` users
//! (`seed --users N+2 --cheap-hashes --bulk-posts 0`): the first `sessions`
//! users are held logged in and idle; the last two are the sender and the
//! receiver. Measures, in order:
//! 1. `tell` latency: from the sender writing `tell` to the receiver's
//!    push frame arriving, one message at a time;
//! 2. one `yell` reaching every held session: from the sender writing it to
//!    the last held session reading its push;
//! 3. `list-mail` with `mails` mails in the receiver's mailbox.

use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{bail, Context};
use bbs_protocol::ServerFrame;
use tokio::sync::Semaphore;

use crate::client::Session;
use crate::setup::{open_sessions, user_name, PASSWORD};
use crate::stats::Stats;

pub struct Plan {
    pub sessions: usize,
    pub tells: usize,
    pub mails: usize,
    pub list_mails: usize,
}

async fn logged_in(addr: std::net::SocketAddr, user: &str) -> anyhow::Result<Session> {
    let mut session = Session::connect(addr).await?;
    session.login(user, PASSWORD).await?;
    Ok(session)
}

/// The text of the next push frame.
async fn next_push(session: &mut Session) -> anyhow::Result<String> {
    match ServerFrame::from_line(session.read_frame().await?) {
        Ok(ServerFrame::Push(push)) => Ok(push.text),
        other => bail!("expected a push, got {other:?}"),
    }
}

pub async fn run(addr: std::net::SocketAddr, plan: &Plan) -> anyhow::Result<()> {
    let started = Instant::now();
    let held = open_sessions(addr, plan.sessions, plan.sessions, true, 200).await.context("holding sessions")?;
    let sender_name = user_name(plan.sessions);
    let receiver_name = user_name(plan.sessions + 1);
    let mut sender = logged_in(addr, &sender_name).await?;
    let mut receiver = logged_in(addr, &receiver_name).await?;
    println!("{} sessions held, in {:.1} s", held.len(), started.elapsed().as_secs_f64());

    let mut tells = Stats::default();
    let window = Instant::now();
    for n in 0..plan.tells {
        let sent = Instant::now();
        let reply = sender.call(&format!("tell {receiver_name} m{n}")).await?;
        if !reply.text.is_empty() {
            bail!("tell answered {:?}", reply.text);
        }
        let text = next_push(&mut receiver).await?;
        if text != format!("{sender_name} told you: m{n}") {
            bail!("unexpected push {text:?}");
        }
        tells.record("tell", sent.elapsed());
    }
    tells.print(
        &format!("tell, sender write to receiver push, while {} other sessions are logged in", held.len()),
        window.elapsed().as_secs_f64(),
    );

    // Every held session waits for the yell on its own task.
    let mut waiting = tokio::task::JoinSet::new();
    let ready = Arc::new(Semaphore::new(0));
    for mut session in held {
        let ready = Arc::clone(&ready);
        waiting.spawn(async move {
            ready.add_permits(1);
            let text = next_push(&mut session).await?;
            anyhow::Ok((Instant::now(), text, session))
        });
    }
    let _all = ready.acquire_many(u32::try_from(plan.sessions)?).await?;
    tokio::time::sleep(Duration::from_millis(200)).await;
    let yelled = Instant::now();
    let reply = sender.call("yell hear ye").await?;
    if !reply.text.is_empty() {
        bail!("yell answered {:?}", reply.text);
    }
    let answered = yelled.elapsed();
    let mut last = yelled;
    let mut held = Vec::with_capacity(plan.sessions);
    let expected = format!("{sender_name}: hear ye");
    while let Some(done) = waiting.join_next().await {
        let (at, text, session) = done??;
        if text != expected {
            bail!("unexpected push {text:?}");
        }
        last = last.max(at);
        held.push(session);
    }
    // The receiver is online too: take its copy off the connection.
    if next_push(&mut receiver).await? != expected {
        bail!("the receiver did not get the yell");
    }
    println!(
        "== yell: answered to the sender after {:.3} ms; reached all {} sessions after {:.3} ms",
        answered.as_secs_f64() * 1000.0,
        held.len(),
        (last - yelled).as_secs_f64() * 1000.0
    );

    // Fill the receiver's mailbox from 50 senders at once (group commit).
    let filled = Instant::now();
    let gate = Arc::new(Semaphore::new(50));
    let mut mailers = tokio::task::JoinSet::new();
    let per = plan.mails.div_ceil(50);
    for m in 0..50 {
        let (gate, receiver_name) = (Arc::clone(&gate), receiver_name.clone());
        let count = per.min(plan.mails.saturating_sub(m * per));
        mailers.spawn(async move {
            let _permit = gate.acquire_owned().await?;
            let mut mailer = logged_in(addr, &user_name(m)).await?;
            for n in 0..count {
                let reply =
                    mailer.call(&format!("mail-to {receiver_name} --subject mail {m}/{n} --content body {n}")).await?;
                if reply.text != "Sent successfully." {
                    bail!("mail-to answered {:?}", reply.text);
                }
            }
            anyhow::Ok(())
        });
    }
    while let Some(done) = mailers.join_next().await {
        done??;
    }
    println!("{} mails sent in {:.1} s", plan.mails, filled.elapsed().as_secs_f64());
    let mut lists = Stats::default();
    let window = Instant::now();
    for _ in 0..plan.list_mails {
        let asked = Instant::now();
        let reply = receiver.call("list-mail").await?;
        if reply.text.lines().count() != plan.mails + 1 {
            bail!("list-mail showed {} lines", reply.text.lines().count());
        }
        lists.record("list-mail", asked.elapsed());
    }
    lists.print(&format!("list-mail of {} mails", plan.mails), window.elapsed().as_secs_f64());
    drop(held);
    Ok(())
}
