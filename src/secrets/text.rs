//! Secrets assigned inside free text — EC2 user data scripts, cfn-init files,
//! container commands, configuration files: `export DB_PASSWORD=...`,
//! `password: ...`, `"apiKey": "..."`, `--admin-password '...'`,
//! `define('DB_PASSWORD', '...')`, `mysql -u root -p'...'`, `user:pw | chpasswd`.
//! Each assignment yields the key it was assigned to and its value; the caller
//! judges the pair by the key's name.

use std::sync::OnceLock;

use regex::Regex;

/// One `key = value` found in a text.
pub struct Assignment {
    pub key: String,
    pub value: String,
    /// Whether the value was quoted (a literal) rather than bare (which in
    /// code may be an expression: `os.environ["PW"]`, `config.password`).
    pub quoted: bool,
    /// Byte range of the value in the text.
    pub start: usize,
    pub end: usize,
}

struct Form {
    pattern: &'static str,
    /// Key to use when the pattern has no key group (`mysql -p`).
    fixed_key: Option<&'static str>,
}

const FORMS: &[Form] = &[
    // mysql -u root -pSECRET / -p'SECRET' (no space: -p alone prompts).
    Form {
        pattern: r#"\bmysql(?:admin|dump|import|check|sh)?\b[^\n]*?\s-p(?:"(?P<dq>[^"\n]+)"|'(?P<sq>[^'\n]+)'|(?P<bare>[^\s"'`;&|]+))"#,
        fixed_key: Some("mysql -p (password)"),
    },
    // mysqladmin -u root password 'SECRET'
    Form {
        pattern: r#"\bmysqladmin\b[^\n]*?\spassword\s+(?:"(?P<dq>[^"\n]+)"|'(?P<sq>[^'\n]+)'|(?P<bare>[^\s"'`;&|]+))"#,
        fixed_key: Some("mysqladmin password"),
    },
    // echo 'user:SECRET' | chpasswd
    Form {
        pattern: r#"echo\s+["']?[A-Za-z0-9_.-]+:(?P<bare>[^\s"'|]+)["']?\s*\|\s*(?:sudo\s+)?chpasswd"#,
        fixed_key: Some("chpasswd (password)"),
    },
    // sshpass -p 'SECRET'
    Form {
        pattern: r#"\bsshpass\s+-p\s*(?:"(?P<dq>[^"\n]+)"|'(?P<sq>[^'\n]+)'|(?P<bare>[^\s"'`;&|]+))"#,
        fixed_key: Some("sshpass -p (password)"),
    },
    // PHP constants (wp-config.php): define('DB_PASSWORD', '...').
    Form {
        pattern: r#"define\(\s*['"](?P<key>[A-Za-z_][A-Za-z0-9_]*)['"]\s*,\s*(?:"(?P<dq>[^"\n]*)"|'(?P<sq>[^'\n]*)')"#,
        fixed_key: None,
    },
    // Command-line flags: --password hunter2, --db-password='...', -Dpassword=...
    Form {
        pattern: r#"(?:^|\s)--?(?P<key>[A-Za-z][A-Za-z0-9_.-]{1,60})(?:=|[ \t]+)(?:"(?P<dq>[^"\n]*)"|'(?P<sq>[^'\n]*)'|(?P<bare>[^\s"'`;&|-][^\s"'`;&|]*))"#,
        fixed_key: None,
    },
    // Shell, env files, INI, properties, YAML and JSON: KEY=value, KEY: value,
    // "key": "value", with an optional export/set/ENV in front.
    Form {
        pattern: r#"(?m)(?:^|[\s;&|(,{])(?:export\s+|set\s+|setx\s+|ENV\s+|local\s+|declare\s+(?:-\w+\s+)?)?["']?(?P<key>[A-Za-z_][A-Za-z0-9_.-]{0,80})["']?[ \t]*(?::=|=|:)[ \t]*(?:"(?P<dq>[^"\n]*)"|'(?P<sq>[^'\n]*)'|(?P<bare>(?:\$\{[^}\n]*\}|[^\s"'`;&|,}\])])+))"#,
        fixed_key: None,
    },
];

fn compiled() -> &'static [Regex] {
    static RE: OnceLock<Vec<Regex>> = OnceLock::new();
    RE.get_or_init(|| {
        FORMS
            .iter()
            .map(|f| Regex::new(f.pattern).expect("built-in assignment patterns are valid"))
            .collect()
    })
}

/// Every assignment in `text`, in order.
pub fn assignments(text: &str) -> Vec<Assignment> {
    let mut out: Vec<Assignment> = Vec::new();
    for (form, re) in FORMS.iter().zip(compiled()) {
        for caps in re.captures_iter(text) {
            let quoted = caps.name("dq").is_some() || caps.name("sq").is_some();
            let Some(value) = caps
                .name("dq")
                .or_else(|| caps.name("sq"))
                .or_else(|| caps.name("bare"))
            else {
                continue;
            };
            let key = match (form.fixed_key, caps.name("key")) {
                (Some(k), _) => k.to_string(),
                (None, Some(k)) => k.as_str().to_string(),
                (None, None) => continue,
            };
            if out
                .iter()
                .any(|a| a.start <= value.start() && value.end() <= a.end && a.end > a.start)
            {
                continue;
            }
            out.push(Assignment {
                key,
                value: value.as_str().to_string(),
                quoted,
                start: value.start(),
                end: value.end(),
            });
        }
    }
    out.sort_by_key(|a| a.start);
    out
}

#[cfg(test)]
mod tests {
    use super::assignments;

    fn pairs(text: &str) -> Vec<(String, String)> {
        assignments(text)
            .into_iter()
            .map(|a| (a.key, a.value))
            .collect()
    }

    fn has(text: &str, key: &str, value: &str) -> bool {
        pairs(text).iter().any(|(k, v)| k == key && v == value)
    }

    #[test]
    fn shell_and_config_forms() {
        assert!(has(
            "export DB_PASSWORD=hunter2\n",
            "DB_PASSWORD",
            "hunter2"
        ));
        assert!(has("DB_PASSWORD=\"s3cr3t pw\"", "DB_PASSWORD", "s3cr3t pw"));
        assert!(has("  password: 'x9!x9!x9'\n", "password", "x9!x9!x9"));
        assert!(has(r#"{"apiKey": "k-123456789"}"#, "apiKey", "k-123456789"));
        assert!(has(
            "Server=db;User Id=sa;Password=Pa55word;",
            "Password",
            "Pa55word"
        ));
    }

    #[test]
    fn flags_and_tools() {
        assert!(has(
            "wp core install --admin_password='Adm1n!' --url=x",
            "admin_password",
            "Adm1n!"
        ));
        assert!(has(
            "cli --db-password hunter22 --verbose",
            "db-password",
            "hunter22"
        ));
        assert!(has(
            "define('DB_PASSWORD', 'wp-pass-1');",
            "DB_PASSWORD",
            "wp-pass-1"
        ));
        assert!(has(
            "mysql -u root -pRootPw1 -e 'select 1'",
            "mysql -p (password)",
            "RootPw1"
        ));
        assert!(has(
            "mysqladmin -u root password 'RootPw2'",
            "mysqladmin password",
            "RootPw2"
        ));
        assert!(has(
            "echo 'ec2-user:Linux!pw' | chpasswd",
            "chpasswd (password)",
            "Linux!pw"
        ));
        assert!(has(
            "sshpass -p 'ssh-pw-9' ssh host",
            "sshpass -p (password)",
            "ssh-pw-9"
        ));
    }

    #[test]
    fn quoting_is_recorded() {
        let a = assignments("password = \"abc\"\ntoken = os.environ[\"T\"]\n");
        assert_eq!(a.len(), 2);
        assert!(a[0].quoted);
        assert!(!a[1].quoted);
    }

    #[test]
    fn a_flag_followed_by_another_flag_has_no_value() {
        assert!(!pairs("cmd --password --verbose")
            .iter()
            .any(|(k, _)| k == "password"));
        // `mysql -p` with nothing attached prompts for the password.
        assert!(!pairs("mysql -u root -p dbname")
            .iter()
            .any(|(k, v)| k.starts_with("mysql") && v == "dbname"));
    }
}
