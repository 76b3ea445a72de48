//! True and false positives of the whole engine. The credentials below are made
//! up for these tests in the public formats (none is a live key); the AWS
//! documentation's own examples must *not* be reported.

use super::{scan_value, Finding};

fn rules(key: Option<&str>, value: &str) -> Vec<&'static str> {
    scan_value(key, value)
        .findings
        .iter()
        .map(|f| f.rule)
        .collect()
}

fn only(key: Option<&str>, value: &str) -> Finding {
    let s = scan_value(key, value);
    assert_eq!(
        s.findings.len(),
        1,
        "{key:?} = {value:?}: {:#?}",
        s.findings
    );
    s.findings[0].clone()
}

#[test]
fn provider_formats_are_found_anywhere() {
    let cases = [
        ("AKIAZ3MHQWERTYUIOP7Q", "aws-access-key-id"),
        ("ASIAY34FZKBOKMUTVV7A", "aws-access-key-id"),
        ("ghp_R2k7f1Lq9ZxW3mN8bV5cT0yH6jD4sA2pQe7U", "github-token"),
        ("glpat-x7Kq2LmN9pR4sT6vW8yZ", "gitlab-token"),
        (
            "xoxb-2931745082-4839207651-Zq7Rk2LmN9pX4sT6vW8y",
            "slack-token",
        ),
        (
            "https://hooks.slack.com/services/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",
            "slack-webhook",
        ),
        ("sk_live_51Hq7Rk2LmN9pX4sT6vW8yZa1Bc", "stripe-key"),
        ("AIzaSyD7q2Rk9LmN4pX6sT8vW1yZa3Bc5De7Fgh", "google-api-key"),
        ("npm_q7Rk2LmN9pX4sT6vW8yZa1Bc3De5Fg7Hi9Jk", "npm-token"),
        (
            "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",
            "sendgrid-key",
        ),
        ("dapi0a1b2c3d4e5f60718293a4b5c6d7e8f9", "databricks-token"),
        (
            "postgres://app:Zq7Rk2Lm@db.internal:5432/orders",
            "url-password",
        ),
    ];
    for (text, rule) in cases {
        assert_eq!(rules(None, text), [rule], "{text}");
        // Embedded in a sentence or a script, too.
        let script = format!("#!/bin/bash\necho start\nconfigure --x {text} --y\n");
        assert_eq!(rules(None, &script), [rule], "{script}");
    }
}

#[test]
fn a_private_key_block_is_found_but_a_public_one_is_not() {
    let key = "-----BEGIN RSA PRIVATE KEY-----\nMIIEpAIBAAKCAQEAu1SU1LfVLPHCozMxH2Mo4lgOEePzNm0tRgeLezV6ffAt0gun\nVTLw7onLRnrq0/IzW7yWR7QkrmBL7jTKEn5u+qKhbwKfBstIs+bMY2Zkp18gnTxK\n-----END RSA PRIVATE KEY-----\n";
    let f = only(Some("PRIVATE_KEY"), key);
    assert_eq!(f.rule, "private-key");
    assert_eq!(f.redacted, "*".repeat(20));
    // The same block written on one line with \n escapes (a YAML quoted string).
    assert_eq!(rules(None, &key.replace('\n', "\\n")), ["private-key"]);
    let ssh = "-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAAABG5vbmUAAAAEbm9uZQAAAAAAAAABAAAAMwAAAAtzc2gtZW\n-----END OPENSSH PRIVATE KEY-----";
    assert_eq!(rules(None, ssh), ["private-key"]);
    // Public material and headers around a placeholder are not secrets.
    assert!(rules(None, "-----BEGIN CERTIFICATE-----\nMIIDdzCCAl+gAwIBAgIEAgAAuTANBgkqhkiG9w0BAQUFADBaMQswCQYDVQQGEwJJ\n-----END CERTIFICATE-----").is_empty());
    assert!(rules(None, "-----BEGIN PUBLIC KEY-----\nMIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEAu1SU1LfVLPHCozMxH2Mo\n-----END PUBLIC KEY-----").is_empty());
    assert!(rules(
        None,
        "ssh-rsa AAAAB3NzaC1yc2EAAAADAQABAAABAQC7 ec2-user@host"
    )
    .is_empty());
    assert!(rules(
        Some("PRIVATE_KEY"),
        "-----BEGIN RSA PRIVATE KEY-----\n${PrivateKeyBody}\n-----END RSA PRIVATE KEY-----"
    )
    .is_empty());
}

#[test]
fn jwt_needs_a_json_header() {
    // {"alg":"HS256","typ":"JWT"} . {"sub":"1234567890"} . signature
    let jwt = "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.dozjgNryP4J3jVmNHl0w5N_XgL0n3I9PlFUP0THsR8U";
    assert_eq!(rules(None, jwt), ["jwt"]);
    // Three dotted base64 chunks that do not decode to a header.
    assert!(rules(None, "eyJzzzzzzzzzzzzzzz.eyJzzzzzzzzzzzzz.zzzzzzzzzzzzzz").is_empty());
}

#[test]
fn aws_documentation_examples_are_not_reported() {
    assert!(rules(None, "AKIAIOSFODNN7EXAMPLE").is_empty());
    assert!(rules(
        Some("AWS_SECRET_ACCESS_KEY"),
        "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
    )
    .is_empty());
    assert!(rules(
        None,
        "aws_secret_access_key = wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
    )
    .is_empty());
}

#[test]
fn aws_secret_access_keys_by_name_and_by_context() {
    let secret = "Zq7Rk2LmN9pX4sT6vW8yZa1Bc3De5Fg7Hi9Jk1Lm";
    assert_eq!(
        rules(Some("AWS_SECRET_ACCESS_KEY"), secret),
        ["aws-secret-access-key"]
    );
    assert_eq!(
        rules(Some("SecretAccessKey"), secret),
        ["aws-secret-access-key"]
    );
    let creds = format!(
        "[default]\naws_access_key_id = AKIAZ3MHQWERTYUIOP7Q\naws_secret_access_key = {secret}\n"
    );
    let found = scan_value(Some("UserData"), &creds).findings;
    let got: Vec<_> = found.iter().map(|f| (f.rule, f.line)).collect();
    assert_eq!(
        got,
        [
            ("aws-access-key-id", Some(2)),
            ("aws-secret-access-key", Some(3))
        ]
    );
    assert_eq!(found[1].key.as_deref(), Some("aws_secret_access_key"));
}

#[test]
fn passwords_by_name() {
    for (key, value) in [
        ("DB_PASSWORD", "hunter22"),
        ("MasterUserPassword", "myPassword"),
        ("password", "changeme"),
        ("admin_pass", "P@ssw0rd!"),
        ("/prod/db/password", "s3cr3t-Pa55"),
    ] {
        let f = only(Some(key), value);
        assert_eq!((f.rule, f.kind), ("keyword-password", "password"), "{key}");
        assert_eq!(f.redacted, "*".repeat(value.chars().count()), "{key}");
    }
}

#[test]
fn secrets_by_name_need_entropy() {
    assert_eq!(
        rules(Some("API_KEY"), "q7Rk2LmN9pX4sT6v"),
        ["keyword-secret"]
    );
    assert_eq!(
        rules(Some("client_secret"), "8f14e45fceea167a5a36dedd4bea2543"),
        ["keyword-secret"]
    );
    assert_eq!(
        rules(Some("Authorization"), "Bearer q7Rk2LmN9pX4sT6vW8yZ"),
        ["keyword-secret"]
    );
    for (key, value) in [
        ("API_KEY", "production"),
        ("SECRET", "my-app-secret-name"),
        ("TOKEN", "abc12"),
        ("API_KEY", "aaaaaaaaaaaa1"),
    ] {
        assert!(rules(Some(key), value).is_empty(), "{key} = {value}");
    }
}

#[test]
fn placeholders_references_and_flags_are_not_secrets() {
    for (key, value) in [
        ("DB_PASSWORD", ""),
        ("DB_PASSWORD", "${DbPassword}"),
        (
            "DB_PASSWORD",
            "{{resolve:secretsmanager:prod/db:SecretString:password}}",
        ),
        ("DB_PASSWORD", "{{resolve:ssm-secure:/prod/db/password:1}}"),
        ("DB_PASSWORD", "<replace-me>"),
        ("DB_PASSWORD", "********"),
        ("DB_PASSWORD", "/prod/db/password"),
        (
            "DB_PASSWORD",
            "arn:aws:secretsmanager:eu-west-1:123456789012:secret:db-AbCdEf",
        ),
        ("DB_PASSWORD", "DB_PASSWORD_FROM_ENV"),
        ("PASSWORD_LENGTH", "32"),
        (
            "SECRET_ARN",
            "arn:aws:secretsmanager:eu-west-1:123456789012:secret:db-AbCdEf",
        ),
        ("TOKEN_URL", "https://login.example.com/oauth2/token"),
        (
            "ServiceToken",
            "arn:aws:lambda:us-east-1:123456789012:function:custom",
        ),
        ("KeyName", "prod-bastion"),
        ("ManageMasterUserPassword", "true"),
        ("REQUIRE_PASSWORD", "yes"),
        ("PWD", "/home/ec2-user"),
    ] {
        assert!(rules(Some(key), value).is_empty(), "{key} = {value}");
    }
}

#[test]
fn a_placeholder_under_a_secret_name_is_handed_back() {
    let s = scan_value(Some("DB_PASSWORD"), "${DbPassword}");
    assert!(s.findings.is_empty());
    assert_eq!(s.placeholders.len(), 1);
    assert_eq!(
        (
            s.placeholders[0].key.as_str(),
            s.placeholders[0].name.as_str()
        ),
        ("DB_PASSWORD", "DbPassword")
    );
    let s = scan_value(
        Some("UserData"),
        "#!/bin/bash\nexport API_TOKEN=${ApiToken}\nexport REGION=${AWS::Region}\n",
    );
    assert_eq!(s.placeholders.len(), 1);
    assert_eq!(
        (s.placeholders[0].name.as_str(), s.placeholders[0].line),
        ("ApiToken", Some(2))
    );
}

#[test]
fn user_data_scripts() {
    let script = "#!/bin/bash -xe\n\
        yum install -y mysql\n\
        export DB_HOST=db.internal\n\
        export DB_PASSWORD='Summer2024!'\n\
        mysql -h $DB_HOST -u admin -pRootPw1x -e 'create database app'\n\
        wp core install --url=example.com --admin_user=admin --admin_password='${WPAdminPassword}'\n\
        echo done\n";
    let s = scan_value(Some("UserData"), script);
    let got: Vec<_> = s
        .findings
        .iter()
        .map(|f| (f.rule, f.key.clone().unwrap_or_default(), f.line))
        .collect();
    assert_eq!(
        got,
        [
            ("keyword-password", "DB_PASSWORD".to_string(), Some(4)),
            (
                "keyword-password",
                "mysql -p (password)".to_string(),
                Some(5)
            ),
        ]
    );
    assert_eq!(
        s.placeholders.len(),
        1,
        "the templated admin password is a placeholder"
    );
}

#[test]
fn ordinary_scripts_have_no_secrets() {
    let script = "#!/bin/bash\n\
        yum update -y\n\
        yum install -y httpd\n\
        echo \"ServerName localhost\" >> /etc/httpd/conf/httpd.conf\n\
        TOKEN=$(curl -s -X PUT http://169.254.169.254/latest/api/token -H 'X-aws-ec2-metadata-token-ttl-seconds: 21600')\n\
        INSTANCE_ID=$(curl -s -H \"X-aws-ec2-metadata-token: $TOKEN\" http://169.254.169.254/latest/meta-data/instance-id)\n\
        /opt/aws/bin/cfn-signal -e $? --stack ${AWS::StackName} --resource WebServer --region ${AWS::Region}\n\
        aws secretsmanager get-secret-value --secret-id prod/db --query SecretString --output text\n\
        sha256sum -c <<< 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855  file.tgz'\n\
        systemctl enable httpd\n";
    let s = scan_value(Some("UserData"), script);
    assert!(s.findings.is_empty(), "{:#?}", s.findings);
}

#[test]
fn findings_are_bounded() {
    let many: String = (0..200)
        .map(|i| format!("export DB_PASSWORD_{i}=hunter{i:04}x\n"))
        .collect();
    assert!(scan_value(None, &many).findings.len() <= super::MAX_FINDINGS);
}

#[test]
fn inline_code_reads_secrets_instead_of_holding_them() {
    let code = "import os, boto3\n\
        password = os.environ['DB_PASSWORD']\n\
        token = get_token(event)\n\
        api_key = config.api.key\n\
        secret = event[\"ResourceProperties\"][\"Secret\"]\n\
        def handler(event, context):\n    return password\n";
    let s = scan_value(Some("ZipFile"), code);
    assert!(s.findings.is_empty(), "{:#?}", s.findings);
    // A literal in the code is a secret all the same.
    let leaked = "API_KEY = \"q7Rk2LmN9pX4sT6vW8yZ\"\n";
    assert_eq!(rules(Some("ZipFile"), leaked), ["keyword-secret"]);
}
