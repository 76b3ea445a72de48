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
use clap::{Args, Subcommand};
use serde_json::{json, Value};

use deadbolt::kms::envelope;
use deadbolt::kms::regions::{Regions, PUBLIC_REGIONS};
use deadbolt::kms::text::escape_control;
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
deletion, per region; the keystore directory is crash-safe, its records are authenticated and its key \
material is encrypted under a root key.\n\n\
A key is given the same way to every verb: as the positional KEY, or with --key KEY (-k) — a key id, \
key ARN, alias name (alias/NAME) or alias ARN.\n\n\
The root key is 64 hex digits: --root-key-file FILE (mode 0600), else $DEADBOLT_KMS_ROOT_KEY, else the \
file named by $DEADBOLT_KMS_ROOT_KEY_FILE. `deadbolt kms new-root-key FILE` makes one.\n\n\
Errors print `error: <AWS error name>: <message>` and exit 2.\n\n\
Examples:\n  deadbolt kms new-root-key ~/.deadbolt-root.key\n  \
export DEADBOLT_KMS_ROOT_KEY_FILE=~/.deadbolt-root.key\n  \
deadbolt kms create-key --description 'app data' --alias alias/app --rotation\n  \
echo -n secret | deadbolt kms encrypt alias/app --context app=web > secret.b64\n  \
deadbolt kms decrypt --context app=web --in secret.b64\n  \
deadbolt kms encrypt-file alias/app --context app=web --in data.csv --out data.csv.enc\n  \
deadbolt kms --region eu-west-1 list-keys\n  \
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
    /// The region to act in (default: the keystore's home region, set by `init`).
    /// Keys and aliases live in the region they were made in.
    #[arg(long, global = true, value_name = "REGION")]
    pub region: Option<String>,
    #[command(subcommand)]
    pub verb: KmsVerb,
}

/// A key, positionally or with --key.
#[derive(Args, Clone)]
pub struct KeyRef {
    /// Key id, key ARN, alias name (alias/NAME) or alias ARN.
    #[arg(value_name = "KEY", required_unless_present = "key_flag")]
    key: Option<String>,
    /// The key, as an option (the same as the positional KEY).
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

/// An optional key, positionally or with --key.
#[derive(Args, Clone)]
pub struct OptKeyRef {
    /// Key id, key ARN, alias name (alias/NAME) or alias ARN.
    #[arg(value_name = "KEY")]
    key: Option<String>,
    /// The key, as an option (the same as the positional KEY).
    #[arg(long = "key", short = 'k', value_name = "KEY", conflicts_with = "key")]
    key_flag: Option<String>,
}

impl OptKeyRef {
    fn get(&self) -> Option<&str> {
        self.key.as_deref().or(self.key_flag.as_deref())
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
    /// Create the keystore (optionally for another home region and account).
    #[command(
        after_help = "Example:\n  deadbolt kms --keystore ks init --region eu-west-1 --account 444455556666"
    )]
    /// The home region is --region (default us-east-1): where the command line
    /// and unsigned requests act unless told otherwise.
    Init {
        /// The 12-digit account id the keystore's keys belong to.
        #[arg(long, default_value = "111122223333")]
        account: String,
    },
    /// Write a new random root key to FILE (mode 0600; never overwrites).
    NewRootKey {
        /// Where to write the key (must not exist).
        #[arg(value_name = "FILE")]
        file: PathBuf,
    },
    /// Create a symmetric encryption key; prints its key id and ARN.
    #[command(
        after_help = "Example:\n  deadbolt kms create-key --description 'app data' --alias alias/app --rotation --tag team=web"
    )]
    CreateKey {
        /// The key's description.
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
        /// How many keys.
        #[arg(long, default_value_t = 10)]
        count: usize,
    },
    /// Show a key (DescribeKey).
    #[command(after_help = "Example:\n  deadbolt kms describe-key alias/app")]
    DescribeKey {
        #[command(flatten)]
        key: KeyRef,
    },
    /// List the keys of every region: id, region, state, aliases, description.
    ListKeys {
        /// Print the ListKeys response of the region instead.
        #[arg(long)]
        json: bool,
    },
    /// Create an alias for a key.
    #[command(
        after_help = "Example:\n  deadbolt kms create-alias 1234abcd-12ab-34cd-56ef-1234567890ab --alias alias/app"
    )]
    CreateAlias {
        #[command(flatten)]
        key: KeyRef,
        /// The alias name: alias/NAME.
        #[arg(long, value_name = "ALIAS")]
        alias: String,
    },
    /// Point an existing alias at another key.
    #[command(
        after_help = "Example:\n  deadbolt kms update-alias 0987dcba-09fe-87dc-65ba-ab0987654321 --alias alias/app"
    )]
    UpdateAlias {
        #[command(flatten)]
        key: KeyRef,
        /// The alias name: alias/NAME.
        #[arg(long, value_name = "ALIAS")]
        alias: String,
    },
    /// Delete an alias (the key stays).
    DeleteAlias {
        /// The alias name: alias/NAME.
        #[arg(long, value_name = "ALIAS")]
        alias: String,
    },
    /// List the region's aliases (of one key when KEY is given).
    ListAliases {
        #[command(flatten)]
        key: OptKeyRef,
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
    #[command(after_help = "Example:\n  deadbolt kms schedule-deletion alias/old --days 7")]
    ScheduleDeletion {
        #[command(flatten)]
        key: KeyRef,
        /// The waiting period, 7–30 days.
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
    /// Rotate a key now (RotateKeyOnDemand, at most 10 times per key); old
    /// ciphertexts still decrypt.
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
    #[command(
        after_help = "Example:\n  echo -n secret | deadbolt kms encrypt alias/app -c app=web > secret.b64"
    )]
    Encrypt {
        #[command(flatten)]
        key: KeyRef,
        #[command(flatten)]
        context: ContextArgs,
        /// Read the plaintext from FILE instead of stdin.
        #[arg(long = "in", value_name = "FILE")]
        input: Option<PathBuf>,
    },
    /// Decrypt a base64 ciphertext blob (stdin or --in); writes the plaintext.
    #[command(
        after_help = "Example:\n  deadbolt kms decrypt -c app=web --in secret.b64 --out secret.txt"
    )]
    Decrypt {
        /// The key the ciphertext must have been made under (optional).
        #[command(flatten)]
        key: OptKeyRef,
        #[command(flatten)]
        context: ContextArgs,
        /// Read the base64 ciphertext from FILE instead of stdin.
        #[arg(long = "in", value_name = "FILE")]
        input: Option<PathBuf>,
        /// Write the plaintext to FILE (atomically) instead of stdout.
        #[arg(long = "out", value_name = "FILE")]
        output: Option<PathBuf>,
    },
    /// Generate a data key; prints the GenerateDataKey response (plaintext and blob, base64).
    GenerateDataKey {
        #[command(flatten)]
        key: KeyRef,
        #[command(flatten)]
        context: ContextArgs,
        /// Length in bytes (1–1024); default: AES_256 (32 bytes).
        #[arg(long, value_name = "N")]
        bytes: Option<i64>,
        /// Print only the encrypted key (GenerateDataKeyWithoutPlaintext).
        #[arg(long)]
        without_plaintext: bool,
    },
    /// Replace a key's policy with a JSON document.
    #[command(
        after_help = "Example:\n  deadbolt kms put-key-policy alias/app --policy policy.json"
    )]
    PutKeyPolicy {
        #[command(flatten)]
        key: KeyRef,
        /// The key policy document (a JSON file).
        #[arg(long, value_name = "FILE")]
        policy: PathBuf,
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
    #[command(
        after_help = "Example:\n  deadbolt kms create-grant alias/app --grantee arn:aws:iam::111122223333:role/reader \
--operations Decrypt,DescribeKey --context-subset app=web"
    )]
    CreateGrant {
        #[command(flatten)]
        key: KeyRef,
        /// The principal the grant is for (an IAM ARN or an account id).
        #[arg(long, value_name = "PRINCIPAL")]
        grantee: String,
        /// Operations, comma-separated (Encrypt,Decrypt,GenerateDataKey,...).
        #[arg(long, value_name = "OPS", value_delimiter = ',', required = true)]
        operations: Vec<String>,
        /// The principal that may retire the grant.
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
        #[command(flatten)]
        key: KeyRef,
        /// The grant's id (from create-grant or list-grants).
        #[arg(long, value_name = "GRANT_ID")]
        grant_id: String,
    },
    /// Envelope-encrypt a file of any size under a key (atomic output).
    #[command(
        after_help = "Example:\n  deadbolt kms encrypt-file alias/app -c bucket=logs --in data.csv --out data.csv.enc"
    )]
    EncryptFile {
        #[command(flatten)]
        key: KeyRef,
        #[command(flatten)]
        context: ContextArgs,
        /// The file to encrypt.
        #[arg(long = "in", value_name = "FILE")]
        input: PathBuf,
        /// Where to write the envelope file.
        #[arg(long = "out", value_name = "FILE")]
        output: PathBuf,
    },
    /// Decrypt an envelope-encrypted file (atomic output). With --context, the
    /// file's encryption context must be exactly that.
    #[command(
        after_help = "Example:\n  deadbolt kms decrypt-file -c bucket=logs --in data.csv.enc --out data.csv"
    )]
    DecryptFile {
        #[command(flatten)]
        context: ContextArgs,
        /// The envelope file.
        #[arg(long = "in", value_name = "FILE")]
        input: PathBuf,
        /// Where to write the plaintext.
        #[arg(long = "out", value_name = "FILE")]
        output: PathBuf,
    },
    /// Run any KMS operation: OPERATION and its JSON input (argument or stdin).
    #[command(
        after_help = "Example:\n  deadbolt kms call TagResource '{\"KeyId\": \"alias/app\", \"Tags\": [{\"TagKey\": \"team\", \"TagValue\": \"web\"}]}'"
    )]
    Call {
        /// E.g. ListKeys, TagResource, ReEncrypt.
        #[arg(value_name = "OPERATION")]
        operation: String,
        /// The request JSON (default: read from stdin; `{}` when stdin is a terminal).
        #[arg(value_name = "JSON")]
        input: Option<String>,
    },
    /// Serve the AWS KMS JSON API (for the AWS CLI and SDKs via endpoint_url).
    #[command(
        after_help = "The region of a signed request is its SigV4 credential scope's; a scope naming a \
region not served is refused (InvalidSignatureException), as AWS refuses it.\n\n\
Examples:\n  deadbolt kms serve --access-keys keys.json\n  \
deadbolt kms serve --allow-unsigned --log-requests      # then: AWS_ACCESS_KEY_ID=test AWS_SECRET_ACCESS_KEY=test \\\n    \
aws --endpoint-url http://127.0.0.1:4599 kms list-keys"
    )]
    Serve {
        /// HOST:PORT to listen on (port 0 picks a free one).
        #[arg(long, default_value = "127.0.0.1:4599")]
        addr: String,
        /// Access keys file: a JSON object mapping each access key id to
        /// {"secret": "...", "principal": "arn:aws:iam::ACCOUNT:user/NAME"}.
        #[arg(long, value_name = "FILE")]
        access_keys: Option<PathBuf>,
        /// Largest request body accepted, in bytes (413 beyond).
        #[arg(long, value_name = "BYTES", default_value_t = 1 << 20)]
        max_body: usize,
        /// Local-use mode: unsigned requests, and requests signed with an access
        /// key id not in --access-keys, act as the account root without
        /// verification (AWS_ACCESS_KEY_ID=test works). Configured access keys
        /// are still verified.
        #[arg(long)]
        allow_unsigned: bool,
        /// The regions a credential scope may name, comma-separated (default:
        /// the public AWS regions; the keystore's home region always).
        #[arg(long, value_name = "REGIONS")]
        regions: Option<String>,
        /// Allow a non-loopback --addr.
        #[arg(long)]
        allow_remote: bool,
        /// Worker threads: requests answered at once (default: 4 per core, 4–64).
        #[arg(long, value_name = "N")]
        threads: Option<usize>,
        /// Open connections in all (503 beyond).
        #[arg(long, value_name = "N", default_value_t = deadbolt::kms::server::DEFAULT_MAX_CONNECTIONS)]
        max_connections: usize,
        /// Open connections from one client address (503 beyond).
        #[arg(long, value_name = "N", default_value_t = deadbolt::kms::server::DEFAULT_MAX_CONNECTIONS_PER_ADDRESS)]
        max_connections_per_address: usize,
        /// Seconds a client may take to send a request head (408 beyond).
        #[arg(long, value_name = "SECONDS", default_value_t = 10)]
        head_timeout: u64,
        /// Write the bound address to FILE once listening.
        #[arg(long, value_name = "FILE")]
        port_file: Option<PathBuf>,
        /// Log one line per request, and per refused request or connection, to stderr.
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
