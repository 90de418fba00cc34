//! [`ClusterStore`] for PostgreSQL: what several `bbsd` on one database
//! share about live sessions, in the `cluster_*` tables, and live events
//! through `LISTEN/NOTIFY`.
//!
//! Sessions, heartbeats, room keys and events describe the present only:
//! their writes run with `synchronous_commit` off (no wait for the WAL flush), so
//! a login costs one cheap round trip. If PostgreSQL lost the last of them
//! in a crash, the next heartbeat of each node would find its row gone and
//! the node would announce its sessions again.
//!
//! An event is a row of `cluster_events`; its `NOTIFY` carries only its id
//! and origin (`"<id>:<origin>"`), far below the 8000-byte payload limit
//! whatever the text. PostgreSQL delivers notifications in commit order, so
//! a listener that fetches the rows in the order it was notified keeps one
//! publisher's order. The listener has a connection of its own; when it
//! breaks it connects again, `LISTEN`s, then fetches every event it has not
//! seen from the last minute (events are kept that long), so a short
//! outage loses nothing.

use std::collections::{HashSet, VecDeque};
use std::time::Duration;

use bbs_storage::{
    Beat, ClusterEvent, ClusterStore, EventAudience, EventFeed, LiveSession, NextEvent, NodeId, Result, SessionChanges,
    SessionRef,
};
use tokio::sync::mpsc;
use tokio_postgres::{AsyncMessage, NoTls, Row};

use crate::{commit, signed, unsigned, OrBackend, PostgresStore};

/// How long events are kept for listeners that reconnect.
const EVENTS_KEPT_MS: i64 = 60_000;

/// How long a broken listener waits before connecting again.
const RECONNECT_DELAY: Duration = Duration::from_millis(500);

/// How many recent event ids a listener remembers, so that a catch-up
/// never delivers one twice.
const SEEN_REMEMBERED: usize = 8192;

const SESSION_COLUMNS: &str = "node, session, name, token, peer, login_ms, last_command";

fn live_session(r: &Row) -> LiveSession {
    LiveSession {
        at: SessionRef { node: r.get(0), session: unsigned(r.get(1)) },
        name: r.get(2),
        token: r.get(3),
        peer: r.get(4),
        login_ms: r.get(5),
        last_command: r.get(6),
    }
}

/// A transaction whose commit does not wait for the WAL flush (see the
/// module documentation).
async fn relaxed(c: &mut deadpool_postgres::Object) -> Result<deadpool_postgres::Transaction<'_>> {
    let tx = c.transaction().await.or_backend()?;
    tx.batch_execute("SET LOCAL synchronous_commit TO OFF").await.or_backend()?;
    Ok(tx)
}

/// Marks closed the chatrooms run by sessions of `nodes`, and forgets their keys.
async fn close_rooms_of(tx: &deadpool_postgres::Transaction<'_>, nodes: &[NodeId]) -> Result<()> {
    tx.execute(
        "UPDATE chatrooms SET open = FALSE WHERE owner IN (SELECT owner FROM cluster_rooms WHERE node = ANY($1))",
        &[&nodes],
    )
    .await
    .or_backend()?;
    tx.execute("DELETE FROM cluster_rooms WHERE node = ANY($1)", &[&nodes]).await.or_backend()?;
    Ok(())
}

impl ClusterStore for PostgresStore {
    async fn join_cluster(&self, node: NodeId, now_ms: i64) -> Result<()> {
        let c = self.client().await?;
        c.execute(
            "INSERT INTO cluster_nodes (id, seen_ms) VALUES ($1, $2) ON CONFLICT (id) DO UPDATE SET seen_ms = $2",
            &[&node, &now_ms],
        )
        .await
        .or_backend()?;
        Ok(())
    }

    async fn leave_cluster(&self, node: NodeId) -> Result<()> {
        let mut c = self.client().await?;
        let tx = c.transaction().await.or_backend()?;
        close_rooms_of(&tx, &[node]).await?;
        tx.execute("DELETE FROM cluster_nodes WHERE id = $1", &[&node]).await.or_backend()?;
        commit(tx).await
    }

    async fn heartbeat(&self, node: NodeId, now_ms: i64, lease_ms: i64) -> Result<Beat> {
        let mut c = self.client().await?;
        let tx = relaxed(&mut c).await?;
        let rejoined: bool = tx
            .query_one(
                "INSERT INTO cluster_nodes (id, seen_ms) VALUES ($1, $2)
                 ON CONFLICT (id) DO UPDATE SET seen_ms = $2 RETURNING (xmax = 0)",
                &[&node, &now_ms],
            )
            .await
            .or_backend()?
            .get(0);
        let mut reaped: Vec<NodeId> = tx
            .query("DELETE FROM cluster_nodes WHERE seen_ms < $1 RETURNING id", &[&(now_ms - lease_ms)])
            .await
            .or_backend()?
            .iter()
            .map(|r| r.get(0))
            .collect();
        reaped.sort_unstable();
        if !reaped.is_empty() {
            close_rooms_of(&tx, &reaped).await?;
        }
        tx.execute(
            "DELETE FROM cluster_events WHERE at_ms < (extract(epoch FROM now()) * 1000)::bigint - $1",
            &[&EVENTS_KEPT_MS],
        )
        .await
        .or_backend()?;
        commit(tx).await?;
        Ok(Beat { rejoined, reaped })
    }

    async fn update_sessions(&self, node: NodeId, changes: SessionChanges) -> Result<()> {
        if changes.is_empty() {
            return Ok(());
        }
        let mut c = self.client().await?;
        let tx = relaxed(&mut c).await?;
        if !changes.arrivals.is_empty() {
            let column = |f: fn(&LiveSession) -> String| changes.arrivals.iter().map(f).collect::<Vec<String>>();
            let sessions: Vec<i64> = changes.arrivals.iter().map(|s| signed(s.at.session)).collect();
            let logins: Vec<i64> = changes.arrivals.iter().map(|s| s.login_ms).collect();
            let last: Vec<i64> = changes.arrivals.iter().map(|s| s.last_command).collect();
            tx.execute(
                "INSERT INTO cluster_sessions (node, session, name, token, peer, login_ms, last_command)
                 SELECT $1, * FROM UNNEST($2::bigint[], $3::text[], $4::text[], $5::text[], $6::bigint[], $7::bigint[])
                 ON CONFLICT (node, session) DO UPDATE SET name = excluded.name, token = excluded.token,
                     peer = excluded.peer, login_ms = excluded.login_ms, last_command = excluded.last_command",
                &[
                    &node,
                    &sessions,
                    &column(|s| s.name.clone()),
                    &column(|s| s.token.clone()),
                    &column(|s| s.peer.clone()),
                    &logins,
                    &last,
                ],
            )
            .await
            .or_backend()?;
        }
        if !changes.touched.is_empty() {
            let sessions: Vec<i64> = changes.touched.iter().map(|(s, _)| signed(*s)).collect();
            let times: Vec<i64> = changes.touched.iter().map(|(_, t)| *t).collect();
            tx.execute(
                "UPDATE cluster_sessions s SET last_command = t.at
                 FROM UNNEST($2::bigint[], $3::bigint[]) AS t(session, at)
                 WHERE s.node = $1 AND s.session = t.session",
                &[&node, &sessions, &times],
            )
            .await
            .or_backend()?;
        }
        if !changes.departures.is_empty() {
            let sessions: Vec<i64> = changes.departures.iter().map(|s| signed(*s)).collect();
            tx.execute("DELETE FROM cluster_sessions WHERE node = $1 AND session = ANY($2)", &[&node, &sessions])
                .await
                .or_backend()?;
        }
        commit(tx).await
    }

    async fn live_sessions(&self) -> Result<Vec<LiveSession>> {
        let c = self.client().await?;
        let sql = format!("SELECT {SESSION_COLUMNS} FROM cluster_sessions ORDER BY login_ms, node, session");
        Ok(c.query(&sql, &[]).await.or_backend()?.iter().map(live_session).collect())
    }

    async fn is_online(&self, name: &str) -> Result<bool> {
        let c = self.client().await?;
        let row = c.query_opt("SELECT 1 FROM cluster_sessions WHERE name = $1 LIMIT 1", &[&name]).await.or_backend()?;
        Ok(row.is_some())
    }

    async fn online_among(&self, names: &[String]) -> Result<Vec<String>> {
        let c = self.client().await?;
        let rows =
            c.query("SELECT DISTINCT name FROM cluster_sessions WHERE name = ANY($1)", &[&names]).await.or_backend()?;
        Ok(rows.iter().map(|r| r.get(0)).collect())
    }

    async fn session_of_token(&self, token: &str) -> Result<Option<LiveSession>> {
        let c = self.client().await?;
        let sql = format!("SELECT {SESSION_COLUMNS} FROM cluster_sessions WHERE token = $1 LIMIT 1");
        Ok(c.query_opt(&sql, &[&token]).await.or_backend()?.as_ref().map(live_session))
    }

    async fn claim_room(&self, owner: &str, by: SessionRef, key: &str) -> Result<()> {
        let c = self.client().await?;
        c.execute(
            "INSERT INTO cluster_rooms (owner, node, session, room_key) VALUES ($1, $2, $3, $4)
             ON CONFLICT (owner) DO UPDATE SET node = $2, session = $3, room_key = $4",
            &[&owner, &by.node, &signed(by.session), &key],
        )
        .await
        .or_backend()?;
        Ok(())
    }

    async fn room_key(&self, owner: &str) -> Result<Option<String>> {
        let c = self.client().await?;
        let row = c.query_opt("SELECT room_key FROM cluster_rooms WHERE owner = $1", &[&owner]).await.or_backend()?;
        Ok(row.map(|r| r.get(0)))
    }

    async fn release_room(&self, owner: &str, by: SessionRef) -> Result<bool> {
        let mut c = self.client().await?;
        let tx = c.transaction().await.or_backend()?;
        let released = tx
            .execute(
                "DELETE FROM cluster_rooms WHERE owner = $1 AND node = $2 AND session = $3",
                &[&owner, &by.node, &signed(by.session)],
            )
            .await
            .or_backend()?
            == 1;
        if released {
            tx.execute("UPDATE chatrooms SET open = FALSE WHERE owner = $1", &[&owner]).await.or_backend()?;
        }
        commit(tx).await?;
        Ok(released)
    }

    async fn close_orphaned_chatrooms(&self) -> Result<()> {
        let mut c = self.client().await?;
        let tx = c.transaction().await.or_backend()?;
        tx.execute("DELETE FROM cluster_rooms WHERE node NOT IN (SELECT id FROM cluster_nodes)", &[])
            .await
            .or_backend()?;
        tx.execute(
            "UPDATE chatrooms SET open = FALSE WHERE open AND owner NOT IN (SELECT owner FROM cluster_rooms)",
            &[],
        )
        .await
        .or_backend()?;
        commit(tx).await
    }

    async fn publish_event(&self, event: ClusterEvent) -> Result<()> {
        let (kind, names): (i16, Vec<String>) = match event.audience {
            EventAudience::User(name) => (0, vec![name]),
            EventAudience::Users(names) => (1, names),
            EventAudience::Everyone => (2, Vec::new()),
            EventAudience::EndSessionsOf(name) => (3, vec![name]),
        };
        // Live delivery only (see the module documentation): no wait for the
        // WAL flush.
        let mut c = self.client().await?;
        let tx = relaxed(&mut c).await?;
        tx.execute(
            "WITH e AS (
                INSERT INTO cluster_events (origin, kind, names, text, at_ms)
                VALUES ($1, $2, $3, $4, (extract(epoch FROM clock_timestamp()) * 1000)::bigint)
                RETURNING id, origin)
             SELECT pg_notify($5, e.id::text || ':' || e.origin::text) FROM e",
            &[&event.origin, &kind, &names, &event.text, &&*self.channel],
        )
        .await
        .or_backend()?;
        commit(tx).await
    }

    async fn listen_events(&self, node: NodeId) -> Result<Box<dyn EventFeed>> {
        let mut listener = Listener {
            config: (*self.config).clone(),
            channel: self.channel.to_string(),
            node,
            seen: Seen::default(),
            last: None,
        };
        // The first connection is made here, so that what is published once
        // this returns is heard.
        let (client, notices) = listener.connect().await?;
        let (events, feed) = mpsc::unbounded_channel();
        let task = tokio::spawn(async move { listener.run(client, notices, events).await });
        Ok(Box::new(Feed { events: feed, task }))
    }
}

/// Ids of the latest events delivered, oldest first.
#[derive(Default)]
struct Seen {
    order: VecDeque<i64>,
    ids: HashSet<i64>,
}

impl Seen {
    /// Remembers `id`; `false` if it was already delivered.
    fn insert(&mut self, id: i64) -> bool {
        if !self.ids.insert(id) {
            return false;
        }
        self.order.push_back(id);
        if self.order.len() > SEEN_REMEMBERED {
            if let Some(old) = self.order.pop_front() {
                self.ids.remove(&old);
            }
        }
        true
    }
}

/// One node's listening connection and what it has delivered.
struct Listener {
    config: tokio_postgres::Config,
    channel: String,
    node: NodeId,
    seen: Seen,
    /// The newest event id delivered (or present when listening began).
    last: Option<i64>,
}

/// Event ids as the listening connection hears of them.
type Notices = mpsc::UnboundedReceiver<(i64, NodeId)>;

impl Listener {
    /// Connects, starts listening, and (after a reconnection) fetches what
    /// was missed since the connection broke.
    async fn connect(&mut self) -> Result<(tokio_postgres::Client, Notices)> {
        let mut config = self.config.clone();
        // Named, so an operator (or a test) can find it in pg_stat_activity.
        config.application_name(format!("bbs-events-{}", self.node));
        let (client, mut connection) = config.connect(NoTls).await.or_backend()?;
        let (notify, notices) = mpsc::unbounded_channel();
        tokio::spawn(async move {
            while let Some(message) = std::future::poll_fn(|cx| connection.poll_message(cx)).await {
                match message {
                    Ok(AsyncMessage::Notification(n)) => {
                        let parsed = n
                            .payload()
                            .split_once(':')
                            .and_then(|(id, origin)| Some((id.parse::<i64>().ok()?, origin.parse::<NodeId>().ok()?)));
                        if let Some(notice) = parsed {
                            if notify.send(notice).is_err() {
                                break;
                            }
                        }
                    }
                    Ok(_) => {}
                    Err(e) => {
                        tracing::warn!(error = %e, "event listener connection lost");
                        break;
                    }
                }
            }
        });
        client.batch_execute(&format!("LISTEN \"{}\"", self.channel.replace('"', "\"\""))).await.or_backend()?;
        if self.last.is_none() {
            let row = client.query_one("SELECT COALESCE(MAX(id), 0) FROM cluster_events", &[]).await.or_backend()?;
            self.last = Some(row.get(0));
        }
        Ok((client, notices))
    }

    /// Fetches events by id (in the order given: the order PostgreSQL
    /// notified them in), skipping any already delivered.
    async fn fetch(
        &mut self,
        client: &tokio_postgres::Client,
        ids: &[i64],
        events: &mpsc::UnboundedSender<ClusterEvent>,
    ) -> Result<()> {
        let rows = client
            .query("SELECT id, origin, kind, names, text FROM cluster_events WHERE id = ANY($1)", &[&ids])
            .await
            .or_backend()?;
        let mut by_id: std::collections::HashMap<i64, &Row> = rows.iter().map(|r| (r.get::<_, i64>(0), r)).collect();
        for id in ids {
            if let Some(row) = by_id.remove(id) {
                self.deliver(row, events);
            }
        }
        Ok(())
    }

    fn deliver(&mut self, r: &Row, events: &mpsc::UnboundedSender<ClusterEvent>) {
        let id: i64 = r.get(0);
        if !self.seen.insert(id) {
            return;
        }
        self.last = Some(self.last.map_or(id, |last| last.max(id)));
        let names: Vec<String> = r.get(3);
        let audience = match r.get::<_, i16>(2) {
            0 => EventAudience::User(names.into_iter().next().unwrap_or_default()),
            1 => EventAudience::Users(names),
            3 => EventAudience::EndSessionsOf(names.into_iter().next().unwrap_or_default()),
            _ => EventAudience::Everyone,
        };
        let _ = events.send(ClusterEvent { origin: r.get(1), audience, text: r.get(4) });
    }

    /// Every event of the last minute this listener has not delivered,
    /// in id order (after a reconnection).
    async fn catch_up(
        &mut self,
        client: &tokio_postgres::Client,
        events: &mpsc::UnboundedSender<ClusterEvent>,
    ) -> Result<()> {
        let rows = client
            .query(
                "SELECT id, origin, kind, names, text FROM cluster_events WHERE origin <> $1 AND id > $2 ORDER BY id",
                &[&self.node, &(self.last.unwrap_or(0) - i64::try_from(SEEN_REMEMBERED).unwrap_or(0))],
            )
            .await
            .or_backend()?;
        for row in &rows {
            self.deliver(row, events);
        }
        Ok(())
    }

    async fn run(
        mut self,
        mut client: tokio_postgres::Client,
        mut notices: Notices,
        events: mpsc::UnboundedSender<ClusterEvent>,
    ) {
        loop {
            // Deliver what is notified until the connection breaks.
            while let Some(first) = notices.recv().await {
                let mut ids = Vec::new();
                let mut next = Some(first);
                while let Some((id, origin)) = next {
                    if origin != self.node {
                        ids.push(id);
                    }
                    next = notices.try_recv().ok();
                }
                if ids.is_empty() {
                    continue;
                }
                if let Err(e) = self.fetch(&client, &ids, &events).await {
                    tracing::warn!(error = %e, "cannot fetch events");
                    break;
                }
            }
            if events.is_closed() {
                return;
            }
            // Connect again, then catch up on what was published meanwhile.
            loop {
                tokio::time::sleep(RECONNECT_DELAY).await;
                if events.is_closed() {
                    return;
                }
                match self.connect().await {
                    Ok((new_client, new_notices)) => {
                        if let Err(e) = self.catch_up(&new_client, &events).await {
                            tracing::warn!(error = %e, "cannot catch up on events");
                            continue;
                        }
                        tracing::info!("event listener connected again");
                        client = new_client;
                        notices = new_notices;
                        break;
                    }
                    Err(e) => tracing::warn!(error = %e, "event listener cannot connect"),
                }
            }
        }
    }
}

/// One node's feed; dropping it stops its listener.
struct Feed {
    events: mpsc::UnboundedReceiver<ClusterEvent>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for Feed {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl EventFeed for Feed {
    fn next(&mut self) -> NextEvent<'_> {
        Box::pin(self.events.recv())
    }
}
