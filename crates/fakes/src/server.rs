//! Binding an axum router to 127.0.0.1:0 and keeping it alive for the handle's lifetime.

use std::net::SocketAddr;

use axum::Router;
use tokio::task::JoinHandle;

/// A running HTTP server; aborted when dropped.
#[derive(Debug)]
pub(crate) struct Running {
    pub addr: SocketAddr,
    task: JoinHandle<()>,
}

impl Running {
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        self.task.abort();
    }
}

pub(crate) async fn serve(router: Router) -> std::io::Result<Running> {
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", 0)).await?;
    let addr = listener.local_addr()?;
    let task = tokio::spawn(async move {
        if let Err(e) = axum::serve(listener, router).await {
            tracing::warn!(error = %e, "fake server stopped");
        }
    });
    Ok(Running { addr, task })
}
