//! The arguments of `deadbolt kms` (clap): the global options, the one key
//! convention (`KeyRef`: positional KEY or `--key`), and every verb.

use std::path::PathBuf;

use clap::{Args, Subcommand};

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
    pub(super) fn get(&self) -> &str {
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
    pub(super) fn get(&self) -> Option<&str> {
        self.key.as_deref().or(self.key_flag.as_deref())
    }
}

#[derive(Args, Clone, Default)]
pub struct ContextArgs {
    /// Encryption context pair KEY=VALUE (repeatable).
    #[arg(long = "context", short = 'c', value_name = "KEY=VALUE")]
    pub(super) context: Vec<String>,
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
