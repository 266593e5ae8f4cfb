//! Binding an axum router to a free loopback port and keeping it alive for the handle's
//! lifetime.

use std::future::Future;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};

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

tokio::task_local! {
    /// Address the fakes started inside [`bind_on`] listen on. A task-local rather than a
    /// parameter so every fake's constructor keeps its simple signature for the tests.
    static BIND_IP: IpAddr;
}

/// Run `fut` (which starts fakes) so that every fake it starts binds `ip` instead of
/// 127.0.0.1. The caller (`boxoffice sandbox`) only allows loopback addresses.
pub(crate) async fn bind_on<F: Future>(ip: IpAddr, fut: F) -> F::Output {
    BIND_IP.scope(ip, fut).await
}

/// The address fakes started now listen on: the one given to [`bind_on`], else 127.0.0.1.
pub(crate) fn bind_ip() -> IpAddr {
    BIND_IP
        .try_with(|ip| *ip)
        .unwrap_or(IpAddr::V4(Ipv4Addr::LOCALHOST))
}

pub(crate) async fn serve(router: Router) -> std::io::Result<Running> {
    let ip = bind_ip();
    let listener = tokio::net::TcpListener::bind((ip, 0)).await?;
    let addr = listener.local_addr()?;
    let task = tokio::spawn(async move {
        if let Err(e) = axum::serve(listener, router).await {
            tracing::warn!(error = %e, "fake server stopped");
        }
    });
    Ok(Running { addr, task })
}
