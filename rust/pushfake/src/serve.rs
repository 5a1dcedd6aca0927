//! Accepting TLS connections and serving HTTP on them until shutdown.

use std::convert::Infallible;
use std::future::Future;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use hyper::body::Incoming;
use hyper::service::service_fn;
use hyper::{Request, Response};
use hyper_util::rt::TokioIo;
use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio_rustls::TlsAcceptor;

use crate::http::Body;

/// A fake's request handling.
pub(crate) trait Handler: Send + Sync + 'static {
    fn handle(
        self: Arc<Self>,
        req: Request<Incoming>,
    ) -> impl Future<Output = Response<Body>> + Send;
}

/// Which HTTP versions a listener speaks.
#[derive(Clone, Copy)]
pub(crate) enum Protocols {
    /// HTTP/2 only, as APNs.
    Http2Only,
    /// HTTP/1.1 or HTTP/2, as Google's front ends.
    Auto,
}

/// APNs advertises a large stream limit once a connection is up; a client
/// keeping one connection should be able to run that many pushes at once.
const MAX_CONCURRENT_STREAMS: u32 = 1000;

/// Spawns tasks that end when the shutdown channel says so or its sender is
/// dropped. Also hyper's executor, so per-stream tasks end with the fake too.
#[derive(Clone)]
pub(crate) struct Executor {
    shutdown: watch::Receiver<bool>,
}

impl Executor {
    pub(crate) fn new(shutdown: watch::Receiver<bool>) -> Self {
        Executor { shutdown }
    }
}

impl<F> hyper::rt::Executor<F> for Executor
where
    F: Future + Send + 'static,
    F::Output: Send + 'static,
{
    fn execute(&self, fut: F) {
        let mut shutdown = self.shutdown.clone();
        tokio::spawn(async move {
            tokio::select! {
                _ = fut => {}
                // An error means the sender is gone: the fake was dropped.
                _ = shutdown.wait_for(|stop| *stop) => {}
            }
        });
    }
}

/// Accepts connections on `listener` forever, serving each with `handler`
/// and counting completed TLS handshakes in `connections`.
pub(crate) fn spawn_server<H: Handler>(
    listener: TcpListener,
    tls: TlsAcceptor,
    protocols: Protocols,
    exec: Executor,
    handler: Arc<H>,
    connections: Arc<AtomicUsize>,
) {
    let conn_exec = exec.clone();
    hyper::rt::Executor::execute(&exec, async move {
        loop {
            let tcp = match listener.accept().await {
                Ok((tcp, _)) => tcp,
                Err(e) => {
                    // Usually out of file descriptors: back off, keep serving.
                    log::warn!("fake provider accept failed: {e}");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            };
            let _ = tcp.set_nodelay(true);
            let (tls, exec, handler, connections) = (
                tls.clone(),
                conn_exec.clone(),
                handler.clone(),
                connections.clone(),
            );
            hyper::rt::Executor::execute(&conn_exec, async move {
                serve_connection(tcp, tls, protocols, exec, handler, &connections).await;
            });
        }
    });
}

async fn serve_connection<H: Handler>(
    tcp: tokio::net::TcpStream,
    tls: TlsAcceptor,
    protocols: Protocols,
    exec: Executor,
    handler: Arc<H>,
    connections: &AtomicUsize,
) {
    let stream = match tokio::time::timeout(Duration::from_secs(10), tls.accept(tcp)).await {
        Ok(Ok(stream)) => stream,
        Ok(Err(e)) => {
            log::debug!("fake provider TLS handshake failed: {e}");
            return;
        }
        Err(_) => return,
    };
    connections.fetch_add(1, Ordering::Relaxed);
    let service = service_fn(move |req| {
        let handler = handler.clone();
        async move { Ok::<_, Infallible>(handler.handle(req).await) }
    });
    let io = TokioIo::new(stream);
    let result = match protocols {
        Protocols::Http2Only => {
            let mut builder = hyper::server::conn::http2::Builder::new(exec);
            builder.max_concurrent_streams(MAX_CONCURRENT_STREAMS);
            builder
                .serve_connection(io, service)
                .await
                .map_err(|e| e.to_string())
        }
        Protocols::Auto => {
            let mut builder = hyper_util::server::conn::auto::Builder::new(exec);
            builder
                .http2()
                .max_concurrent_streams(MAX_CONCURRENT_STREAMS);
            builder
                .serve_connection(io, service)
                .await
                .map_err(|e| e.to_string())
        }
    };
    if let Err(e) = result {
        log::debug!("fake provider connection ended: {e}");
    }
}
