//! `deadbolt kms`: the built-in KMS from the command line. Every verb goes
//! through `Kms::call` (or the typed API over the same code), acting as the
//! root of the keystore's account in `--region` (default: the keystore's home
//! region), so the command line, the endpoint and the policy engine share one
//! set of semantics. Errors print `error: NotFoundException: ...` and exit 2.
//!
//! One convention for keys: every verb that acts on a key takes it as its
//! positional `KEY` or as `--key KEY` (`-k`) — a key id, key ARN, alias name
//! or alias ARN; every other input is a named option.

use std::io::{Read, Write};
use std::path::{Path, PathBuf};

use base64::Engine;
use serde_json::{json, Value};

use deadbolt::kms::envelope;
use deadbolt::kms::regions::{Regions, PUBLIC_REGIONS};
use deadbolt::kms::text::escape_control;
use deadbolt::kms::{Caller, Kms, KmsError, RootKey, StoreOptions};

mod args;

pub use args::{ContextArgs, KmsArgs, KmsVerb};

use super::EXIT_ERROR;

const B64: base64::engine::GeneralPurpose = base64::engine::general_purpose::STANDARD;

/// Environment variable naming the default keystore directory.
pub const KEYSTORE_ENV: &str = "DEADBOLT_KMS_KEYSTORE";
/// The keystore used when neither `--keystore` nor `DEADBOLT_KMS_KEYSTORE` is given.
pub const DEFAULT_KEYSTORE: &str = ".deadbolt/keystore";

fn keystore_path(a: &Option<PathBuf>) -> PathBuf {
    if let Some(p) = a {
        return p.clone();
    }
    match std::env::var_os(KEYSTORE_ENV) {
        Some(p) if !p.is_empty() => PathBuf::from(p),
        _ => PathBuf::from(DEFAULT_KEYSTORE),
    }
}

/// What a verb failed with: an AWS-shaped error, or a plain one (usage, files).
enum Failure {
    Kms(KmsError),
    Plain(String),
}

impl From<KmsError> for Failure {
    fn from(e: KmsError) -> Self {
        Failure::Kms(e)
    }
}

impl From<String> for Failure {
    fn from(e: String) -> Self {
        Failure::Plain(e)
    }
}

type Res = Result<(), Failure>;

pub fn run_kms(a: KmsArgs) -> u8 {
    match run(a) {
        Ok(()) => 0,
        // The keystore's owner sees the detail (paths, OS errors) that a
        // client of the endpoint never does.
        Err(Failure::Kms(e)) => {
            eprintln!("error: {}: {}", e.kind, escape_control(e.owner_message()));
            EXIT_ERROR
        }
        Err(Failure::Plain(m)) => {
            eprintln!("error: {}", escape_control(&m));
            EXIT_ERROR
        }
    }
}

fn context(c: &ContextArgs) -> Result<Value, Failure> {
    let ctx = deadbolt::kms::parse_context_pairs(&c.context)?;
    Ok(json!(ctx))
}

fn print_json(v: &Value) {
    println!(
        "{}",
        serde_json::to_string_pretty(v).unwrap_or_else(|_| v.to_string())
    );
}

fn read_input(path: Option<&Path>) -> Result<Vec<u8>, Failure> {
    let mut buf = Vec::new();
    match path {
        Some(p) => {
            buf = std::fs::read(p).map_err(|e| format!("cannot read {}: {e}", p.display()))?;
        }
        None => {
            std::io::stdin()
                .read_to_end(&mut buf)
                .map_err(|e| format!("cannot read standard input: {e}"))?;
        }
    }
    Ok(buf)
}

/// Writes `out` through a temporary file in its directory (mode 0600),
/// renamed over `out` only once `fill` succeeded.
fn write_atomic_with<T>(
    out: &Path,
    fill: impl FnOnce(&mut std::fs::File) -> Result<T, Failure>,
) -> Result<T, Failure> {
    let dir = match out.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    };
    let mut tmp = tempfile::Builder::new()
        .prefix(".deadbolt-")
        .tempfile_in(dir)
        .map_err(|e| format!("cannot create a file in {}: {e}", dir.display()))?;
    let v = fill(tmp.as_file_mut())?;
    tmp.as_file()
        .sync_all()
        .map_err(|e| format!("cannot write {}: {e}", out.display()))?;
    tmp.persist(out)
        .map_err(|e| format!("cannot write {}: {}", out.display(), e.error))?;
    Ok(v)
}

/// The keystore and who the command line acts as: the account root, in
/// `--region` (checked against the public regions and the home region).
fn open_kms(a: &KmsArgs, path: &Path) -> Result<(Kms, Caller), Failure> {
    let root = RootKey::from_env_or_file(a.root_key_file.as_deref())?;
    let kms = Kms::open(path, root)?;
    let home = kms.region()?;
    let region = a.region.clone().unwrap_or_else(|| home.clone());
    if !Regions::Public.allows(&region, &home) {
        return Err(Failure::Plain(format!(
            "--region {region:?} is not a public AWS region nor the keystore's home region {home} \
             (public regions: {})",
            PUBLIC_REGIONS.join(", ")
        )));
    }
    let caller = Caller::local_admin(&kms.account()?).in_region(region);
    Ok((kms, caller))
}

fn run(a: KmsArgs) -> Res {
    let path = keystore_path(&a.keystore);
    match &a.verb {
        KmsVerb::NewRootKey { file } => return new_root_key(file),
        KmsVerb::Init { account } => {
            let home_region = a.region.clone().unwrap_or_else(|| "us-east-1".into());
            let root = RootKey::from_env_or_file(a.root_key_file.as_deref())?;
            let opts = StoreOptions {
                region: home_region.clone(),
                account: account.clone(),
            };
            Kms::create(&path, root, &opts)?;
            println!(
                "keystore {} (home region {home_region}, account {account})",
                path.display()
            );
            return Ok(());
        }
        KmsVerb::Serve { .. } => return serve(&a, &path),
        _ => {}
    }
    let (kms, me) = open_kms(&a, &path)?;
    let call = |op: &str, input: Value| kms.call(op, &me, input);
    // Management operations take a key id or ARN; aliases are resolved first.
    let target = |key: &str| target_id(&kms, &me, key);
    match a.verb {
        KmsVerb::NewRootKey { .. } | KmsVerb::Init { .. } | KmsVerb::Serve { .. } => {
            unreachable!("handled above")
        }
        KmsVerb::CreateKey {
            description,
            alias,
            rotation,
            rotation_period_days,
            policy,
            tags,
        } => {
            let mut input = json!({ "Description": description });
            if let Some(p) = policy {
                let doc = std::fs::read_to_string(&p)
                    .map_err(|e| format!("cannot read {}: {e}", p.display()))?;
                input["Policy"] = json!(doc);
            }
            if !tags.is_empty() {
                let pairs = deadbolt::kms::parse_context_pairs(&tags)
                    .map_err(|e| e.replace("--context", "--tag"))?;
                input["Tags"] = pairs
                    .iter()
                    .map(|(k, v)| json!({"TagKey": k, "TagValue": v}))
                    .collect();
            }
            let out = call("CreateKey", input)?;
            let id = out["KeyMetadata"]["KeyId"]
                .as_str()
                .unwrap_or_default()
                .to_string();
            let arn = out["KeyMetadata"]["Arn"]
                .as_str()
                .unwrap_or_default()
                .to_string();
            if rotation {
                let mut r = json!({ "KeyId": id });
                if let Some(d) = rotation_period_days {
                    r["RotationPeriodInDays"] = json!(d);
                }
                call("EnableKeyRotation", r)?;
            }
            if let Some(al) = alias {
                call("CreateAlias", json!({"AliasName": al, "TargetKeyId": id}))?;
            }
            println!("{id} {arn}");
        }
        KmsVerb::CreateKeys { count } => {
            let stdout = std::io::stdout();
            for _ in 0..count {
                let out = call("CreateKey", json!({"Description": "create-keys"}))?;
                let mut lock = stdout.lock();
                let _ = writeln!(
                    lock,
                    "{}",
                    out["KeyMetadata"]["KeyId"].as_str().unwrap_or_default()
                );
                let _ = lock.flush();
            }
        }
        KmsVerb::DescribeKey { key } => {
            print_json(&call("DescribeKey", json!({"KeyId": key.get()}))?);
        }
        KmsVerb::ListKeys { json: as_json } => {
            if as_json {
                let keys = paged(&call, "ListKeys", json!({"Limit": 1000}), "Keys")?;
                print_json(&json!({"Keys": keys, "Truncated": false}));
            } else {
                list_keys(&kms)?;
            }
        }
        KmsVerb::CreateAlias { key, alias } => {
            call(
                "CreateAlias",
                json!({"AliasName": alias, "TargetKeyId": target(key.get())?}),
            )?;
        }
        KmsVerb::UpdateAlias { key, alias } => {
            call(
                "UpdateAlias",
                json!({"AliasName": alias, "TargetKeyId": target(key.get())?}),
            )?;
        }
        KmsVerb::DeleteAlias { alias } => {
            call("DeleteAlias", json!({ "AliasName": alias }))?;
        }
        KmsVerb::ListAliases { key } => {
            let mut input = json!({"Limit": 100});
            if let Some(k) = key.get() {
                input["KeyId"] = json!(target(k)?);
            }
            for al in paged(&call, "ListAliases", input, "Aliases")? {
                println!(
                    "{}  {}",
                    escape_control(al["AliasName"].as_str().unwrap_or_default()),
                    escape_control(al["TargetKeyId"].as_str().unwrap_or_default())
                );
            }
        }
        KmsVerb::EnableKey { key } => {
            call("EnableKey", json!({"KeyId": target(key.get())?}))?;
        }
        KmsVerb::DisableKey { key } => {
            call("DisableKey", json!({"KeyId": target(key.get())?}))?;
        }
        KmsVerb::ScheduleDeletion { key, days } => {
            let out = call(
                "ScheduleKeyDeletion",
                json!({"KeyId": target(key.get())?, "PendingWindowInDays": days}),
            )?;
            print_json(&out);
        }
        KmsVerb::CancelDeletion { key } => {
            call("CancelKeyDeletion", json!({"KeyId": target(key.get())?}))?;
        }
        KmsVerb::EnableRotation { key, period_days } => {
            let mut input = json!({"KeyId": target(key.get())?});
            if let Some(d) = period_days {
                input["RotationPeriodInDays"] = json!(d);
            }
            call("EnableKeyRotation", input)?;
        }
        KmsVerb::DisableRotation { key } => {
            call("DisableKeyRotation", json!({"KeyId": target(key.get())?}))?;
        }
        KmsVerb::Rotate { key } => {
            call("RotateKeyOnDemand", json!({"KeyId": target(key.get())?}))?;
        }
        KmsVerb::RotationStatus { key } => {
            print_json(&call(
                "GetKeyRotationStatus",
                json!({"KeyId": target(key.get())?}),
            )?);
        }
        KmsVerb::Encrypt {
            key,
            context: c,
            input,
        } => {
            let plain = zeroize::Zeroizing::new(read_input(input.as_deref())?);
            let out = call(
                "Encrypt",
                json!({"KeyId": key.get(), "Plaintext": B64.encode(plain.as_slice()), "EncryptionContext": context(&c)?}),
            )?;
            println!("{}", out["CiphertextBlob"].as_str().unwrap_or_default());
        }
        KmsVerb::Decrypt {
            key,
            context: c,
            input,
            output,
        } => {
            let text = read_input(input.as_deref())?;
            let text = String::from_utf8(text)
                .map_err(|_| "the ciphertext must be base64 text".to_string())?;
            let compact: String = text.split_whitespace().collect();
            let mut req = json!({"CiphertextBlob": compact, "EncryptionContext": context(&c)?});
            if let Some(k) = key.get() {
                req["KeyId"] = json!(k);
            }
            let out = call("Decrypt", req)?;
            let plain = zeroize::Zeroizing::new(
                B64.decode(out["Plaintext"].as_str().unwrap_or_default())
                    .map_err(|e| format!("bad plaintext from Decrypt: {e}"))?,
            );
            match output {
                Some(p) => write_atomic_with(&p, |f| {
                    f.write_all(&plain)
                        .map_err(|e| Failure::Plain(format!("cannot write {}: {e}", p.display())))
                })?,
                None => {
                    let mut so = std::io::stdout().lock();
                    so.write_all(&plain)
                        .and_then(|_| so.flush())
                        .map_err(|e| format!("cannot write standard output: {e}"))?;
                }
            }
        }
        KmsVerb::GenerateDataKey {
            key,
            context: c,
            bytes,
            without_plaintext,
        } => {
            let mut input = json!({"KeyId": key.get(), "EncryptionContext": context(&c)?});
            match bytes {
                Some(n) => input["NumberOfBytes"] = json!(n),
                None => input["KeySpec"] = json!("AES_256"),
            }
            let op = if without_plaintext {
                "GenerateDataKeyWithoutPlaintext"
            } else {
                "GenerateDataKey"
            };
            print_json(&call(op, input)?);
        }
        KmsVerb::PutKeyPolicy {
            key,
            policy,
            bypass_policy_lockout_safety_check,
        } => {
            let doc = std::fs::read_to_string(&policy)
                .map_err(|e| format!("cannot read {}: {e}", policy.display()))?;
            call(
                "PutKeyPolicy",
                json!({
                    "KeyId": target(key.get())?,
                    "Policy": doc,
                    "BypassPolicyLockoutSafetyCheck": bypass_policy_lockout_safety_check,
                }),
            )?;
        }
        KmsVerb::GetKeyPolicy { key } => {
            let out = call("GetKeyPolicy", json!({"KeyId": target(key.get())?}))?;
            println!(
                "{}",
                escape_control(out["Policy"].as_str().unwrap_or_default())
            );
        }
        KmsVerb::CreateGrant {
            key,
            grantee,
            operations,
            retiring,
            subset,
            equals,
        } => {
            let mut input = json!({
                "KeyId": target(key.get())?,
                "GranteePrincipal": grantee,
                "Operations": operations,
            });
            if let Some(r) = retiring {
                input["RetiringPrincipal"] = json!(r);
            }
            if !subset.is_empty() {
                input["Constraints"] = json!({"EncryptionContextSubset": deadbolt::kms::parse_context_pairs(&subset)?});
            }
            if !equals.is_empty() {
                input["Constraints"] = json!({"EncryptionContextEquals": deadbolt::kms::parse_context_pairs(&equals)?});
            }
            print_json(&call("CreateGrant", input)?);
        }
        KmsVerb::ListGrants { key } => {
            let input = json!({"KeyId": target(key.get())?, "Limit": 100});
            print_json(&json!({ "Grants": paged(&call, "ListGrants", input, "Grants")? }));
        }
        KmsVerb::RevokeGrant { key, grant_id } => {
            call(
                "RevokeGrant",
                json!({"KeyId": target(key.get())?, "GrantId": grant_id}),
            )?;
        }
        KmsVerb::EncryptFile {
            key,
            context: c,
            input,
            output,
        } => {
            let ctx = deadbolt::kms::parse_context_pairs(&c.context)?;
            let inf = std::fs::File::open(&input)
                .map_err(|e| format!("cannot read {}: {e}", input.display()))?;
            let reader = std::io::BufReader::new(inf);
            let kid = write_atomic_with(&output, |f| {
                let w = std::io::BufWriter::new(f);
                Ok(envelope::encrypt_stream(
                    &kms,
                    &me,
                    key.get(),
                    &ctx,
                    reader,
                    w,
                )?)
            })?;
            eprintln!(
                "encrypted {} under {kid} -> {}",
                input.display(),
                output.display()
            );
        }
        KmsVerb::DecryptFile {
            context: c,
            input,
            output,
        } => {
            let expected = if c.context.is_empty() {
                None
            } else {
                Some(deadbolt::kms::parse_context_pairs(&c.context)?)
            };
            let inf = std::fs::File::open(&input)
                .map_err(|e| format!("cannot read {}: {e}", input.display()))?;
            let reader = std::io::BufReader::new(inf);
            let (kid, _) = write_atomic_with(&output, |f| {
                let w = std::io::BufWriter::new(f);
                Ok(envelope::decrypt_stream(
                    &kms,
                    &me,
                    reader,
                    w,
                    expected.as_ref(),
                )?)
            })?;
            eprintln!(
                "decrypted {} (key {kid}) -> {}",
                input.display(),
                output.display()
            );
        }
        KmsVerb::Call { operation, input } => {
            let text = match input {
                Some(t) => t,
                None => {
                    use std::io::IsTerminal;
                    if std::io::stdin().is_terminal() {
                        "{}".to_string()
                    } else {
                        let b = read_input(None)?;
                        String::from_utf8(b)
                            .map_err(|_| "the request JSON is not UTF-8".to_string())?
                    }
                }
            };
            let v: Value = if text.trim().is_empty() {
                json!({})
            } else {
                serde_json::from_str(&text).map_err(|e| format!("the request is not JSON: {e}"))?
            };
            print_json(&call(&operation, v)?);
        }
    }
    Ok(())
}

/// Every page of a listing operation: the items under `field`.
fn paged(
    call: &dyn Fn(&str, Value) -> Result<Value, KmsError>,
    op: &str,
    mut input: Value,
    field: &str,
) -> Result<Vec<Value>, Failure> {
    let mut all = Vec::new();
    loop {
        let out = call(op, input.clone())?;
        all.extend(out[field].as_array().cloned().unwrap_or_default());
        match out["NextMarker"].as_str() {
            Some(m) => input["Marker"] = json!(m),
            None => return Ok(all),
        }
    }
}

/// `list-keys`: one line per key of every region, then one per key whose
/// record is damaged. Descriptions and aliases come from the keystore: every
/// control character in them is escaped.
fn list_keys(kms: &Kms) -> Res {
    for k in kms.list_keys()? {
        let aliases = if k.aliases.is_empty() {
            "-".to_string()
        } else {
            k.aliases.join(",")
        };
        println!(
            "{}  {}  {:<15}  {}  {}",
            k.key_id,
            k.region,
            k.state.as_str(),
            escape_control(&aliases),
            escape_control(&k.description)
        );
    }
    for (id, _) in kms.damaged_keys()? {
        println!(
            "{id}  -  {:<15}  -  (its keystore record is damaged: see the warning above)",
            "Damaged"
        );
    }
    Ok(())
}

/// Management operations take a key id or key ARN; the CLI also accepts
/// aliases for them by resolving the alias first (in the caller's region).
fn target_id(kms: &Kms, me: &Caller, key: &str) -> Result<String, Failure> {
    if key.starts_with("alias/") || key.contains(":alias/") {
        let out = kms.call("DescribeKey", me, json!({ "KeyId": key }))?;
        return Ok(out["KeyMetadata"]["KeyId"]
            .as_str()
            .unwrap_or_default()
            .to_string());
    }
    Ok(key.to_string())
}

fn new_root_key(file: &Path) -> Res {
    let key = RootKey::generate()?;
    let mut oo = std::fs::OpenOptions::new();
    oo.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        oo.mode(0o600);
    }
    let mut f = oo.open(file).map_err(|e| {
        format!(
            "cannot create {}: {e} (an existing file is never overwritten)",
            file.display()
        )
    })?;
    f.write_all(key.to_hex().as_bytes())
        .and_then(|_| f.write_all(b"\n"))
        .and_then(|_| f.sync_all())
        .map_err(|e| format!("cannot write {}: {e}", file.display()))?;
    eprintln!(
        "wrote a new root key to {} (mode 0600). Keep it safe: without it the keystore cannot be opened.",
        file.display()
    );
    Ok(())
}

fn serve(a: &KmsArgs, path: &Path) -> Res {
    let KmsVerb::Serve {
        addr,
        access_keys,
        max_body,
        allow_unsigned,
        regions,
        allow_remote,
        threads,
        max_connections,
        max_connections_per_address,
        head_timeout,
        port_file,
        log_requests,
    } = &a.verb
    else {
        unreachable!("serve")
    };
    let root = RootKey::from_env_or_file(a.root_key_file.as_deref())?;
    let mut o = deadbolt::kms::server::ServeOptions::new(path, root);
    o.addr = addr.clone();
    o.access_keys = access_keys.clone();
    o.max_body = *max_body;
    o.allow_unsigned = *allow_unsigned;
    o.region = a.region.clone();
    if let Some(list) = regions {
        o.regions = Regions::parse_list(list)?;
    }
    o.allow_remote = *allow_remote;
    o.threads = threads.unwrap_or(0);
    o.max_connections = *max_connections;
    o.max_connections_per_address = *max_connections_per_address;
    o.head_timeout = std::time::Duration::from_secs((*head_timeout).max(1));
    o.port_file = port_file.clone();
    o.log_requests = *log_requests;
    deadbolt::kms::server::serve(o).map_err(Failure::Plain)
}
