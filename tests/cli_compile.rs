//! `deadbolt compile` end to end: what it writes, exit codes, refusals shown
//! in the policy's source, bad arguments.

mod common;
use common::run;

const LISTS: [&str; 10] = [
    "--threat-list",
    "ips=fixtures/detect/lists/ips.txt",
    "--threat-list",
    "c2-domains=fixtures/detect/lists/c2-domains.txt",
    "--threat-list",
    "crypto-domains=fixtures/detect/lists/crypto-domains.txt",
    "--trusted-list",
    "fixtures/detect/lists/trusted.txt",
    "--aws-ip-ranges",
    "fixtures/detect/lists/ip-ranges.json",
];

#[test]
fn writes_a_query_per_detection_the_ddl_and_the_lists() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("sql");
    let mut args = vec!["compile", "--target", "athena", "-o", out.to_str().unwrap()];
    args.extend(LISTS);
    let r = run(&args);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(
        r.stderr.contains("14 queries for athena written to"),
        "{}",
        r.stderr
    );
    let mut names: Vec<String> = std::fs::read_dir(&out)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    assert_eq!(names.len(), 16, "{names:?}");
    assert!(
        names.contains(&"recon-portscan.sql".to_string())
            && names.contains(&"tables.sql".to_string())
    );
    let ddl = std::fs::read_to_string(out.join("tables.sql")).unwrap();
    for t in [
        "CREATE EXTERNAL TABLE cloudtrail_logs (",
        "CREATE EXTERNAL TABLE IF NOT EXISTS vpc_flow_logs (",
        "CREATE EXTERNAL TABLE r53_rlogs (",
        "CREATE EXTERNAL TABLE deadbolt_networks (",
    ] {
        assert!(ddl.contains(t), "{t}");
    }
    let lists = std::fs::read_to_string(out.join("lists/lists.tsv")).unwrap();
    assert_eq!(
        lists,
        "kind\tlist_name\tentries\tsource\n\
         threat\tc2-domains\t1\tfixtures/detect/lists/c2-domains.txt\n\
         threat\tcrypto-domains\t2\tfixtures/detect/lists/crypto-domains.txt\n\
         threat\tips\t3\tfixtures/detect/lists/ips.txt\n\
         trusted\ttrusted\t2\tfixtures/detect/lists/trusted.txt\n\
         aws\taws-ip-ranges\t2\tfixtures/detect/lists/ip-ranges.json\n"
    );
    // 203.0.113.0/24, 198.51.100.66 and 2001:db8:bad::/48, as numbers.
    let nets = std::fs::read_to_string(out.join("lists/networks.tsv")).unwrap();
    assert!(
        nets.contains("threat\tips\t4\t0\t3405803776\t0\t3405804031\n"),
        "{nets}"
    );
    assert!(
        nets.contains("threat\tips\t4\t0\t3325256770\t0\t3325256770\n"),
        "{nets}"
    );
    assert!(
        nets.contains(
            "threat\tips\t6\t2306139568311435264\t0\t2306139568311500799\t18446744073709551615\n"
        ),
        "{nets}"
    );
    let doms = std::fs::read_to_string(out.join("lists/domains.tsv")).unwrap();
    assert!(
        doms.contains("trusted\ttrusted\tpartner.example.com\n"),
        "{doms}"
    );
}

#[test]
fn one_detection_to_standard_output() {
    let r = run(&[
        "compile",
        "-t",
        "duckdb",
        "--detection",
        "ssh-brute-force",
        "--table",
        "flowlog=logs.flows",
    ]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(r
        .stdout
        .starts_with("-- deadbolt detection ssh-brute-force: "));
    assert!(r.stdout.contains("FROM logs.flows\n"));
    assert!(r
        .stdout
        .contains("RANGE BETWEEN 599999 PRECEDING AND CURRENT ROW"));
    assert_eq!(r.stdout.matches("-- deadbolt detection ").count(), 1);
}

#[test]
fn a_refused_detection_is_an_error_in_its_source_and_the_rest_is_written() {
    let dir = tempfile::tempdir().unwrap();
    let pol = dir.path().join("rules");
    std::fs::create_dir(&pol).unwrap();
    std::fs::write(
        pol.join("a.policy"),
        "detection boundary {\n  title \"t\"\n  severity 5.0\n  from cloudtrail as e\n  where e.eventName matches \"\\\\bStop\"\n}\n\
         detection plain {\n  title \"t\"\n  severity 5.0\n  from cloudtrail as e\n  where e.eventName == \"StopLogging\"\n}\n",
    )
    .unwrap();
    let out = dir.path().join("sql");
    let r = run(&[
        "compile",
        "--target",
        "trino",
        "-p",
        pol.to_str().unwrap(),
        "-o",
        out.to_str().unwrap(),
    ]);
    assert_eq!(r.code, 2, "{}", r.stderr);
    assert!(
        r.stderr
            .contains("detection boundary cannot be compiled for trino"),
        "{}",
        r.stderr
    );
    assert!(r.stderr.contains("a.policy:1:11"), "{}", r.stderr);
    assert!(r.stderr.contains("a word boundary"), "{}", r.stderr);
    assert!(
        r.stderr.contains("1 query for trino written to")
            && r.stderr.contains("1 detection refused"),
        "{}",
        r.stderr
    );
    assert!(out.join("plain.sql").exists() && !out.join("boundary.sql").exists());
}

#[test]
fn bad_arguments_are_errors_that_say_what_to_do() {
    let r = run(&[
        "compile",
        "--target",
        "duckdb",
        "--detection",
        "recon-portscn",
    ]);
    assert_eq!(r.code, 2);
    assert!(
        r.stderr
            .contains("no detection `recon-portscn` (did you mean `recon-portscan`?)"),
        "{}",
        r.stderr
    );
    let r = run(&[
        "compile",
        "--target",
        "duckdb",
        "--table",
        "flowlog=bad name",
    ]);
    assert_eq!(r.code, 2);
    assert!(
        r.stderr.contains("`bad name` is not a table name"),
        "{}",
        r.stderr
    );
    let r = run(&["compile", "--target", "duckdb", "--table", "flows=x"]);
    assert_eq!(r.code, 2);
    assert!(r.stderr.contains("unknown table `flows`: expected one of flowlog, cloudtrail, dns, lists, networks, domains"), "{}", r.stderr);
    let r = run(&[
        "compile",
        "--target",
        "duckdb",
        "--threat-list",
        "ips=/nonexistent/ips.txt",
    ]);
    assert_eq!(r.code, 2);
    assert!(r.stderr.contains("/nonexistent/ips.txt"), "{}", r.stderr);
    let r = run(&["compile", "--target", "mysql"]);
    assert_eq!(r.code, 2);
}
