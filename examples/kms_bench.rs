//! Throughput of the built-in KMS: Encrypt, Decrypt and GenerateDataKey
//! operations per second, in-process (`Kms::call`) and over HTTP (AWS JSON 1.1,
//! SigV4-signed, keep-alive connections), against deadbolt's endpoint and any
//! other KMS-compatible endpoint (moto's server, say) with the same client and
//! the same concurrency. `bench/kms/run.sh` runs it side by side with moto.
//!
//! ```text
//! cargo run --release --example kms_bench -- [options]
//!   --seconds S            measuring time per (target, operation, clients) [3]
//!   --clients 1,4          concurrent clients (threads, one connection each) [1,4]
//!   --endpoint NAME=URL    an HTTP endpoint to measure (repeatable)
//!   --access-key ID:SECRET credentials to sign with [AKIABENCH00000000001:bench-secret]
//!   --no-inproc            skip the in-process rows
//!   --in-server            also start deadbolt's endpoint in-process and measure it
//!   --json FILE            also write the results as JSON
//! ```

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream, ToSocketAddrs};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use base64::Engine;
use serde_json::{json, Value};

use deadbolt::kms::server::sigv4::{
    authorization_header, format_amz_date, now_epoch, RequestParts,
};
use deadbolt::kms::{Caller, Kms, RootKey};

const OPS: [&str; 3] = ["Encrypt", "Decrypt", "GenerateDataKey"];
const PLAINTEXT_BYTES: usize = 256;

struct Args {
    seconds: f64,
    clients: Vec<usize>,
    endpoints: Vec<(String, String)>,
    key: (String, String),
    inproc: bool,
    in_server: bool,
    json: Option<String>,
}

fn parse_args() -> Result<Args, String> {
    let mut a = Args {
        seconds: 3.0,
        clients: vec![1, 4],
        endpoints: Vec::new(),
        key: ("AKIABENCH00000000001".into(), "bench-secret".into()),
        inproc: true,
        in_server: false,
        json: None,
    };
    let mut it = std::env::args().skip(1);
    while let Some(arg) = it.next() {
        let mut val = || it.next().ok_or(format!("{arg} needs a value"));
        match arg.as_str() {
            "--seconds" => a.seconds = val()?.parse().map_err(|e| format!("--seconds: {e}"))?,
            "--clients" => {
                a.clients = val()?
                    .split(',')
                    .map(|s| {
                        s.trim()
                            .parse::<usize>()
                            .map_err(|e| format!("--clients: {e}"))
                    })
                    .collect::<Result<_, _>>()?;
                if a.clients.contains(&0) {
                    return Err("--clients: at least 1".into());
                }
            }
            "--endpoint" => {
                let v = val()?;
                let (name, url) = v.split_once('=').ok_or("--endpoint NAME=URL")?;
                a.endpoints.push((name.into(), url.into()));
            }
            "--access-key" => {
                let v = val()?;
                let (id, secret) = v.split_once(':').ok_or("--access-key ID:SECRET")?;
                a.key = (id.into(), secret.into());
            }
            "--no-inproc" => a.inproc = false,
            "--in-server" => a.in_server = true,
            "--json" => a.json = Some(val()?),
            "-h" | "--help" => {
                println!("see the header of examples/kms_bench.rs");
                std::process::exit(0);
            }
            other => return Err(format!("unknown argument {other:?}")),
        }
    }
    Ok(a)
}

fn b64(b: &[u8]) -> String {
    base64::engine::general_purpose::STANDARD.encode(b)
}

/// One measurement.
#[derive(Clone)]
struct Row {
    target: String,
    op: &'static str,
    clients: usize,
    ops: u64,
    secs: f64,
    p50_ms: f64,
    p99_ms: f64,
}

impl Row {
    fn rate(&self) -> f64 {
        self.ops as f64 / self.secs
    }
}

/// The request body of each measured operation, given a key and a ciphertext.
fn inputs(key: &str, blob: &str) -> [Value; 3] {
    [
        json!({"KeyId": key, "Plaintext": b64(&[7u8; PLAINTEXT_BYTES]), "EncryptionContext": {"bench": "1"}}),
        json!({"CiphertextBlob": blob, "EncryptionContext": {"bench": "1"}}),
        json!({"KeyId": key, "KeySpec": "AES_256", "EncryptionContext": {"bench": "1"}}),
    ]
}

/// Runs `clients` threads calling `work` until the time is up.
fn measure<C: Send + 'static>(
    target: &str,
    op: &'static str,
    clients: usize,
    seconds: f64,
    make: impl Fn() -> C,
    work: impl Fn(&mut C) -> Result<(), String> + Send + Sync + 'static,
) -> Result<Row, String> {
    let work = Arc::new(work);
    let stop = Arc::new(AtomicBool::new(false));
    let start = Instant::now();
    let threads: Vec<_> = (0..clients)
        .map(|_| {
            let (work, stop, mut ctx) = (work.clone(), stop.clone(), make());
            std::thread::spawn(move || -> Result<Vec<u32>, String> {
                let mut lat = Vec::with_capacity(1 << 16);
                while !stop.load(Ordering::Relaxed) {
                    let t = Instant::now();
                    work(&mut ctx)?;
                    lat.push(t.elapsed().as_micros().min(u32::MAX as u128) as u32);
                }
                Ok(lat)
            })
        })
        .collect();
    std::thread::sleep(Duration::from_secs_f64(seconds));
    stop.store(true, Ordering::Relaxed);
    let mut all = Vec::new();
    for t in threads {
        all.extend(t.join().map_err(|_| "a client thread panicked")??);
    }
    let secs = start.elapsed().as_secs_f64();
    all.sort_unstable();
    let pct = |p: f64| {
        all.get(((all.len() as f64 * p) as usize).min(all.len().saturating_sub(1)))
            .map_or(0.0, |&us| us as f64 / 1000.0)
    };
    Ok(Row {
        target: target.into(),
        op,
        clients,
        ops: all.len() as u64,
        secs,
        p50_ms: pct(0.50),
        p99_ms: pct(0.99),
    })
}

// ---- in-process -------------------------------------------------------------

fn bench_inproc(a: &Args, rows: &mut Vec<Row>) -> Result<(), String> {
    let dir = tempfile::tempdir().map_err(|e| e.to_string())?;
    let kms = Kms::open(
        &dir.path().join("keystore"),
        RootKey::generate().map_err(|e| e.to_string())?,
    )
    .map_err(|e| e.to_string())?;
    let caller = Caller::local_admin(&kms.account().map_err(|e| e.to_string())?);
    let key = kms
        .call("CreateKey", &caller, json!({}))
        .map_err(|e| e.to_string())?["KeyMetadata"]["KeyId"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    let enc = kms
        .call("Encrypt", &caller, inputs(&key, "")[0].clone())
        .map_err(|e| e.to_string())?;
    let blob = enc["CiphertextBlob"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    for (op, input) in OPS.iter().zip(inputs(&key, &blob)) {
        for &n in &a.clients {
            let (kms, caller, input) = (kms.clone(), caller.clone(), input.clone());
            let row = measure(
                "in-process",
                op,
                n,
                a.seconds,
                || (),
                move |_| {
                    kms.call(op, &caller, input.clone())
                        .map(|_| ())
                        .map_err(|e| e.to_string())
                },
            )?;
            eprintln!(
                "  in-process {op:<16} {n:>2} clients: {:>9.0} ops/s",
                row.rate()
            );
            rows.push(row);
        }
    }
    Ok(())
}

// ---- HTTP -----------------------------------------------------------------

/// A keep-alive HTTP/1.1 client that signs each request with SigV4.
struct Client {
    addr: SocketAddr,
    host: String,
    key: (String, String),
    stream: Option<TcpStream>,
    buf: Vec<u8>,
}

impl Client {
    fn new(url: &str, key: &(String, String)) -> Result<Client, String> {
        let host = url
            .strip_prefix("http://")
            .ok_or(format!("{url}: only http:// endpoints"))?
            .trim_end_matches('/')
            .to_string();
        let addr = host
            .to_socket_addrs()
            .map_err(|e| format!("{url}: {e}"))?
            .next()
            .ok_or(format!("{url}: no address"))?;
        Ok(Client {
            addr,
            host,
            key: key.clone(),
            stream: None,
            buf: Vec::new(),
        })
    }

    fn call(&mut self, op: &str, body: &[u8]) -> Result<(u16, Vec<u8>), String> {
        let mut headers: Vec<(String, String)> = vec![
            ("Host".into(), self.host.clone()),
            ("Content-Type".into(), "application/x-amz-json-1.1".into()),
            ("X-Amz-Date".into(), format_amz_date(now_epoch())),
            ("X-Amz-Target".into(), format!("TrentService.{op}")),
        ];
        let parts = RequestParts {
            method: "POST",
            path: "/",
            query: "",
            headers: &headers,
            body,
        };
        let auth = authorization_header(&parts, &self.key.0, &self.key.1, "us-east-1", "kms");
        headers.push(("Authorization".into(), auth));
        let mut raw = Vec::with_capacity(600 + body.len());
        raw.extend_from_slice(b"POST / HTTP/1.1\r\n");
        for (n, v) in &headers {
            raw.extend_from_slice(format!("{n}: {v}\r\n").as_bytes());
        }
        raw.extend_from_slice(format!("Content-Length: {}\r\n\r\n", body.len()).as_bytes());
        raw.extend_from_slice(body);
        // One retry on a fresh connection if a kept-alive one was closed.
        for attempt in 0..2 {
            if self.stream.is_none() {
                let s = TcpStream::connect(self.addr)
                    .map_err(|e| format!("connect {}: {e}", self.addr))?;
                s.set_nodelay(true).ok();
                s.set_read_timeout(Some(Duration::from_secs(30))).ok();
                self.stream = Some(s);
                self.buf.clear();
            }
            match self.exchange(&raw) {
                Ok(r) => return Ok(r),
                Err(e) if attempt == 0 && self.buf.is_empty() => {
                    let _ = e;
                    self.stream = None;
                }
                Err(e) => return Err(e),
            }
        }
        Err("unreachable".into())
    }

    fn fill(&mut self) -> Result<usize, String> {
        let mut chunk = [0u8; 16384];
        let s = self.stream.as_mut().ok_or("no connection")?;
        let n = s.read(&mut chunk).map_err(|e| e.to_string())?;
        self.buf.extend_from_slice(&chunk[..n]);
        Ok(n)
    }

    fn exchange(&mut self, raw: &[u8]) -> Result<(u16, Vec<u8>), String> {
        self.stream
            .as_mut()
            .ok_or("no connection")?
            .write_all(raw)
            .map_err(|e| e.to_string())?;
        let head_end = loop {
            if let Some(i) = self.buf.windows(4).position(|w| w == b"\r\n\r\n") {
                break i;
            }
            if self.fill()? == 0 {
                return Err("connection closed".into());
            }
        };
        let head = String::from_utf8_lossy(&self.buf[..head_end]).to_string();
        let status: u16 = head
            .get(9..12)
            .and_then(|s| s.parse().ok())
            .ok_or("bad status line")?;
        let header = |name: &str| {
            head.split("\r\n").skip(1).find_map(|l| {
                let (n, v) = l.split_once(':')?;
                n.trim()
                    .eq_ignore_ascii_case(name)
                    .then(|| v.trim().to_string())
            })
        };
        let close = header("connection").is_some_and(|v| v.eq_ignore_ascii_case("close"));
        self.buf.drain(..head_end + 4);
        let body = if let Some(len) = header("content-length") {
            let len: usize = len.parse().map_err(|_| "bad Content-Length")?;
            while self.buf.len() < len {
                if self.fill()? == 0 {
                    return Err("closed in a body".into());
                }
            }
            self.buf.drain(..len).collect()
        } else if header("transfer-encoding").is_some_and(|v| v.eq_ignore_ascii_case("chunked")) {
            let mut body = Vec::new();
            loop {
                let line_end = loop {
                    if let Some(i) = self.buf.windows(2).position(|w| w == b"\r\n") {
                        break i;
                    }
                    if self.fill()? == 0 {
                        return Err("closed in a chunk".into());
                    }
                };
                let size_text = String::from_utf8_lossy(&self.buf[..line_end]).to_string();
                let size =
                    usize::from_str_radix(size_text.split(';').next().unwrap_or("").trim(), 16)
                        .map_err(|_| "bad chunk size")?;
                while self.buf.len() < line_end + 2 + size + 2 {
                    if self.fill()? == 0 {
                        return Err("closed in a chunk".into());
                    }
                }
                body.extend_from_slice(&self.buf[line_end + 2..line_end + 2 + size]);
                self.buf.drain(..line_end + 2 + size + 2);
                if size == 0 {
                    break body;
                }
            }
        } else {
            while self.fill()? > 0 {}
            self.stream = None;
            std::mem::take(&mut self.buf)
        };
        if close {
            self.stream = None;
            self.buf.clear();
        }
        Ok((status, body))
    }
}

fn http_json(c: &mut Client, op: &str, input: &Value) -> Result<Value, String> {
    let (status, body) = c.call(op, input.to_string().as_bytes())?;
    let v: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
    if status != 200 {
        return Err(format!(
            "{op}: HTTP {status}: {}",
            String::from_utf8_lossy(&body)
        ));
    }
    Ok(v)
}

fn bench_http(a: &Args, name: &str, url: &str, rows: &mut Vec<Row>) -> Result<(), String> {
    let mut c = Client::new(url, &a.key)?;
    let created = http_json(&mut c, "CreateKey", &json!({"Description": "kms_bench"}))?;
    let key = created["KeyMetadata"]["KeyId"]
        .as_str()
        .ok_or("CreateKey: no KeyId")?
        .to_string();
    let enc = http_json(&mut c, "Encrypt", &inputs(&key, "")[0])?;
    let blob = enc["CiphertextBlob"]
        .as_str()
        .ok_or("Encrypt: no CiphertextBlob")?
        .to_string();
    let dec = http_json(&mut c, "Decrypt", &inputs(&key, &blob)[1])?;
    if dec["Plaintext"].as_str() != Some(b64(&[7u8; PLAINTEXT_BYTES]).as_str()) {
        return Err(format!("{name}: Decrypt did not return the plaintext"));
    }
    for (op, input) in OPS.iter().zip(inputs(&key, &blob)) {
        let body = input.to_string().into_bytes();
        for &n in &a.clients {
            let (url, key) = (url.to_string(), a.key.clone());
            let body = body.clone();
            let row = measure(
                name,
                op,
                n,
                a.seconds,
                || Client::new(&url, &key).expect("client"),
                move |c: &mut Client| {
                    let (status, resp) = c.call(op, &body)?;
                    if status != 200 {
                        return Err(format!(
                            "{op}: HTTP {status}: {}",
                            String::from_utf8_lossy(&resp)
                        ));
                    }
                    Ok(())
                },
            )?;
            eprintln!(
                "  {name} {op:<16} {n:>2} clients: {:>9.0} ops/s",
                row.rate()
            );
            rows.push(row);
        }
    }
    Ok(())
}

fn main() {
    let a = match parse_args() {
        Ok(a) => a,
        Err(e) => {
            eprintln!("error: {e}");
            std::process::exit(2);
        }
    };
    if let Err(e) = run(&a) {
        eprintln!("error: {e}");
        std::process::exit(1);
    }
}

fn run(a: &Args) -> Result<(), String> {
    let mut rows = Vec::new();
    let mut targets: Vec<String> = Vec::new();
    if a.inproc {
        eprintln!("in-process (Kms::call):");
        bench_inproc(a, &mut rows)?;
        targets.push("in-process".into());
    }
    let mut _server = None;
    let mut endpoints = a.endpoints.clone();
    if a.in_server {
        let dir = tempfile::tempdir().map_err(|e| e.to_string())?;
        let keys = dir.path().join("keys.json");
        std::fs::write(
            &keys,
            json!({&a.key.0: {"secret": &a.key.1, "principal": "arn:aws:iam::111122223333:root"}})
                .to_string(),
        )
        .map_err(|e| e.to_string())?;
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(&keys, std::fs::Permissions::from_mode(0o600))
                .map_err(|e| e.to_string())?;
        }
        let mut o = deadbolt::kms::server::ServeOptions::new(
            dir.path().join("keystore"),
            RootKey::generate().map_err(|e| e.to_string())?,
        );
        o.addr = "127.0.0.1:0".into();
        o.access_keys = Some(keys);
        let s = deadbolt::kms::server::start(o)?;
        endpoints.insert(0, ("deadbolt (in-process server)".into(), s.url()));
        _server = Some((s, dir));
    }
    for (name, url) in &endpoints {
        eprintln!("{name} at {url}:");
        bench_http(a, name, url, &mut rows)?;
        targets.push(name.clone());
    }

    // The table: one row per (operation, clients), one column per target.
    let mut out = String::new();
    out.push_str(&format!(
        "| operation | clients | {} |\n|---|---:|{}\n",
        targets
            .iter()
            .map(|t| format!("{t} ops/s (p50 / p99 ms)"))
            .collect::<Vec<_>>()
            .join(" | "),
        "---:|".repeat(targets.len())
    ));
    for op in OPS {
        for &n in &a.clients {
            let cells: Vec<String> = targets
                .iter()
                .map(|t| {
                    rows.iter()
                        .find(|r| &r.target == t && r.op == op && r.clients == n)
                        .map_or("-".into(), |r| {
                            format!("{:.0} ({:.2} / {:.2})", r.rate(), r.p50_ms, r.p99_ms)
                        })
                })
                .collect();
            out.push_str(&format!("| {op} | {n} | {} |\n", cells.join(" | ")));
        }
    }
    println!("{out}");
    if let Some(p) = &a.json {
        let v: Vec<Value> = rows
            .iter()
            .map(|r| {
                json!({"target": r.target, "operation": r.op, "clients": r.clients, "ops": r.ops,
                       "seconds": r.secs, "ops_per_sec": r.rate(), "p50_ms": r.p50_ms, "p99_ms": r.p99_ms})
            })
            .collect();
        std::fs::write(p, serde_json::to_string_pretty(&v).unwrap_or_default())
            .map_err(|e| format!("{p}: {e}"))?;
    }
    Ok(())
}
