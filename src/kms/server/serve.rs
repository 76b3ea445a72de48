//! `ServeOptions`, [`start`] and [`serve`]: from options to a running endpoint.

use std::net::{SocketAddr, TcpListener, ToSocketAddrs};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use super::access_keys::AccessKeys;
use super::{dispatch, http, pool, ServerHandle};
use crate::kms::regions::Regions;
use crate::kms::{Kms, RootKey};

/// The address `deadbolt kms serve` listens on by default.
pub const DEFAULT_ADDR: &str = "127.0.0.1:4599";
/// The default bound on a request body (1 MiB; AWS KMS bodies are far smaller).
pub const DEFAULT_MAX_BODY: usize = 1 << 20;
/// The default bound on open connections.
pub const DEFAULT_MAX_CONNECTIONS: usize = 1024;
/// The default bound on open connections from one client address.
pub const DEFAULT_MAX_CONNECTIONS_PER_ADDRESS: usize = 128;
/// The default deadline for a request head.
pub const DEFAULT_HEAD_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(10);

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
    /// Local-use mode: requests without an `Authorization` header, and
    /// requests signed with an access key id that is not in `access_keys` (or
    /// when there is no such file), act as the root of the keystore's account,
    /// unverified — as LocalStack and moto users expect with
    /// `AWS_ACCESS_KEY_ID=test`. Requests signed with a configured access key
    /// are still verified.
    pub allow_unsigned: bool,
    /// The region of unsigned requests (default: the keystore's home region).
    pub region: Option<String>,
    /// The regions a SigV4 credential scope may name (default: the public AWS
    /// regions); the keystore's home region is always served.
    pub regions: Regions,
    /// Permit a non-loopback listening address.
    pub allow_remote: bool,
    /// Largest request body in bytes (413 beyond). Default [`DEFAULT_MAX_BODY`].
    pub max_body: usize,
    /// Worker threads (requests served at once); 0 picks 4 per core, 4 to 64.
    pub threads: usize,
    /// Open connections in all (503 beyond). Default [`DEFAULT_MAX_CONNECTIONS`].
    pub max_connections: usize,
    /// Open connections from one client address (503 beyond). Default
    /// [`DEFAULT_MAX_CONNECTIONS_PER_ADDRESS`].
    pub max_connections_per_address: usize,
    /// How long a client may take to send a request head (408 beyond).
    /// Default [`DEFAULT_HEAD_TIMEOUT`].
    pub head_timeout: std::time::Duration,
    /// Write the bound address (`127.0.0.1:PORT`) to this file once listening.
    pub port_file: Option<PathBuf>,
    /// One line per request on stderr (peer, operation, status, principal,
    /// time), and one per refused connection or request (400, 408, 413, 431,
    /// 503 before any operation).
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
            region: None,
            regions: Regions::Public,
            allow_remote: false,
            max_body: DEFAULT_MAX_BODY,
            threads: 0,
            max_connections: DEFAULT_MAX_CONNECTIONS,
            max_connections_per_address: DEFAULT_MAX_CONNECTIONS_PER_ADDRESS,
            head_timeout: DEFAULT_HEAD_TIMEOUT,
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
    let home_region = kms.region().map_err(|e| {
        format!(
            "cannot read keystore {}: {}",
            opts.keystore.display(),
            e.owner_message()
        )
    })?;
    let region = opts.region.clone().unwrap_or_else(|| home_region.clone());
    if !opts.regions.allows(&region, &home_region) {
        return Err(format!(
            "--region {region} is not one of the regions served ({})",
            opts.regions.describe()
        ));
    }
    if opts.allow_unsigned && !addr.ip().is_loopback() {
        eprintln!(
            "warning: --allow-unsigned on {addr}: anyone who can reach this address acts as the root of account {account}"
        );
    }
    let listener = TcpListener::bind(addr).map_err(|e| format!("cannot listen on {addr}: {e}"))?;
    let bound = listener
        .local_addr()
        .map_err(|e| format!("cannot listen on {addr}: {e}"))?;
    eprintln!(
        "{}",
        auth_mode(&keys, opts.allow_unsigned, &account, &region, &opts.regions)
    );
    if let Some(p) = &opts.port_file {
        write_atomically(p, &format!("{bound}\n"))?;
    }
    let service = Arc::new(dispatch::Service {
        kms,
        keys,
        allow_unsigned: opts.allow_unsigned,
        account,
        region,
        home_region,
        regions: opts.regions.clone(),
        log_requests: opts.log_requests,
    });
    let limits = http::Limits {
        max_body: opts.max_body,
        head_timeout: opts.head_timeout,
        ..http::Limits::default()
    };
    let workers = if opts.threads == 0 {
        default_threads()
    } else {
        opts.threads
    };
    let conn_limits = pool::ConnectionLimits {
        max_connections: opts.max_connections,
        max_per_address: opts.max_connections_per_address,
        workers,
    };
    pool::start(listener, bound, service, limits, conn_limits)
}

/// The start-up line saying how requests are authenticated.
fn auth_mode(
    keys: &AccessKeys,
    allow_unsigned: bool,
    account: &str,
    region: &str,
    regions: &Regions,
) -> String {
    let verified = match keys.len() {
        0 => String::new(),
        1 => "requests signed with the configured access key are verified; ".into(),
        n => format!("requests signed with one of the {n} configured access keys are verified; "),
    };
    let scope = format!("credential scopes may name {}", regions.describe());
    if allow_unsigned {
        format!(
            "authentication: local-use mode (--allow-unsigned): {verified}unsigned requests \
             (region {region}) and requests signed with any other access key id act as \
             arn:aws:iam::{account}:root, unverified; {scope}"
        )
    } else {
        format!("authentication: {verified}every request must be signed (SigV4); {scope}")
    }
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
