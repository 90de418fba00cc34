//! placeholder
use std::sync::Arc;
use bbs_storage::Store;
use tokio::net::TcpListener;
use tokio::sync::watch;
use crate::rate::ConnectionCount;
use crate::state::Shared;
pub(crate) async fn serve<S: Store>(_shared: Arc<Shared<S>>, _listener: TcpListener, _c: Arc<ConnectionCount>, _stop: watch::Receiver<bool>) {}
