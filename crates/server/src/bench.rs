//! `firebreak bench server`: the server's pages timed under concurrent clients on loopback,
//! beside its static health endpoint as the baseline measured in the same run.

use crate::state::{ServerConfig, Shared};
use std::sync::Arc;
use std::time::Instant;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// One page's latencies (client-observed on loopback, connection included, as for the
/// baseline).
#[derive(Debug, Clone, serde::Serialize)]
pub struct PageTiming {
    pub page: String,
    pub path: String,
    pub requests: usize,
    pub errors: usize,
    pub p50_us: u64,
    pub p99_us: u64,
}

fn percentile(sorted: &[u64], p: f64) -> u64 {
    if sorted.is_empty() {
        return 0;
    }
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i.min(sorted.len() - 1)]
}

async fn get(addr: &str, path: &str, cookie: &str) -> Option<u16> {
    let mut s = tokio::net::TcpStream::connect(addr).await.ok()?;
    let req = format!(
        "GET {path} HTTP/1.1\r\nHost: {addr}\r\nCookie: fb_session={cookie}\r\nConnection: close\r\n\r\n"
    );
    s.write_all(req.as_bytes()).await.ok()?;
    let mut out = Vec::with_capacity(64 << 10);
    s.read_to_end(&mut out).await.ok()?;
    let head = std::str::from_utf8(&out[..out.len().min(16)]).ok()?;
    head.split(' ').nth(1)?.parse().ok()
}

/// Serves `app` on a loopback port and times each of `pages` (name, path): `clients`
/// concurrent clients, each making `per_client` requests, signed in with session `token`.
pub fn measure(
    app: app::App,
    config: ServerConfig,
    token: &str,
    pages: &[(&str, String)],
    clients: usize,
    per_client: usize,
) -> Result<Vec<PageTiming>, crate::ServerError> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(crate::ServerError::Serve)?;
    runtime.block_on(async {
        let listener = crate::bind("127.0.0.1:0").await?;
        let addr = listener
            .local_addr()
            .map_err(crate::ServerError::Serve)?
            .to_string();
        let shared = Arc::new(Shared::new(app, config));
        let router = crate::routes::router(shared);
        tokio::spawn(async move {
            let _ = axum::serve(listener, router).await;
        });
        let mut out = Vec::new();
        for (page, path) in pages {
            // Warm the connection pool and caches once.
            let _ = get(&addr, path, token).await;
            let mut tasks = Vec::new();
            for _ in 0..clients {
                let (addr, path, token) = (addr.clone(), path.clone(), token.to_string());
                tasks.push(tokio::spawn(async move {
                    let mut times = Vec::with_capacity(per_client);
                    let mut errors = 0;
                    for _ in 0..per_client {
                        let t = Instant::now();
                        match get(&addr, &path, &token).await {
                            Some(200) => times.push(t.elapsed().as_micros() as u64),
                            _ => errors += 1,
                        }
                    }
                    (times, errors)
                }));
            }
            let mut times = Vec::new();
            let mut errors = 0;
            for t in tasks {
                if let Ok((mut ts, e)) = t.await {
                    times.append(&mut ts);
                    errors += e;
                }
            }
            times.sort_unstable();
            out.push(PageTiming {
                page: page.to_string(),
                path: path.clone(),
                requests: times.len() + errors,
                errors,
                p50_us: percentile(&times, 0.50),
                p99_us: percentile(&times, 0.99),
            });
        }
        Ok(out)
    })
}
