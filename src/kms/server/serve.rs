//! `ServeOptions`, [`start`] and [`serve`]: from options to a running endpoint.

use std::net::{SocketAddr, TcpListener, ToSocketAddrs};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use super::access_keys::AccessKeys;
use super::{dispatch, http, pool, ServerHandle};
use crate::kms::{Kms, RootKey};

/// The address `deadbolt kms serve` listens on by default.
pub const DEFAULT_ADDR: &str = "127.0.0.1:4599";
/// The default bound on a request body (1 MiB; AWS KMS bodies are far smaller).
pub const DEFAULT_MAX_BODY: usize = 1 << 20;

/// Everything `deadbolt kms serve` is told.
#[derive(Debug)]
pub struct ServeOptions {
    /// `HOST:PORT` to listen on; port 0 picks a free port. Default [`DEFAULT_ADDR`].
    pub addr: String,
    /// The keystore directory.
    pub keystore: PathBuf,
    pub root_key: RootKey,
    /// The access keys file (see [`access_keys`](super::access_keys)).
    pub access_keys: Option<PathBuf>,
    /// Requests without an `Authorization` header act as the root of the
    /// keystore's account.
    pub allow_unsigned: bool,
    /// Permit a non-loopback listening address.
    pub allow_remote: bool,
    /// Largest request body in bytes (413 beyond). Default [`DEFAULT_MAX_BODY`].
    pub max_body: usize,
    /// Worker threads (requests served at once); 0 picks 4 per core, 4 to 64.
    pub threads: usize,
    /// Write the bound address (`127.0.0.1:PORT`) to this file once listening.
    pub port_file: Option<PathBuf>,
    /// One line per request on stderr (peer, operation, status, principal, time).
    pub log_requests: bool,
}

impl ServeOptions {
    /// The defaults, for a keystore and its root key.
    pub fn new(keystore: impl Into<PathBuf>, root_key: RootKey) -> ServeOptions {
        ServeOptions {
            addr: DEFAULT_ADDR.into(),
            keystore: keystore.into(),
            root_key,
            access_keys: None,
            allow_unsigned: false,
            allow_remote: false,
            max_body: DEFAULT_MAX_BODY,
            threads: 0,
            port_file: None,
            log_requests: false,
        }
    }
}

/// The worker count used when `threads` is 0: 4 per core, between 4 and 64
/// (workers spend much of their time waiting on kept-alive connections).
pub fn default_threads() -> usize {
    std::thread::available_parallelism()
        .map_or(2, |n| n.get())
        .saturating_mul(4)
        .clamp(4, 64)
}

/// Resolves `addr` and refuses a non-loopback address unless `allow_remote`.
pub(super) fn resolve(addr: &str, allow_remote: bool) -> Result<SocketAddr, String> {
    let addrs: Vec<SocketAddr> = addr
        .to_socket_addrs()
        .map_err(|e| {
            format!("cannot use address {addr:?}: {e} (expected HOST:PORT, e.g. {DEFAULT_ADDR})")
        })?
        .collect();
    let Some(first) = addrs.first().copied() else {
        return Err(format!("address {addr:?} resolves to nothing"));
    };
    if !allow_remote {
        if let Some(remote) = addrs.iter().find(|a| !a.ip().is_loopback()) {
            return Err(format!(
                "refusing to listen on {remote} (from {addr:?}): it is not a loopback address, so \
                 the KMS would be reachable from other machines over plain HTTP. Use 127.0.0.1, or \
                 pass --allow-remote to do this on purpose (and put TLS in front of it)"
            ));
        }
    }
    Ok(first)
}

/// Writes `text` to `path` whole or not at all (temporary file + rename).
pub(super) fn write_atomically(path: &Path, text: &str) -> Result<(), String> {
    let dir = path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let err = |e: std::io::Error| format!("cannot write port file {}: {e}", path.display());
    let mut tmp = tempfile::NamedTempFile::new_in(dir).map_err(err)?;
    std::io::Write::write_all(&mut tmp, text.as_bytes()).map_err(err)?;
    tmp.persist(path).map_err(|e| err(e.error))?;
    Ok(())
}

/// Opens the keystore, binds, and starts serving in background threads.
pub fn start(opts: ServeOptions) -> Result<ServerHandle, String> {
    let addr = resolve(&opts.addr, opts.allow_remote)?;
    let keys = match &opts.access_keys {
        Some(p) => {
            let keys = AccessKeys::load(p)?;
            warn_if_readable_by_others(p);
            keys
        }
        None => AccessKeys::default(),
    };
    if keys.is_empty() && !opts.allow_unsigned {
        return Err(
            "no access keys: give --access-keys FILE (a JSON object mapping access key ids to \
             {\"secret\": ..., \"principal\": \"arn:aws:iam::ACCOUNT:user/NAME\"}), or \
             --allow-unsigned for local use without signatures"
                .into(),
        );
    }
    if opts.max_body == 0 {
        return Err("the request body limit must be at least 1 byte".into());
    }
    let kms = Kms::open(&opts.keystore, opts.root_key).map_err(|e| {
        format!(
            "cannot open keystore {}: {}",
            opts.keystore.display(),
            e.message
        )
    })?;
    let account = kms.account().map_err(|e| {
        format!(
            "cannot read keystore {}: {}",
            opts.keystore.display(),
            e.message
        )
    })?;
    if opts.allow_unsigned && !addr.ip().is_loopback() {
        eprintln!(
            "warning: --allow-unsigned on {addr}: anyone who can reach this address acts as the root of account {account}"
        );
    }
    let listener = TcpListener::bind(addr).map_err(|e| format!("cannot listen on {addr}: {e}"))?;
    let bound = listener
        .local_addr()
        .map_err(|e| format!("cannot listen on {addr}: {e}"))?;
    if let Some(p) = &opts.port_file {
        write_atomically(p, &format!("{bound}\n"))?;
    }
    let service = Arc::new(dispatch::Service {
        kms,
        keys,
        allow_unsigned: opts.allow_unsigned,
        account,
        log_requests: opts.log_requests,
    });
    let limits = http::Limits {
        max_body: opts.max_body,
        ..http::Limits::default()
    };
    let threads = if opts.threads == 0 {
        default_threads()
    } else {
        opts.threads
    };
    pool::start(listener, bound, service, limits, threads)
}

#[cfg(unix)]
fn warn_if_readable_by_others(p: &Path) {
    use std::os::unix::fs::PermissionsExt;
    if let Ok(m) = std::fs::metadata(p) {
        let mode = m.permissions().mode() & 0o777;
        if mode & 0o077 != 0 {
            eprintln!(
                "warning: access keys file {} has mode {mode:04o}: its secrets are readable by others (chmod 600 {})",
                p.display(),
                p.display()
            );
        }
    }
}

#[cfg(not(unix))]
fn warn_if_readable_by_others(_: &Path) {}

/// Serves until SIGTERM or SIGINT, then stops accepting, finishes the requests
/// in flight and returns `Ok(())`. Prints `listening on http://ADDR` to stderr
/// once bound (a second signal exits at once with status 130).
pub fn serve(opts: ServeOptions) -> Result<(), String> {
    use signal_hook::consts::{SIGINT, SIGTERM};
    use signal_hook::iterator::Signals;

    // Registered before binding, so a signal sent as soon as the address is
    // printed is not lost.
    let mut signals = Signals::new([SIGTERM, SIGINT])
        .map_err(|e| format!("cannot install signal handlers: {e}"))?;
    let server = start(opts)?;
    eprintln!("listening on {}", server.url());
    let closer = signals.handle();
    let mut server = Some(server);
    let mut stopper = None;
    for sig in signals.forever() {
        let name = if sig == SIGINT { "SIGINT" } else { "SIGTERM" };
        match server.take() {
            Some(s) => {
                eprintln!("{name}: no longer accepting connections; finishing requests in flight");
                let closer = closer.clone();
                stopper = Some(std::thread::spawn(move || {
                    s.shutdown();
                    closer.close();
                }));
            }
            None => {
                eprintln!("{name} again: exiting without waiting");
                std::process::exit(130);
            }
        }
    }
    if let Some(t) = stopper {
        t.join()
            .map_err(|_| "the server did not shut down cleanly".to_string())?;
    }
    eprintln!("stopped");
    Ok(())
}
