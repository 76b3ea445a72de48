//! `deadbolt compile`: which detections compile for which target, what is
//! refused and why, and the shape of the queries. Whether the queries mean
//! what the native engine means is checked by running them
//! (tests/python/sql/check.py, in CI).

use std::sync::Arc;

use deadbolt::compile::ir::Detection;
use deadbolt::dsl::{check_sources, PolicySource};
use deadbolt::sql::{compile, Options, Target};

fn catalogue() -> Vec<Detection> {
    let checked = deadbolt::scan::load_policies(&[]).unwrap();
    assert!(!checked.has_errors());
    checked.detections
}

fn detection(text: &str) -> Detection {
    let checked = check_sources(&[PolicySource {
        name: "t.policy".into(),
        text: Arc::from(text),
    }]);
    assert!(
        !checked.has_errors(),
        "{:?}",
        checked
            .diagnostics
            .iter()
            .map(|d| d.short())
            .collect::<Vec<_>>()
    );
    checked.detections.into_iter().next().unwrap()
}

fn refusal(text: &str, target: Target) -> String {
    let r = compile(&detection(text), &Options::new(target)).unwrap_err();
    assert_eq!((r.file.as_str(), r.line), ("t.policy", 1));
    r.reason
}

#[test]
fn the_catalogue_compiles_for_every_target() {
    let ds = catalogue();
    assert_eq!(ds.len(), 14);
    for t in Target::ALL {
        for d in &ds {
            let c = compile(d, &Options::new(t)).unwrap_or_else(|r| panic!("{r}"));
            assert!(c
                .sql
                .starts_with(&format!("-- deadbolt detection {}:", d.id)));
            assert!(c.sql.contains(&format!("SELECT '{}' AS detection", d.id)));
        }
    }
}

#[test]
fn json_documents_per_engine() {
    let d = catalogue()
        .into_iter()
        .find(|d| d.id == "guardduty-disabled")
        .unwrap();
    let spark = compile(&d, &Options::new(Target::Spark)).unwrap().sql;
    assert!(spark.contains("try_parse_json(requestparameters)"));
    assert!(spark.contains("schema_of_variant("));
    let duck = compile(&d, &Options::new(Target::DuckDb)).unwrap().sql;
    assert!(
        duck.contains("CASE WHEN json_valid(requestparameters) THEN json(requestparameters) END")
    );
    let trino = compile(&d, &Options::new(Target::Trino)).unwrap().sql;
    assert!(trino.contains("try(json_parse(requestparameters))"));
    assert!(trino.contains("json_extract(db2_js, '$.enable')"));
}

const HEAD: &str = "detection t {\n  title \"t\"\n  severity 5.0\n";

#[test]
fn thresholds_that_can_turn_false_again_are_refused_unless_over_counts() {
    let distinct_eq = format!(
        "{HEAD}  from flowlog as f\n  group by f.srcaddr window 10m\n  alert when count_distinct(f.dstport) == 3\n}}\n"
    );
    let r = refusal(&distinct_eq, Target::DuckDb);
    assert!(
        r.starts_with("the alert condition can turn false again"),
        "{r}"
    );
    // Over counts alone, records are numbered one by one: exact.
    let count_eq =
        format!("{HEAD}  from flowlog as f\n  group by f.srcaddr window 10m\n  alert when count() == 3\n}}\n");
    let c = compile(&detection(&count_eq), &Options::new(Target::Trino)).unwrap();
    assert!(c
        .sql
        .contains("row_number() OVER (PARTITION BY k0, db_ep ORDER BY t_ms)"));
    assert!(c.sql.contains("counts numbered record by record"));
    // A sum of counters only grows: RANGE frames.
    let sum = format!(
        "{HEAD}  from flowlog as f\n  group by f.srcaddr window 10m\n  alert when sum(f.bytes) >= 1000000\n}}\n"
    );
    let c = compile(&detection(&sum), &Options::new(Target::Athena)).unwrap();
    assert!(c.sql.contains("COALESCE(sum(a0) OVER (PARTITION BY k0, db_ep ORDER BY t_ms RANGE BETWEEN 599999 PRECEDING AND CURRENT ROW), 0) AS g0"));
}

#[test]
fn what_the_tables_or_engines_cannot_say_is_refused_with_the_reason() {
    let cases = [
        (
            "from cloudtrail as e\n  where e.managementEvent == true\n",
            "`managementEvent` is not a column of Athena's cloudtrail_logs DDL",
        ),
        (
            "from cloudtrail as e\n  where e.userIdentity.sessionContext.sourceIdentity exists\n",
            "`userIdentity.sessionContext.sourceIdentity` is not a column of Athena's cloudtrail_logs DDL",
        ),
        (
            "from cloudtrail as e\n  where e.eventName matches \"\\\\bStop\"\n",
            "the regular expression uses a word boundary (\\b, \\B, \\< or \\>), which RE2 and Java define differently",
        ),
        (
            "from cloudtrail as e\n  where e.errorCode == null\n",
            "comparing a table column with null: the table does not tell a JSON null from a missing field",
        ),
        (
            "from flowlog as f\n  where f.ecs_cluster_name exists\n",
            "flow log field `ecs-cluster-name` is not a column of the table's format (give the flow log's format with --flowlog-format)",
        ),
        (
            "from cloudtrail as e\n  where any r in e.resources: r.type == \"AWS::S3::Bucket\"\n",
            "`resources` is an array of structs, which the SQL translation does not read",
        ),
    ];
    for (body, want) in cases {
        let text = format!("{HEAD}  {body}}}\n");
        assert_eq!(refusal(&text, Target::DuckDb), want, "{body}");
    }
}

#[test]
fn a_custom_flow_format_is_the_flow_tables_columns() {
    let text = format!("{HEAD}  from flowlog as f\n  where f.ecs_cluster_name == \"prod\"\n}}\n");
    let mut opts = Options::new(Target::DuckDb);
    opts.flow_format = Some(
        deadbolt::load::logs::FlowFormat::parse_template(
            "${version} ${srcaddr} ${start} ${ecs-cluster-name}",
        )
        .unwrap(),
    );
    let c = compile(&detection(&text), &opts).unwrap();
    assert!(c
        .sql
        .contains("-- Flow log columns: version srcaddr start ecs_cluster_name."));
    assert!(c.sql.contains("NULLIF(ecs_cluster_name, '-') = 'prod'"));
    // No `end` column: the time is `start` alone.
    assert!(c.sql.contains("CAST(\"start\" AS BIGINT) * 1000"));
}

#[test]
fn athena_query_for_root_credential_usage() {
    let d = catalogue()
        .into_iter()
        .find(|d| d.id == "root-credential-usage")
        .unwrap();
    let c = compile(&d, &Options::new(Target::Athena)).unwrap();
    insta::assert_snapshot!(c.sql);
}

#[test]
fn spark_searches_collected_lists_and_keeps_the_filter_above_the_stages() {
    let d = catalogue()
        .into_iter()
        .find(|d| d.id == "malicious-ip-flow")
        .unwrap();
    let c = compile(&d, &Options::new(Target::Spark)).unwrap();
    // Each list once, as a one-row table joined to the records.
    assert!(c
        .sql
        .contains("c0 AS (\n  SELECT (SELECT collect_list(named_struct('f', family"));
    assert!(c
        .sql
        .contains("FROM vpc_flow_logs CROSS JOIN c0 CROSS JOIN c1"));
    assert!(c.sql.contains("exists(db3_nets, db_n -> db_n.f = "));
    assert!(c
        .sql
        .contains("WHERE hit AND t_ms IS NOT NULL AND db_barrier >= 0"));
    assert!(!c.sql.contains("EXISTS (SELECT"));
    // Elsewhere, a correlated EXISTS over the ranges.
    let t = compile(&d, &Options::new(Target::Trino)).unwrap();
    assert!(t.sql.contains("EXISTS (SELECT 1 FROM deadbolt_networks db_n WHERE db_n.kind = 'threat' AND db_n.list_name = 'ips'"));
    assert!(t.sql.contains("db_n.kind = 'trusted'"));
}
