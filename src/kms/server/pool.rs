//! Connections and workers.
//!
//! One thread accepts connections; each admitted connection gets a thread of
//! its own (small stack) that reads its requests under the deadlines of
//! [`Limits`]. Only answering a request takes one of the `threads` worker
//! permits, so clients that send slowly — or not at all — hold a connection
//! thread, never a worker: a normal request is served at once however many
//! connections trickle. What a client can hold is bounded: at most
//! `max_connections` connections in all and `max_connections_per_address`
//! from one address (the next one is answered `503 ServiceUnavailable` and
//! closed), a request head must arrive within the head deadline, a whole
//! request within the request deadline, and an idle kept-alive connection is
//! closed after the idle timeout.
//!
//! Shutdown: stop accepting, let every connection finish the request it is
//! reading or serving (its answer says `Connection: close`), give a connection
//! accepted just before its one request, close idle ones, and wait for every
//! connection thread.

use std::collections::HashMap;
use std::io::Write;
use std::net::{IpAddr, SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use super::dispatch::{error_response, ApiError, Service};
use super::http::{Conn, Limits, ReadOutcome};
use super::sigv4;

/// Stack of a connection thread: parsing, the KMS call and JSON are shallow
/// (serde_json bounds nesting at 128 levels).
const CONNECTION_STACK: usize = 512 << 10;

/// How many connections the server holds.
#[derive(Debug, Clone, Copy)]
pub struct ConnectionLimits {
    /// Open connections in all.
    pub max_connections: usize,
    /// Open connections from one client address.
    pub max_per_address: usize,
    /// Requests answered at once (worker permits).
    pub workers: usize,
}

#[derive(Default)]
struct Table {
    total: usize,
    by_address: HashMap<IpAddr, usize>,
}

pub(super) struct Shared {
    stopping: AtomicBool,
    table: Mutex<Table>,
    /// Signalled when a connection ends.
    ended: Condvar,
    /// Free worker permits.
    permits: Mutex<usize>,
    permit_freed: Condvar,
    limits: ConnectionLimits,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

impl Shared {
    fn stopping(&self) -> bool {
        self.stopping.load(Ordering::SeqCst)
    }

    /// Counts a new connection from `ip`, or says which cap it hits.
    fn admit(&self, ip: IpAddr) -> Result<(), &'static str> {
        let mut t = lock(&self.table);
        if t.total >= self.limits.max_connections {
            return Err("the server has as many connections open as it accepts");
        }
        let n = t.by_address.entry(ip).or_insert(0);
        if *n >= self.limits.max_per_address {
            return Err("this client address has as many connections open as one address may");
        }
        *n += 1;
        t.total += 1;
        Ok(())
    }

    fn release(&self, ip: IpAddr) {
        let mut t = lock(&self.table);
        t.total = t.total.saturating_sub(1);
        if let Some(n) = t.by_address.get_mut(&ip) {
            *n -= 1;
            if *n == 0 {
                t.by_address.remove(&ip);
            }
        }
        drop(t);
        self.ended.notify_all();
    }

    /// Waits for a worker permit.
    fn permit(&self) -> Permit<'_> {
        let mut free = lock(&self.permits);
        while *free == 0 {
            free = self
                .permit_freed
                .wait(free)
                .unwrap_or_else(|p| p.into_inner());
        }
        *free -= 1;
        Permit(self)
    }
}

struct Permit<'a>(&'a Shared);

impl Drop for Permit<'_> {
    fn drop(&mut self) {
        *lock(&self.0.permits) += 1;
        self.0.permit_freed.notify_one();
    }
}

/// Releases a connection's place in the table when its thread ends (panic included).
struct Admitted {
    shared: Arc<Shared>,
    ip: IpAddr,
}

impl Drop for Admitted {
    fn drop(&mut self) {
        self.shared.release(self.ip);
    }
}

/// A running server: its address, and [`shutdown`](ServerHandle::shutdown).
/// Dropping the handle shuts the server down too.
pub struct ServerHandle {
    addr: SocketAddr,
    shared: Arc<Shared>,
    acceptor: Option<JoinHandle<()>>,
}

impl std::fmt::Debug for ServerHandle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ServerHandle")
            .field("addr", &self.addr)
            .field("limits", &self.shared.limits)
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

    /// Connections open now (for tests and diagnostics).
    pub fn open_connections(&self) -> usize {
        lock(&self.shared.table).total
    }

    /// Stops accepting, finishes the requests in flight, and waits for every
    /// connection thread.
    pub fn shutdown(mut self) {
        self.stop();
    }

    fn stop(&mut self) {
        if self.shared.stopping.swap(true, Ordering::SeqCst) && self.acceptor.is_none() {
            return;
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
        let mut t = lock(&self.shared.table);
        while t.total > 0 {
            t = self
                .shared
                .ended
                .wait_timeout(t, Duration::from_millis(100))
                .unwrap_or_else(|p| p.into_inner())
                .0;
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
    conn_limits: ConnectionLimits,
) -> Result<ServerHandle, String> {
    let conn_limits = ConnectionLimits {
        workers: conn_limits.workers.max(1),
        max_connections: conn_limits.max_connections.max(1),
        max_per_address: conn_limits.max_per_address.max(1),
    };
    let shared = Arc::new(Shared {
        stopping: AtomicBool::new(false),
        table: Mutex::new(Table::default()),
        ended: Condvar::new(),
        permits: Mutex::new(conn_limits.workers),
        permit_freed: Condvar::new(),
        limits: conn_limits,
    });
    let limits = Arc::new(limits);
    let acceptor_shared = shared.clone();
    let acceptor = std::thread::Builder::new()
        .name("kms-accept".into())
        .spawn(move || accept_loop(listener, &acceptor_shared, &service, &limits))
        .map_err(|e| format!("cannot start the accept thread: {e}"))?;
    Ok(ServerHandle {
        addr,
        shared,
        acceptor: Some(acceptor),
    })
}

fn accept_loop(
    listener: TcpListener,
    shared: &Arc<Shared>,
    service: &Arc<Service>,
    limits: &Arc<Limits>,
) {
    let mut warned = false;
    loop {
        match listener.accept() {
            Ok((stream, peer)) => {
                if shared.stopping() {
                    return;
                }
                if let Err(why) = shared.admit(peer.ip()) {
                    refuse(stream, peer, service, why);
                    continue;
                }
                let guard = Admitted {
                    shared: shared.clone(),
                    ip: peer.ip(),
                };
                let (s, svc, lim) = (shared.clone(), service.clone(), limits.clone());
                let spawned = std::thread::Builder::new()
                    .name("kms-conn".into())
                    .stack_size(CONNECTION_STACK)
                    .spawn(move || {
                        let _guard = guard;
                        // A panic is caught per request; this is a last resort.
                        let _ = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                            serve_connection(stream, peer, &svc, &s, &lim)
                        }));
                    });
                if let Err(e) = spawned {
                    // The guard went with the closure and was dropped: the
                    // place is released. The stream went too, and is closed.
                    if !warned {
                        eprintln!("warning: cannot start a connection thread: {e}");
                        warned = true;
                    }
                    std::thread::sleep(Duration::from_millis(50));
                }
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

/// Answers a connection over a cap with 503 and closes it, without reading
/// (the acceptor never waits on a client: the answer fits the socket buffer).
fn refuse(stream: TcpStream, peer: SocketAddr, service: &Service, why: &str) {
    let e = ApiError {
        status: 503,
        kind: "ServiceUnavailableException",
        message: format!("{why}; try again later"),
        detail: None,
    };
    let date = sigv4::format_http_date(sigv4::now_epoch());
    let bytes = error_response(&e).to_bytes(true, false, &date);
    let mut stream = stream;
    let _ = stream.set_nonblocking(true);
    let _ = stream.write_all(&bytes);
    let _ = stream.shutdown(std::net::Shutdown::Both);
    service.log_rejection(peer, &e, Duration::ZERO);
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
                waited > limits.head_timeout
            } else {
                waited > limits.idle_timeout
            }
        };
        let t0 = Instant::now();
        match conn.read_request(limits, &give_up) {
            ReadOutcome::Closed => return,
            ReadOutcome::Reject(e) => {
                let e = ApiError::from(e);
                service.log_rejection(peer, &e, t0.elapsed());
                let date = sigv4::format_http_date(sigv4::now_epoch());
                if conn
                    .write(&error_response(&e).to_bytes(true, false, &date))
                    .is_ok()
                {
                    conn.linger_close();
                }
                return;
            }
            ReadOutcome::Request(req) => {
                let resp = {
                    let _permit = shared.permit();
                    service.handle(&req, peer)
                };
                served += 1;
                let close = !req.keep_alive || shared.stopping();
                // An HTTP/1.0 client keeps the connection only when told so.
                let keep_alive = !close && req.minor_version == 0;
                let date = sigv4::format_http_date(sigv4::now_epoch());
                if conn
                    .write(&resp.to_bytes(close, keep_alive, &date))
                    .is_err()
                    || close
                {
                    return;
                }
            }
        }
    }
}
