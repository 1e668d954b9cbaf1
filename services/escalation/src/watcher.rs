//! The department deadline watcher (being written).

use std::sync::Arc;

use crate::Deps;

pub async fn run(_deps: Arc<Deps>, _shutdown: tokio::sync::watch::Receiver<bool>) {}
