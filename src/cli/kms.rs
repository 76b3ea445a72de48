//! `deadbolt kms`: the built-in KMS from the command line. Every verb goes
//! through `Kms::call` (or the typed API over the same code), acting as the
//! root of the keystore's account, so the command line, the endpoint and the
//! policy engine share one set of semantics. Errors print
//! `error: NotFoundException: ...` and exit 2.

use std::io::{Read, Write};
use std::path::{Path, PathBuf};

use base64::Engine;
use clap::{Args, Subcommand};
use serde_json::{json, Value};

use deadbolt::kms::envelope;
use deadbolt::kms::{Caller, Kms, KmsError, RootKey, StoreOptions};

use super::EXIT_ERROR;

const B64: base64::engine::GeneralPurpose = base64::engine::general_purpose::STANDARD;

/// Environment variable naming the default keystore directory.
pub const KEYSTORE_ENV: &str = "DEADBOLT_KMS_KEYSTORE";
/// The keystore used when neither `--keystore` nor `DEADBOLT_KMS_KEYSTORE` is given.
pub const DEFAULT_KEYSTORE: &str = ".deadbolt/keystore";

#[derive(Args)]
#[command(
    after_help = "Keys have AWS KMS semantics: key policies, grants, aliases, rotation and scheduled \
deletion; the keystore directory is crash-safe and its key material is encrypted under a root key.\n\n\
The root key is 64 hex digits: --root-key-file FILE (mode 0600), else $DEADBOLT_KMS_ROOT_KEY, else the \
file named by $DEADBOLT_KMS_ROOT_KEY_FILE. `deadbolt kms new-root-key FILE` makes one.\n\n\
Errors print `error: <AWS error name>: <message>` and exit 2.\n\n\
Examples:\n  deadbolt kms new-root-key ~/.deadbolt-root.key\n  \
export DEADBOLT_KMS_ROOT_KEY_FILE=~/.deadbolt-root.key\n  \
deadbolt kms create-key --description 'app data' --alias alias/app --rotation\n  \
echo -n secret | deadbolt kms encrypt --key alias/app --context app=web > secret.b64\n  \
deadbolt kms decrypt --context app=web --in secret.b64\n  \
deadbolt kms encrypt-file --key alias/app --context app=web data.csv data.csv.enc\n  \
deadbolt kms call ListAliases '{\"Limit\": 10}'\n  \
deadbolt kms serve --allow-unsigned"
)]
pub struct KmsArgs {
    /// The keystore directory (default: $DEADBOLT_KMS_KEYSTORE, else .deadbolt/keystore).
    #[arg(long, global = true, value_name = "PATH")]
    pub keystore: Option<PathBuf>,
    /// File holding the root key: 64 hex digits, readable by its owner only.
    #[arg(long, global = true, value_name = "FILE")]
    pub root_key_file: Option<PathBuf>,
    #[command(subcommand)]
    pub verb: KmsVerb,
}

/// A key named by its id, key ARN, alias name or alias ARN, positionally or with --key.
#[derive(Args, Clone)]
pub struct KeyRef {
    /// Key id, key ARN, alias name (alias/...) or alias ARN.
    #[arg(value_name = "KEY", required_unless_present = "key_flag")]
    key: Option<String>,
    /// The same, as an option.
    #[arg(long = "key", short = 'k', value_name = "KEY", conflicts_with = "key")]
    key_flag: Option<String>,
}

impl KeyRef {
    fn get(&self) -> &str {
        self.key
            .as_deref()
            .or(self.key_flag.as_deref())
            .unwrap_or_default()
    }
}

#[derive(Args, Clone, Default)]
pub struct ContextArgs {
    /// Encryption context pair KEY=VALUE (repeatable).
    #[arg(long = "context", short = 'c', value_name = "KEY=VALUE")]
    context: Vec<String>,
}

#[derive(Subcommand)]
pub enum KmsVerb {
    /// Create the keystore (optionally for another region and account).
    Init {
        #[arg(long, default_value = "us-east-1")]
        region: String,
        #[arg(long, default_value = "111122223333")]
        account: String,
    },
    /// Write a new random root key to FILE (mode 0600; never overwrites).
    NewRootKey {
        #[arg(value_name = "FILE")]
        file: PathBuf,
    },
    /// Create a symmetric encryption key; prints its key id and ARN.
    CreateKey {
        #[arg(long, default_value = "")]
        description: String,
        /// Also create this alias (alias/NAME) for the key.
        #[arg(long, value_name = "ALIAS")]
        alias: Option<String>,
        /// Enable automatic rotation.
        #[arg(long)]
        rotation: bool,
        /// Rotation period with --rotation (90–2560 days; default 365).
        #[arg(long, value_name = "DAYS", requires = "rotation")]
        rotation_period_days: Option<u32>,
        /// Key policy document (JSON file); default: the account may do everything.
        #[arg(long, value_name = "FILE")]
        policy: Option<PathBuf>,
        /// Tag KEY=VALUE (repeatable).
        #[arg(long = "tag", value_name = "KEY=VALUE")]
        tags: Vec<String>,
    },
    /// Create keys one after another, printing each key id once it is durable.
    #[command(hide = true)]
    CreateKeys {
        #[arg(long, default_value_t = 10)]
        count: usize,
    },
    /// Show a key (DescribeKey).
    DescribeKey {
        #[command(flatten)]
        key: KeyRef,
    },
    /// List the keys: id, state, aliases, description.
    ListKeys {
        /// Print the ListKeys response instead.
        #[arg(long)]
        json: bool,
    },
    /// Create an alias for a key.
    CreateAlias {
        /// The alias name: alias/NAME.
        #[arg(value_name = "ALIAS")]
        alias: String,
        #[command(flatten)]
        key: KeyRef,
    },
    /// Point an existing alias at another key.
    UpdateAlias {
        /// The alias name: alias/NAME.
        #[arg(value_name = "ALIAS")]
        alias: String,
        #[command(flatten)]
        key: KeyRef,
    },
    /// Delete an alias.
    DeleteAlias {
        /// The alias name: alias/NAME.
        #[arg(value_name = "ALIAS")]
        alias: String,
    },
    /// List aliases (of one key with --key).
    ListAliases {
        #[arg(long, short = 'k', value_name = "KEY")]
        key: Option<String>,
    },
    /// Enable a key.
    EnableKey {
        #[command(flatten)]
        key: KeyRef,
    },
    /// Disable a key (cryptographic operations then fail with DisabledException).
    DisableKey {
        #[command(flatten)]
        key: KeyRef,
    },
    /// Schedule a key's deletion after a waiting period (7–30 days).
    ScheduleDeletion {
        #[command(flatten)]
        key: KeyRef,
        #[arg(long, value_name = "DAYS", default_value_t = 30)]
        days: i64,
    },
    /// Cancel a scheduled deletion (the key stays Disabled).
    CancelDeletion {
        #[command(flatten)]
        key: KeyRef,
    },
    /// Enable automatic rotation.
    EnableRotation {
        #[command(flatten)]
        key: KeyRef,
        /// 90–2560 days (default 365).
        #[arg(long, value_name = "DAYS")]
        period_days: Option<i64>,
    },
    /// Disable automatic rotation.
    DisableRotation {
        #[command(flatten)]
        key: KeyRef,
    },
    /// Rotate a key now (RotateKeyOnDemand); old ciphertexts still decrypt.
    Rotate {
        #[command(flatten)]
        key: KeyRef,
    },
    /// Show a key's rotation status.
    RotationStatus {
        #[command(flatten)]
        key: KeyRef,
    },
    /// Encrypt up to 4096 bytes (stdin or --in); prints the ciphertext blob in base64.
    Encrypt {
        #[arg(long, short = 'k', value_name = "KEY")]
        key: String,
        #[command(flatten)]
        context: ContextArgs,
        /// Read the plaintext from FILE instead of stdin.
        #[arg(long = "in", value_name = "FILE")]
        input: Option<PathBuf>,
    },
    /// Decrypt a base64 ciphertext blob (stdin or --in); writes the plaintext.
    Decrypt {
        /// The key the ciphertext must have been made under.
        #[arg(long, short = 'k', value_name = "KEY")]
        key: Option<String>,
        #[command(flatten)]
        context: ContextArgs,
        #[arg(long = "in", value_name = "FILE")]
        input: Option<PathBuf>,
        /// Write the plaintext to FILE (atomically) instead of stdout.
        #[arg(long = "out", value_name = "FILE")]
        output: Option<PathBuf>,
    },
    /// Generate a data key; prints the GenerateDataKey response (plaintext and blob, base64).
    GenerateDataKey {
        #[arg(long, short = 'k', value_name = "KEY")]
        key: String,
        #[command(flatten)]
        context: ContextArgs,
        /// Length in bytes (1–1024); default: AES_256 (32 bytes).
        #[arg(long, value_name = "N")]
        bytes: Option<i64>,
        /// Print only the encrypted key (GenerateDataKeyWithoutPlaintext).
        #[arg(long)]
        without_plaintext: bool,
    },
    /// Replace a key's policy with the JSON document in FILE.
    PutKeyPolicy {
        #[arg(long, short = 'k', value_name = "KEY")]
        key: String,
        #[arg(value_name = "FILE")]
        file: PathBuf,
        /// Accept a policy that would stop you from changing it later.
        #[arg(long)]
        bypass_policy_lockout_safety_check: bool,
    },
    /// Print a key's policy.
    GetKeyPolicy {
        #[command(flatten)]
        key: KeyRef,
    },
    /// Give a principal the use of a key (CreateGrant); prints the grant id and token.
    CreateGrant {
        #[arg(long, short = 'k', value_name = "KEY")]
        key: String,
        #[arg(long, value_name = "PRINCIPAL")]
        grantee: String,
        /// Operations, comma-separated (Encrypt,Decrypt,GenerateDataKey,...).
        #[arg(long, value_name = "OPS", value_delimiter = ',', required = true)]
        operations: Vec<String>,
        #[arg(long, value_name = "PRINCIPAL")]
        retiring: Option<String>,
        /// Constraint: the request's context must include these pairs (repeatable).
        #[arg(long = "context-subset", value_name = "KEY=VALUE")]
        subset: Vec<String>,
        /// Constraint: the request's context must be exactly these pairs (repeatable).
        #[arg(
            long = "context-equals",
            value_name = "KEY=VALUE",
            conflicts_with = "subset"
        )]
        equals: Vec<String>,
    },
    /// List a key's grants.
    ListGrants {
        #[command(flatten)]
        key: KeyRef,
    },
    /// Revoke a grant.
    RevokeGrant {
        #[arg(long, short = 'k', value_name = "KEY")]
        key: String,
        #[arg(value_name = "GRANT_ID")]
        grant_id: String,
    },
    /// Envelope-encrypt a file of any size under a key (atomic output).
    EncryptFile {
        #[arg(long, short = 'k', value_name = "KEY")]
        key: String,
        #[command(flatten)]
        context: ContextArgs,
        #[arg(value_name = "IN")]
        input: PathBuf,
        #[arg(value_name = "OUT")]
        output: PathBuf,
    },
    /// Decrypt an envelope-encrypted file (atomic output). With --context, the
    /// file's encryption context must be exactly that.
    DecryptFile {
        #[command(flatten)]
        context: ContextArgs,
        #[arg(value_name = "IN")]
        input: PathBuf,
        #[arg(value_name = "OUT")]
        output: PathBuf,
    },
    /// Run any KMS operation: OPERATION and its JSON input (argument or stdin).
    Call {
        /// E.g. ListKeys, TagResource, ReEncrypt.
        #[arg(value_name = "OPERATION")]
        operation: String,
        /// The request JSON (default: read from stdin; `{}` when stdin is a terminal).
        #[arg(value_name = "JSON")]
        input: Option<String>,
    },
    /// Serve the AWS KMS JSON API (for the AWS CLI and SDKs via endpoint_url).
    Serve {
        /// HOST:PORT to listen on.
        #[arg(long, default_value = "127.0.0.1:4599")]
        addr: String,
        /// Access keys file: a JSON object mapping each access key id to
        /// {"secret": "...", "principal": "arn:aws:iam::ACCOUNT:user/NAME"}.
        #[arg(long, value_name = "FILE")]
        access_keys: Option<PathBuf>,
        /// Largest request body accepted, in bytes (413 beyond).
        #[arg(long, value_name = "BYTES", default_value_t = 1 << 20)]
        max_body: usize,
        /// Requests without a signature act as the account root.
        #[arg(long)]
        allow_unsigned: bool,
        /// Allow a non-loopback --addr.
        #[arg(long)]
        allow_remote: bool,
        /// Worker threads (default: 4 per core, 4–64).
        #[arg(long, value_name = "N")]
        threads: Option<usize>,
        /// Write the bound address to FILE once listening.
        #[arg(long, value_name = "FILE")]
        port_file: Option<PathBuf>,
        /// Log one line per request to stderr.
        #[arg(long)]
        log_requests: bool,
    },
}

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
        Err(Failure::Kms(e)) => {
            eprintln!("error: {}: {}", e.kind, e.message);
            EXIT_ERROR
        }
        Err(Failure::Plain(m)) => {
            eprintln!("error: {m}");
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

fn open_kms(a: &KmsArgs, path: &Path) -> Result<(Kms, Caller), Failure> {
    let root = RootKey::from_env_or_file(a.root_key_file.as_deref())?;
    let kms = Kms::open(path, root)?;
    let caller = Caller::local_admin(&kms.account()?);
    Ok((kms, caller))
}

fn run(a: KmsArgs) -> Res {
    let path = keystore_path(&a.keystore);
    match &a.verb {
        KmsVerb::NewRootKey { file } => return new_root_key(file),
        KmsVerb::Init { region, account } => {
            let root = RootKey::from_env_or_file(a.root_key_file.as_deref())?;
            let opts = StoreOptions {
                region: region.clone(),
                account: account.clone(),
            };
            Kms::create(&path, root, &opts)?;
            println!(
                "keystore {} (region {region}, account {account})",
                path.display()
            );
            return Ok(());
        }
        KmsVerb::Serve { .. } => return serve(&a, &path),
        _ => {}
    }
    let (kms, me) = open_kms(&a, &path)?;
    let call = |op: &str, input: Value| kms.call(op, &me, input);
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
                let mut keys = Vec::new();
                let mut marker: Option<String> = None;
                loop {
                    let mut input = json!({"Limit": 1000});
                    if let Some(m) = &marker {
                        input["Marker"] = json!(m);
                    }
                    let out = call("ListKeys", input)?;
                    keys.extend(out["Keys"].as_array().cloned().unwrap_or_default());
                    match out["NextMarker"].as_str() {
                        Some(m) => marker = Some(m.to_string()),
                        None => break,
                    }
                }
                print_json(&json!({"Keys": keys, "Truncated": false}));
            } else {
                for k in kms.list_keys()? {
                    let aliases = if k.aliases.is_empty() {
                        "-".to_string()
                    } else {
                        k.aliases.join(",")
                    };
                    println!(
                        "{}  {:<15}  {}  {}",
                        k.key_id,
                        k.state.as_str(),
                        aliases,
                        k.description
                    );
                }
            }
        }
        KmsVerb::CreateAlias { alias, key } => {
            call(
                "CreateAlias",
                json!({"AliasName": alias, "TargetKeyId": target_id(&kms, key.get())?}),
            )?;
        }
        KmsVerb::UpdateAlias { alias, key } => {
            call(
                "UpdateAlias",
                json!({"AliasName": alias, "TargetKeyId": target_id(&kms, key.get())?}),
            )?;
        }
        KmsVerb::DeleteAlias { alias } => {
            call("DeleteAlias", json!({ "AliasName": alias }))?;
        }
        KmsVerb::ListAliases { key } => {
            let mut input = json!({"Limit": 100});
            if let Some(k) = key {
                input["KeyId"] = json!(target_id(&kms, &k)?);
            }
            let mut all = Vec::new();
            loop {
                let out = call("ListAliases", input.clone())?;
                all.extend(out["Aliases"].as_array().cloned().unwrap_or_default());
                match out["NextMarker"].as_str() {
                    Some(m) => input["Marker"] = json!(m),
                    None => break,
                }
            }
            for al in all {
                println!(
                    "{}  {}",
                    al["AliasName"].as_str().unwrap_or_default(),
                    al["TargetKeyId"].as_str().unwrap_or_default()
                );
            }
        }
        KmsVerb::EnableKey { key } => {
            call("EnableKey", json!({"KeyId": target_id(&kms, key.get())?}))?;
        }
        KmsVerb::DisableKey { key } => {
            call("DisableKey", json!({"KeyId": target_id(&kms, key.get())?}))?;
        }
        KmsVerb::ScheduleDeletion { key, days } => {
            let out = call(
                "ScheduleKeyDeletion",
                json!({"KeyId": target_id(&kms, key.get())?, "PendingWindowInDays": days}),
            )?;
            print_json(&out);
        }
        KmsVerb::CancelDeletion { key } => {
            call(
                "CancelKeyDeletion",
                json!({"KeyId": target_id(&kms, key.get())?}),
            )?;
        }
        KmsVerb::EnableRotation { key, period_days } => {
            let mut input = json!({"KeyId": target_id(&kms, key.get())?});
            if let Some(d) = period_days {
                input["RotationPeriodInDays"] = json!(d);
            }
            call("EnableKeyRotation", input)?;
        }
        KmsVerb::DisableRotation { key } => {
            call(
                "DisableKeyRotation",
                json!({"KeyId": target_id(&kms, key.get())?}),
            )?;
        }
        KmsVerb::Rotate { key } => {
            call(
                "RotateKeyOnDemand",
                json!({"KeyId": target_id(&kms, key.get())?}),
            )?;
        }
        KmsVerb::RotationStatus { key } => {
            print_json(&call(
                "GetKeyRotationStatus",
                json!({"KeyId": target_id(&kms, key.get())?}),
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
                json!({"KeyId": key, "Plaintext": B64.encode(plain.as_slice()), "EncryptionContext": context(&c)?}),
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
            if let Some(k) = key {
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
            let mut input = json!({"KeyId": key, "EncryptionContext": context(&c)?});
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
            file,
            bypass_policy_lockout_safety_check,
        } => {
            let doc = std::fs::read_to_string(&file)
                .map_err(|e| format!("cannot read {}: {e}", file.display()))?;
            call(
                "PutKeyPolicy",
                json!({
                    "KeyId": target_id(&kms, &key)?,
                    "Policy": doc,
                    "BypassPolicyLockoutSafetyCheck": bypass_policy_lockout_safety_check,
                }),
            )?;
        }
        KmsVerb::GetKeyPolicy { key } => {
            let out = call(
                "GetKeyPolicy",
                json!({"KeyId": target_id(&kms, key.get())?}),
            )?;
            println!("{}", out["Policy"].as_str().unwrap_or_default());
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
                "KeyId": target_id(&kms, &key)?,
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
            let id = target_id(&kms, key.get())?;
            let mut input = json!({"KeyId": id, "Limit": 100});
            let mut all = Vec::new();
            loop {
                let out = call("ListGrants", input.clone())?;
                all.extend(out["Grants"].as_array().cloned().unwrap_or_default());
                match out["NextMarker"].as_str() {
                    Some(m) => input["Marker"] = json!(m),
                    None => break,
                }
            }
            print_json(&json!({ "Grants": all }));
        }
        KmsVerb::RevokeGrant { key, grant_id } => {
            call(
                "RevokeGrant",
                json!({"KeyId": target_id(&kms, &key)?, "GrantId": grant_id}),
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
                Ok(envelope::encrypt_stream(&kms, &me, &key, &ctx, reader, w)?)
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

/// Management operations take a key id or key ARN; the CLI also accepts
/// aliases for them by resolving the alias first.
fn target_id(kms: &Kms, key: &str) -> Result<String, Failure> {
    if key.starts_with("alias/") || key.contains(":alias/") {
        return Ok(kms.describe(key)?.key_id);
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
        allow_remote,
        threads,
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
    o.allow_remote = *allow_remote;
    o.threads = threads.unwrap_or(0);
    o.port_file = port_file.clone();
    o.log_requests = *log_requests;
    deadbolt::kms::server::serve(o).map_err(Failure::Plain)
}
