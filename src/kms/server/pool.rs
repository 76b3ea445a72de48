//! The listener and a fixed pool of worker threads.
//!
//! One thread accepts connections into a bounded queue (when it is full the
//! acceptor waits, and further clients wait in the kernel's listen backlog).
//! Each worker takes a connection and serves its requests one after another
//! while the client keeps it alive. When another connection waits in the queue,
//! a worker gives its connection up: after the answer it is serving (which then
//! says `Connection: close`), or at once if the connection is idle. So neither
//! idle nor busy clients can starve new ones; clients reconnect transparently.
//!
//! Shutdown: stop accepting, let every worker finish the request it is serving
//! (its answer says `Connection: close`), serve the connections already accepted
//! once, close idle ones, and join every thread.

use std::collections::VecDeque;
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::thread::JoinHandle;
use std::time::Duration;

use super::dispatch::{error_response, ApiError, Service};
use super::http::{Conn, Limits, ReadOutcome};
use super::sigv4;

struct Queue {
    conns: VecDeque<(TcpStream, SocketAddr)>,
    /// Idle kept-alive connections already being given up for queued ones.
    yielding: usize,
}

pub(super) struct Shared {
    queue: Mutex<Queue>,
    /// Signalled when a connection is queued, and on shutdown.
    work: Condvar,
    /// Signalled when a connection leaves the queue, and on shutdown.
    space: Condvar,
    stopping: AtomicBool,
    capacity: usize,
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, Queue> {
        self.queue.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn stopping(&self) -> bool {
        self.stopping.load(Ordering::SeqCst)
    }

    /// Queues an accepted connection, waiting while the queue is full.
    fn push(&self, conn: (TcpStream, SocketAddr)) {
        let mut q = self.lock();
        while q.conns.len() >= self.capacity && !self.stopping() {
            q = self.space.wait(q).unwrap_or_else(|p| p.into_inner());
        }
        q.conns.push_back(conn);
        drop(q);
        self.work.notify_one();
    }

    /// The next connection to serve; `None` once stopping with an empty queue.
    fn pop(&self) -> Option<(TcpStream, SocketAddr)> {
        let mut q = self.lock();
        loop {
            if let Some(c) = q.conns.pop_front() {
                q.yielding = q.yielding.saturating_sub(1);
                drop(q);
                self.space.notify_one();
                return Some(c);
            }
            if self.stopping() {
                return None;
            }
            q = self.work.wait(q).unwrap_or_else(|p| p.into_inner());
        }
    }

    /// Whether an idle kept-alive connection should make room for a queued one
    /// (at most one idle connection is given up per queued connection).
    fn should_yield(&self) -> bool {
        let mut q = self.lock();
        if q.conns.len() > q.yielding {
            q.yielding += 1;
            true
        } else {
            false
        }
    }
}

/// A running server: its address, and [`shutdown`](ServerHandle::shutdown).
/// Dropping the handle shuts the server down too.
pub struct ServerHandle {
    addr: SocketAddr,
    shared: Arc<Shared>,
    acceptor: Option<JoinHandle<()>>,
    workers: Vec<JoinHandle<()>>,
}

impl std::fmt::Debug for ServerHandle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ServerHandle")
            .field("addr", &self.addr)
            .field("workers", &self.workers.len())
            .finish()
    }
}

impl ServerHandle {
    /// The address the server listens on (with the real port when 0 was asked).
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// `http://ADDR`, for an SDK's `endpoint_url`.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Stops accepting, finishes the requests in flight, and joins every thread.
    pub fn shutdown(mut self) {
        self.stop();
    }

    fn stop(&mut self) {
        if self.shared.stopping.swap(true, Ordering::SeqCst) && self.acceptor.is_none() {
            return;
        }
        {
            let _q = self.shared.lock();
            self.shared.work.notify_all();
            self.shared.space.notify_all();
        }
        if let Some(acceptor) = self.acceptor.take() {
            // Wake the acceptor from accept() with a connection of our own.
            let mut wake = self.addr;
            if wake.ip().is_unspecified() {
                wake.set_ip(match wake {
                    SocketAddr::V4(_) => std::net::Ipv4Addr::LOCALHOST.into(),
                    SocketAddr::V6(_) => std::net::Ipv6Addr::LOCALHOST.into(),
                });
            }
            if TcpStream::connect_timeout(&wake, Duration::from_secs(2)).is_ok() {
                let _ = acceptor.join();
            }
        }
        for w in self.workers.drain(..) {
            let _ = w.join();
        }
    }
}

impl Drop for ServerHandle {
    fn drop(&mut self) {
        self.stop();
    }
}

pub(super) fn start(
    listener: TcpListener,
    addr: SocketAddr,
    service: Arc<Service>,
    limits: Limits,
    threads: usize,
) -> Result<ServerHandle, String> {
    let threads = threads.max(1);
    let shared = Arc::new(Shared {
        queue: Mutex::new(Queue {
            conns: VecDeque::new(),
            yielding: 0,
        }),
        work: Condvar::new(),
        space: Condvar::new(),
        stopping: AtomicBool::new(false),
        capacity: threads * 4,
    });
    let limits = Arc::new(limits);
    let mut handle = ServerHandle {
        addr,
        shared: shared.clone(),
        acceptor: None,
        workers: Vec::with_capacity(threads),
    };
    for i in 0..threads {
        let (shared, service, limits) = (shared.clone(), service.clone(), limits.clone());
        let w = std::thread::Builder::new()
            .name(format!("kms-worker-{i}"))
            .spawn(move || {
                while let Some((stream, peer)) = shared.pop() {
                    // A panic is caught per request; this is a last resort that
                    // keeps the pool at full strength.
                    let _ = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                        serve_connection(stream, peer, &service, &shared, &limits)
                    }));
                }
            })
            .map_err(|e| format!("cannot start worker threads: {e}"))?;
        handle.workers.push(w);
    }
    let acceptor_shared = shared.clone();
    handle.acceptor = Some(
        std::thread::Builder::new()
            .name("kms-accept".into())
            .spawn(move || accept_loop(listener, &acceptor_shared))
            .map_err(|e| format!("cannot start the accept thread: {e}"))?,
    );
    Ok(handle)
}

fn accept_loop(listener: TcpListener, shared: &Shared) {
    let mut warned = false;
    loop {
        match listener.accept() {
            Ok(conn) => {
                if shared.stopping() {
                    return;
                }
                shared.push(conn);
            }
            Err(e) => {
                if shared.stopping() {
                    return;
                }
                use std::io::ErrorKind::*;
                if !matches!(e.kind(), Interrupted | ConnectionAborted | ConnectionReset) {
                    // Out of file descriptors or similar: back off, keep serving.
                    if !warned {
                        eprintln!("warning: accepting a connection failed: {e}");
                        warned = true;
                    }
                    std::thread::sleep(Duration::from_millis(50));
                }
            }
        }
    }
}

fn serve_connection(
    stream: TcpStream,
    peer: SocketAddr,
    service: &Service,
    shared: &Shared,
    limits: &Limits,
) {
    let Ok(mut conn) = Conn::new(stream, limits.tick) else {
        return;
    };
    let mut served = 0u64;
    loop {
        let fresh = served == 0;
        let give_up = |waited: Duration| {
            if shared.stopping() {
                // A connection accepted before shutdown gets its one request.
                !fresh || waited > Duration::from_millis(500)
            } else if fresh {
                // A client that connects and sends nothing.
                waited > limits.request_timeout
                    || (waited > Duration::from_secs(2) && shared.should_yield())
            } else {
                waited > limits.idle_timeout || shared.should_yield()
            }
        };
        let date = sigv4::format_http_date(sigv4::now_epoch());
        match conn.read_request(limits, &give_up) {
            ReadOutcome::Closed => return,
            ReadOutcome::Reject(e) => {
                let resp = error_response(&ApiError::from(e));
                if conn.write(&resp.to_bytes(true, &date)).is_ok() {
                    conn.linger_close();
                }
                return;
            }
            ReadOutcome::Request(req) => {
                let resp = service.handle(&req, peer);
                served += 1;
                // Under contention (a connection waits in the queue), this one
                // makes way after its answer: `Connection: close` tells the
                // client to reconnect, so busy clients take turns.
                let close = !req.keep_alive || shared.stopping() || shared.should_yield();
                let date = sigv4::format_http_date(sigv4::now_epoch());
                if conn.write(&resp.to_bytes(close, &date)).is_err() || close {
                    return;
                }
            }
        }
    }
}
