//! `secrets.find` on small inline templates and plans: how each intrinsic,
//! parameter kind and value shape reaches the secret detection engine, and what
//! a finding reports (rule, location, redacted value, position).

use std::sync::Arc;

use deadbolt::dsl::{check_sources, PolicySource};
use deadbolt::eval::{evaluate, Params};
use deadbolt::load::load_source;

/// Every finding of `secrets.find(r)` per resource, as
/// `resource status line:col [rules] @ [locations] = [redacted]`.
const POLICY: &str = r#"
policy s {
  severity critical
  for resource "AWS::Lambda::Function", "AWS::EC2::Instance", "AWS::ECS::TaskDefinition",
               "AWS::SSM::Parameter", "AWS::SecretsManager::Secret",
               "aws_lambda_function", "aws_ecs_task_definition", "aws_ssm_parameter" as r
  let found = secrets.find(r)
  require count(found) == 0
    else "{found[*].rule} @ {found[*].location} = {found[*].redacted}"
}
"#;

fn run_with(path: &str, text: &str, params: &[(&str, &str)]) -> Vec<String> {
    let checked = check_sources(&[PolicySource {
        name: "s.policy".into(),
        text: Arc::from(POLICY),
    }]);
    assert!(checked.diagnostics.is_empty(), "{:#?}", checked.diagnostics);
    let templates = load_source(path, text).expect("template loads");
    let mut p = Params::default();
    for (k, v) in params {
        p.values.insert(k.to_string(), v.to_string());
    }
    evaluate(&checked.policies, &templates, &p, None)
        .iter()
        .map(|f| {
            format!(
                "{} {} {}:{} {}",
                f.resource,
                f.status.as_str(),
                f.line,
                f.column,
                if f.status.as_str() == "pass" {
                    ""
                } else {
                    &f.message
                }
            )
            .trim_end()
            .to_string()
        })
        .collect()
}

fn run(text: &str) -> Vec<String> {
    run_with("t.yaml", text, &[])
}

const PARAMS: &str = "\
Parameters:
  DbPassword:
    Type: String
    NoEcho: true
  ApiToken:
    Type: String
  AdminPassword:
    Type: String
    NoEcho: true
    Default: Adm1nPassw0rd
";

#[test]
fn environment_variables_literals_parameters_and_references() {
    let t = format!(
        "{PARAMS}Resources:
  Fn:
    Type: AWS::Lambda::Function
    Properties:
      Environment:
        Variables:
          REGION: !Ref AWS::Region
          SECRET_ARN: arn:aws:secretsmanager:us-east-1:123456789012:secret:db-AbCdEf
          DB_PASSWORD: !Ref DbPassword
          RESOLVED: '{{{{resolve:secretsmanager:prod/db:SecretString:password}}}}'
          API_TOKEN: !Ref ApiToken
          ADMIN_PASSWORD: !Ref AdminPassword
          STRIPE_KEY: sk_live_51Hq7Rk2LmN9pX4sT6vW8yZa1Bc
  Clean:
    Type: AWS::Lambda::Function
    Properties:
      Environment:
        Variables:
          DB_PASSWORD: !Ref DbPassword
          TABLE: orders
"
    );
    assert_eq!(
        run(&t),
        [
            "Fn fail 21:11 [parameter-without-noecho, keyword-password, stripe-key] @ \
             [Environment.Variables.API_TOKEN, \
             Environment.Variables.ADMIN_PASSWORD (default of parameter AdminPassword), \
             Environment.Variables.STRIPE_KEY] = \
             [parameter ApiToken, *************, sk_live_********************]",
            "Clean pass 24:3",
        ]
    );
    // A value given on the command line is not in the template: the default of
    // the NoEcho parameter no longer counts, the missing NoEcho still does.
    let out = run_with("t.yaml", &t, &[("AdminPassword", "x"), ("ApiToken", "y")]);
    assert!(
        out[0].starts_with("Fn fail 21:11 [parameter-without-noecho, stripe-key]"),
        "{out:?}"
    );
}

#[test]
fn user_data_scripts_built_by_sub_join_and_if() {
    let t = format!(
        "{PARAMS}Conditions:
  Prod: !Equals [!Ref AWS::Region, us-east-1]
Resources:
  SubVars:
    Type: AWS::EC2::Instance
    Properties:
      UserData:
        Fn::Base64: !Sub
          - |
            #!/bin/bash
            export DB_PASSWORD=${{Pw}}
            export ADMIN=${{DbPassword}}
          - Pw: Spring2024!x
  Joined:
    Type: AWS::EC2::Instance
    Properties:
      UserData:
        Fn::Base64: !Join
          - ''
          - - \"#!/bin/bash\\n\"
            - \"mysql -u root -p\"
            - !Ref DbPassword
            - \"\\n\"
            - \"wp core install --admin_password='\"
            - !Ref DbPassword
            - \"'\\n\"
            - \"export API_TOKEN=\"
            - !Ref ApiToken
            - \"\\n\"
  Branches:
    Type: AWS::EC2::Instance
    Properties:
      UserData: !If [Prod, !Base64 \"#!/bin/bash\\necho prod\\n\", !Base64 \"#!/bin/bash\\nexport PGPASSWORD=devpass123\\n\"]
  Encoded:
    Type: AWS::EC2::Instance
    Properties:
      UserData: IyEvYmluL2Jhc2gKZXhwb3J0IEFXU19BQ0NFU1NfS0VZX0lEPUFLSUFaM01IUVdFUlRZVUlPUDdRCg==
"
    );
    assert_eq!(
        run(&t),
        [
            "SubVars fail 17:7 [keyword-password] @ [UserData (line 2)] = [************]",
            "Joined fail 27:7 [parameter-without-noecho] @ [UserData (line 4)] = [parameter ApiToken]",
            "Branches fail 43:7 [keyword-password] @ [UserData (line 2)] = [**********]",
            "Encoded fail 47:7 [aws-access-key-id] @ [UserData (base64, line 2)] = [AKIA****************]",
        ]
    );
}

#[test]
fn name_value_items_and_json_strings() {
    let t = "\
Resources:
  Task:
    Type: AWS::ECS::TaskDefinition
    Properties:
      ContainerDefinitions:
        - Name: app
          Image: nginx
          Environment:
            - Name: LOG_LEVEL
              Value: debug
            - Name: DATABASE_PASSWORD
              Value: s3cr3t-pw
          Secrets:
            - Name: API_KEY
              ValueFrom: arn:aws:ssm:us-east-1:123456789012:parameter/api-key
  Param:
    Type: AWS::SSM::Parameter
    Properties:
      Name: !Sub /${AWS::StackName}/db/password
      Type: String
      Value: Passw0rd-Plain
  Safe:
    Type: AWS::SSM::Parameter
    Properties:
      Name: /app/db/host
      Type: String
      Value: db.internal
  Blob:
    Type: AWS::SecretsManager::Secret
    Properties:
      SecretString: '{\"username\": \"admin\", \"password\": \"Blob-Pa55word\"}'
  Generated:
    Type: AWS::SecretsManager::Secret
    Properties:
      GenerateSecretString:
        SecretStringTemplate: '{\"username\": \"admin\"}'
        GenerateStringKey: password
        PasswordLength: 32
        ExcludeCharacters: '\"@/\\'
";
    assert_eq!(
        run(t),
        [
            "Task fail 12:15 [keyword-password] @ [ContainerDefinitions[0].Environment[1].Value (DATABASE_PASSWORD)] = [*********]",
            "Param fail 21:7 [keyword-password] @ [Value (/${AWS::StackName}/db/password)] = [**************]",
            "Safe pass 22:3",
            "Blob fail 31:7 [keyword-password] @ [SecretString.password] = [*************]",
            "Generated pass 32:3",
        ]
    );
}

#[test]
fn iam_secret_keys_copied_into_plain_text() {
    let t = "\
Resources:
  Key:
    Type: AWS::IAM::AccessKey
    Properties:
      UserName: deployer
  Fn:
    Type: AWS::Lambda::Function
    Properties:
      Environment:
        Variables:
          AWS_ACCESS_KEY_ID: !Ref Key
          AWS_SECRET_ACCESS_KEY: !GetAtt Key.SecretAccessKey
  Param:
    Type: AWS::SSM::Parameter
    Properties:
      Type: String
      Value: !Sub '${Key}:${Key.SecretAccessKey}'
";
    assert_eq!(
        run(t),
        [
            "Fn fail 12:11 [iam-access-key-secret] @ [Environment.Variables.AWS_SECRET_ACCESS_KEY] = [!GetAtt Key.SecretAccessKey]",
            "Param fail 17:7 [iam-access-key-secret] @ [Value] = [!GetAtt Key.SecretAccessKey]",
        ]
    );
}

const PLAN: &str = r#"{
  "format_version": "1.2",
  "terraform_version": "1.9.5",
  "planned_values": {"root_module": {"resources": [
    {"address": "aws_lambda_function.api", "mode": "managed", "type": "aws_lambda_function", "name": "api",
     "provider_name": "registry.terraform.io/hashicorp/aws",
     "values": {"function_name": "api", "environment": [{"variables": {"DB_PASSWORD": "tf-Passw0rd", "STAGE": "prod"}}]}},
    {"address": "aws_lambda_function.worker", "mode": "managed", "type": "aws_lambda_function", "name": "worker",
     "provider_name": "registry.terraform.io/hashicorp/aws",
     "values": {"function_name": "worker", "environment": [{"variables": {"STAGE": "prod"}}]}},
    {"address": "aws_ecs_task_definition.app", "mode": "managed", "type": "aws_ecs_task_definition", "name": "app",
     "provider_name": "registry.terraform.io/hashicorp/aws",
     "values": {"family": "app", "container_definitions": "[{\"name\":\"app\",\"environment\":[{\"name\":\"GITHUB_TOKEN\",\"value\":\"ghp_R2k7f1Lq9ZxW3mN8bV5cT0yH6jD4sA2pQe7U\"}]}]"}},
    {"address": "aws_ssm_parameter.key", "mode": "managed", "type": "aws_ssm_parameter", "name": "key",
     "provider_name": "registry.terraform.io/hashicorp/aws",
     "values": {"name": "/ci/deployer-secret", "type": "String"}}
  ]}},
  "resource_changes": [
    {"address": "aws_ssm_parameter.key", "mode": "managed", "type": "aws_ssm_parameter", "name": "key",
     "change": {"actions": ["create"], "after": {"name": "/ci/deployer-secret", "type": "String"},
                "after_unknown": {"value": true, "arn": true}}}
  ],
  "configuration": {"root_module": {"resources": [
    {"address": "aws_ssm_parameter.key", "mode": "managed", "type": "aws_ssm_parameter", "name": "key",
     "expressions": {"name": {"constant_value": "/ci/deployer-secret"}, "type": {"constant_value": "String"},
                     "value": {"references": ["aws_iam_access_key.deployer.secret", "aws_iam_access_key.deployer"]}}}
  ]}}
}"#;

#[test]
fn terraform_values() {
    assert_eq!(
        run_with("plan.json", PLAN, &[]),
        [
            "aws_lambda_function.api fail 7:72 [keyword-password] @ [environment[0].variables.DB_PASSWORD] = [***********]",
            "aws_lambda_function.worker pass 8:6",
            "aws_ecs_task_definition.app fail 13:34 [github-token] @ [container_definitions[0].environment[0].value (GITHUB_TOKEN)] = [ghp_********************]",
            "aws_ssm_parameter.key fail 16:6 [iam-access-key-secret] @ [value (/ci/deployer-secret)] = [aws_iam_access_key.deployer.secret]",
        ]
    );
}

#[test]
fn parameters_declared_as_identifiers_are_not_secrets() {
    // An ARN pattern, an enumeration, a non-string type or a description that
    // says ARN: the parameter names where a secret is, or is not one at all.
    let t = "\
Parameters:
  AdministratorSecret:
    Type: String
    AllowedPattern: '^arn:[^:]+:secretsmanager:[^:]+:\\d{12}:secret:.+$'
  TokenMode:
    Type: String
    AllowedValues: [required, optional]
  SigningSecret:
    Type: String
    Description: The ARN of the signing key's secret
  ApiKeyLength:
    Type: Number
  WebhookToken:
    Type: String
Resources:
  Fn:
    Type: AWS::Lambda::Function
    Properties:
      Environment:
        Variables:
          ADMIN_SECRET: !Ref AdministratorSecret
          AUTH_TOKEN: !Ref TokenMode
          SIGNING_SECRET: !Ref SigningSecret
          API_KEY: !Ref ApiKeyLength
          WEBHOOK_TOKEN: !Ref WebhookToken
";
    assert_eq!(
        run(t),
        ["Fn fail 25:11 [parameter-without-noecho] @ [Environment.Variables.WEBHOOK_TOKEN] = [parameter WebhookToken]"]
    );
}

#[test]
fn a_default_that_names_its_own_parameter_does_not_loop() {
    let t = "\
Parameters:
  Loop:
    Type: String
    NoEcho: true
    Default: '${Loop}'
  Other:
    Type: String
    NoEcho: true
    Default: '${Loop}'
Resources:
  Fn:
    Type: AWS::Lambda::Function
    Properties:
      Environment:
        Variables:
          DB_PASSWORD: !Ref Loop
          API_TOKEN: !Sub '${Other}'
";
    assert_eq!(run(t), ["Fn pass 11:3"]);
}
