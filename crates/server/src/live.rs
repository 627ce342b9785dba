//! Live pages: a watcher notices the store changed (a CLI hunt, another responder) and
//! tells every open page over server-sent events; the page script then fetches itself.

use crate::state::Shared;
use axum::extract::State;
use axum::response::sse::{Event, KeepAlive, Sse};
use futures_util::Stream;
use std::convert::Infallible;
use std::sync::Arc;
use std::time::Duration;
use tokio_stream::StreamExt;
use tokio_stream::wrappers::WatchStream;

/// How often the watcher looks at the store.
const WATCH_EVERY: Duration = Duration::from_secs(1);

/// Starts the watcher: it compares the store's change marker every second and bumps
/// [`Shared::changes`] when it moved.
pub fn watch_store(shared: Arc<Shared>) {
    tokio::spawn(async move {
        let mut last = None;
        let mut tick = tokio::time::interval(WATCH_EVERY);
        loop {
            tick.tick().await;
            let marker = shared
                .with_store(|_, store| Ok(store.change_marker()?))
                .await
                .ok();
            if marker.is_some() && last.is_some() && marker != last {
                shared.changes.send_modify(|n| *n += 1);
            }
            if marker.is_some() {
                last = marker;
            }
        }
    });
}

/// `GET /live`: one `changed` event each time the store changes.
pub async fn events(
    State(shared): State<Arc<Shared>>,
) -> Sse<impl Stream<Item = Result<Event, Infallible>>> {
    let stream = WatchStream::from_changes(shared.changes.subscribe())
        .map(|n| Ok(Event::default().event("changed").data(n.to_string())));
    Sse::new(stream).keep_alive(KeepAlive::new().interval(Duration::from_secs(15)))
}

/// `GET /health`: answers without touching the store (the bench's baseline).
pub async fn health() -> &'static str {
    "ok"
}
