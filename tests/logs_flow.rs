//! VPC flow log loading: formats, typing, gzip, errors, long lines, parallel chunks.

mod logs_common;

use std::net::IpAddr;

use deadbolt::load::logs::{sniff, FlowFormat, LogKind, LogOptions};
use logs_common::{fixture, gzip, read_flow, read_flow_bytes, Rec, Val};

fn ip(s: &str) -> Val {
    Val::Ip(s.parse::<IpAddr>().unwrap())
}

fn s(v: &str) -> Val {
    Val::Str(v.to_string())
}

fn lines(recs: &[Rec]) -> Vec<u32> {
    recs.iter().map(|r| r.line).collect()
}

#[test]
fn default_format_is_typed_with_nodata_skipdata_and_ipv6() {
    let out = read_flow(&fixture("flow/default-v2.log"), &LogOptions::default());
    assert_eq!(out.errors, Vec::<String>::new());
    assert_eq!(lines(&out.records), vec![1, 2, 3, 4, 5, 6, 7]);
    let r = &out.records[0];
    assert_eq!(
        r.values,
        vec![
            ("version".into(), Val::Int(2)),
            ("account-id".into(), s("123456789010")),
            ("interface-id".into(), s("eni-1235b8ca123456789")),
            ("srcaddr".into(), ip("172.31.16.139")),
            ("dstaddr".into(), ip("172.31.16.21")),
            ("srcport".into(), Val::Int(20641)),
            ("dstport".into(), Val::Int(22)),
            ("protocol".into(), Val::Int(6)),
            ("packets".into(), Val::Int(20)),
            ("bytes".into(), Val::Int(4249)),
            ("start".into(), Val::Int(1_418_530_010)),
            ("end".into(), Val::Int(1_418_530_070)),
            ("action".into(), s("ACCEPT")),
            ("log-status".into(), s("OK")),
        ]
    );
    assert_eq!(r.time, Some(1_418_530_010));
    assert_eq!(r.status, "Ok");
    // NODATA and SKIPDATA records are kept, their `-` fields absent.
    assert_eq!(out.records[2].status, "NoData");
    assert_eq!(out.records[2].get("srcaddr"), Val::Absent);
    assert_eq!(out.records[2].get("action"), Val::Absent);
    assert_eq!(out.records[2].time, Some(1_431_280_876));
    assert_eq!(out.records[3].status, "SkipData");
    assert_eq!(out.records[1].get("action"), s("REJECT"));
    assert_eq!(out.records[4].get("protocol"), Val::Int(1));
    assert_eq!(
        out.records[6].get("srcaddr"),
        ip("2001:db8:1234:a100:8d6e:3477:df66:f105")
    );
    assert_eq!(
        out.records[6].get("dstaddr"),
        ip("2001:db8:1234:a102:3304:8879:34cf:4071")
    );
}

#[test]
fn header_line_gives_a_custom_v5_order() {
    let out = read_flow(
        &fixture("flow/custom-v5-header.log"),
        &LogOptions::default(),
    );
    assert_eq!(out.errors, Vec::<String>::new());
    assert_eq!(lines(&out.records), vec![2, 3]);
    let (a, b) = (&out.records[0], &out.records[1]);
    assert_eq!(a.get("version"), Val::Int(5));
    assert_eq!(a.get("srcaddr"), ip("52.95.128.179"));
    assert_eq!(a.get("dstport"), Val::Int(34210));
    assert_eq!(a.get("type"), s("IPv4"));
    assert_eq!(a.get("region"), s("ap-southeast-2"));
    assert_eq!(a.get("sublocation-type"), Val::Absent);
    assert_eq!(a.get("tcp-flags"), Val::Int(19));
    assert_eq!(a.get("pkt-src-aws-service"), s("S3"));
    assert_eq!(a.get("traffic-path"), Val::Absent);
    assert_eq!(a.get("flow-direction"), s("ingress"));
    assert_eq!(b.get("traffic-path"), Val::Int(8));
    assert_eq!(b.get("pkt-dst-aws-service"), s("S3"));
    assert_eq!(b.get("flow-direction"), s("egress"));
    assert_eq!(a.time, Some(1_616_729_292));
    // Fields not in the format are absent.
    assert_eq!(a.get("ecs-cluster-name"), Val::Absent);
    assert_eq!(a.values.len(), 29);
}

#[test]
fn header_v3_and_doubled_spaces() {
    let out = read_flow(
        &fixture("flow/tcp-flags-v3-header.log"),
        &LogOptions::default(),
    );
    assert_eq!(out.errors, Vec::<String>::new());
    assert_eq!(lines(&out.records), vec![2, 3, 4, 5]);
    let flags: Vec<Val> = out.records.iter().map(|r| r.get("tcp-flags")).collect();
    assert_eq!(
        flags,
        vec![Val::Int(2), Val::Int(18), Val::Int(1), Val::Int(19)]
    );
    assert_eq!(out.records[3].get("dstport"), Val::Int(43638));
    assert_eq!(out.records[3].get("pkt-srcaddr"), ip("10.0.0.62"));
    assert_eq!(out.records[0].get("packets"), Val::Int(8));
    assert_eq!(out.records[0].get("bytes"), Val::Int(568));
}

fn ecs_format(with_reject_reason: bool) -> FlowFormat {
    let mut t = String::from("${version} ${account-id} ${interface-id} ${srcaddr} ${dstaddr} ${srcport} ${dstport} ${protocol} ${packets} ${bytes} ${start} ${end} ${action} ${log-status} ${vpc-id} ${subnet-id} ${instance-id} ${tcp-flags} ${type} ${pkt-srcaddr} ${pkt-dstaddr} ${region} ${az-id} ${sublocation-type} ${sublocation-id} ${pkt-src-aws-service} ${pkt-dst-aws-service} ${flow-direction} ${traffic-path} ${ecs-cluster-arn} ${ecs-cluster-name} ${ecs-container-instance-arn} ${ecs-container-instance-id} ${ecs-container-id} ${ecs-second-container-id} ${ecs-service-name} ${ecs-task-definition-arn} ${ecs-task-arn} ${ecs-task-id}");
    if with_reject_reason {
        t.push_str(" ${reject-reason}");
    }
    FlowFormat::parse_template(&t).unwrap()
}

#[test]
fn flowlog_format_option_reads_ecs_v7_and_v8_fields() {
    let opts = LogOptions {
        flowlog_format: Some(ecs_format(false)),
        ..LogOptions::default()
    };
    let out = read_flow(&fixture("flow/ecs-v7.log"), &opts);
    assert_eq!(out.errors, Vec::<String>::new());
    assert_eq!(lines(&out.records), vec![1, 2, 3]);
    let r = &out.records[0];
    assert_eq!(r.get("srcaddr"), ip("1.128.0.0"));
    assert_eq!(r.get("dstaddr"), ip("2a02:cf40::"));
    assert_eq!(r.get("interface-id"), Val::Absent);
    assert_eq!(r.get("ecs-cluster-name"), s("frontend-cluster"));
    assert_eq!(r.get("ecs-task-id"), s("6adbd0d6-211"));
    assert_eq!(r.get("protocol"), Val::Int(17));
    assert_eq!(out.records[2].status, "SkipData");
    assert_eq!(ecs_format(false).version(), 7);

    let opts = LogOptions {
        flowlog_format: Some(ecs_format(true)),
        ..LogOptions::default()
    };
    let out = read_flow(&fixture("flow/reject-reason-v8.log"), &opts);
    assert_eq!(out.errors, Vec::<String>::new());
    assert_eq!(out.records[0].get("reject-reason"), s("BPA"));
    assert_eq!(out.records[0].get("action"), s("REJECT"));

    // Without the format, the default is assumed and the message says what to do.
    let out = read_flow(&fixture("flow/ecs-v7.log"), &LogOptions::default());
    assert_eq!(out.records.len(), 0);
    assert_eq!(out.errors.len(), 3);
    assert_eq!(
        out.errors[0],
        "flow/ecs-v7.log:1:1: expected 14 space-separated fields (version account-id interface-id ... log-status), found 39; this file has no header line, so the default version-2 format was assumed: for a custom format keep the header line AWS writes or pass --flowlog-format '${version} ${srcaddr} ...'"
    );
}

#[test]
fn a_line_with_too_few_fields_is_one_error_and_the_rest_loads() {
    let out = read_flow(&fixture("flow/too-few-fields.log"), &LogOptions::default());
    assert_eq!(lines(&out.records), vec![1, 3]);
    assert_eq!(
        out.errors,
        vec!["flow/too-few-fields.log:2:1: expected 14 space-separated fields (version account-id interface-id ... log-status), found 13; this file has no header line, so the default version-2 format was assumed: for a custom format keep the header line AWS writes or pass --flowlog-format '${version} ${srcaddr} ...'"]
    );
}

#[test]
fn a_header_naming_an_unknown_field_is_an_error_at_that_field() {
    let out = read_flow(
        &fixture("flow/unknown-header-field.log"),
        &LogOptions::default(),
    );
    assert!(out.records.is_empty());
    assert_eq!(out.errors.len(), 1);
    let e = &out.errors[0];
    assert!(
        e.starts_with("flow/unknown-header-field.log:1:57: unknown field `dstprt` in the flow log header (did you mean `dstport`?); known fields: version, account-id, interface-id, srcaddr,"),
        "{e}"
    );
    assert!(
        e.ends_with("next-hop-vpc-id, next-hop-interface-type"),
        "{e}"
    );
}

#[test]
fn out_of_range_and_non_numeric_values_are_record_errors() {
    let out = read_flow(&fixture("flow/bad-values.log"), &LogOptions::default());
    assert_eq!(lines(&out.records), vec![1, 6]);
    assert_eq!(
        out.errors,
        vec![
            "flow/bad-values.log:2:65: field srcport (field 6 of 14): expected a port number 0-65535, found \"70000\"",
            "flow/bad-values.log:3:38: field srcaddr (field 4 of 14): expected an IPv4 or IPv6 address, found \"172.31.16.300\"",
            "flow/bad-values.log:4:71: field dstport (field 7 of 14): expected a port number 0-65535, found \"ssh\"",
            "flow/bad-values.log:5:106: field action (field 13 of 14): expected ACCEPT, REJECT or -, found \"DROP\"",
        ]
    );
}

#[test]
fn gzip_is_read_transparently_whatever_the_name() {
    let plain = read_flow(&fixture("flow/default-v2.log"), &LogOptions::default());
    let gz = read_flow(&fixture("flow/default-v2.log.gz"), &LogOptions::default());
    assert_eq!(gz.errors, Vec::<String>::new());
    assert_eq!(gz.records, plain.records);
    // Magic bytes decide, not the name: gzip data in a `.log`.
    let bytes = gzip(&std::fs::read(fixture("flow/custom-v5-header.log")).unwrap());
    let out = read_flow_bytes(bytes, "named.log", &LogOptions::default());
    assert_eq!(out.errors, Vec::<String>::new());
    assert_eq!(lines(&out.records), vec![2, 3]);
}

#[test]
fn a_truncated_gzip_names_the_file_and_the_last_good_line() {
    let out = read_flow(&fixture("flow/truncated.log.gz"), &LogOptions::default());
    let n = out.records.len() as u32;
    assert!(n > 100 && n < 2000, "{n}");
    assert_eq!(lines(&out.records), (1..=n).collect::<Vec<_>>());
    assert_eq!(
        out.errors,
        vec![format!(
            "flow/truncated.log.gz: truncated gzip file: the compressed data ends early; the last complete line is line {n}, the rest is missing (re-download or re-copy the file)"
        )]
    );
}

#[test]
fn records_keep_their_lines_and_times_out_of_order() {
    let text = "\
2 1 eni-1 10.0.0.1 10.0.0.2 40000 22 6 1 60 1700000600 1700000660 REJECT OK
2 1 eni-1 10.0.0.1 10.0.0.2 40001 23 6 1 60 1700000000 1700000060 REJECT OK

2 1 eni-1 10.0.0.1 10.0.0.2 40002 24 6 1 60 1700000300 1700000360 REJECT OK\r
";
    let out = read_flow_bytes(text.as_bytes().to_vec(), "ooo.log", &LogOptions::default());
    assert_eq!(out.errors, Vec::<String>::new());
    let got: Vec<(u32, Option<i64>)> = out.records.iter().map(|r| (r.line, r.time)).collect();
    assert_eq!(
        got,
        vec![
            (1, Some(1_700_000_600)),
            (2, Some(1_700_000_000)),
            (4, Some(1_700_000_300))
        ]
    );
    assert_eq!(out.records[2].get("dstport"), Val::Int(24));
    assert_eq!(out.records[2].get("log-status"), s("OK"));
}

#[test]
fn concatenated_s3_files_repeat_their_header_harmlessly() {
    let one = std::fs::read_to_string(fixture("flow/custom-v5-header.log")).unwrap();
    let out = read_flow_bytes(
        format!("{one}{one}").into_bytes(),
        "cat.log",
        &LogOptions::default(),
    );
    assert_eq!(out.errors, Vec::<String>::new());
    assert_eq!(lines(&out.records), vec![2, 3, 5, 6]);
    // A header of another format in the middle is an error that says so.
    let other = std::fs::read_to_string(fixture("flow/tcp-flags-v3-header.log")).unwrap();
    let out = read_flow_bytes(
        format!("{one}{other}").into_bytes(),
        "mixed.log",
        &LogOptions::default(),
    );
    assert_eq!(lines(&out.records), vec![2, 3]);
    assert_eq!(out.errors.len(), 5);
    assert!(out.errors[0].starts_with("mixed.log:4:1: a header line in the middle of the file, naming other fields than the file's format"), "{}", out.errors[0]);
}

/// A reader producing `len` bytes of one line with no newline, then a good
/// record: a line far larger than memory would allow if it were kept.
struct HugeLine {
    left: u64,
    tail: std::io::Cursor<Vec<u8>>,
}

impl std::io::Read for HugeLine {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        if self.left > 0 {
            let n = (buf.len() as u64).min(self.left) as usize;
            buf[..n].fill(b'x');
            self.left -= n as u64;
            return Ok(n);
        }
        self.tail.read(buf)
    }
}

fn huge_line_reader(len: u64) -> HugeLine {
    HugeLine {
        left: len,
        tail: std::io::Cursor::new(
            b"\n2 1 eni-1 10.0.0.1 10.0.0.2 40000 22 6 1 60 1700000600 1700000660 REJECT OK\n"
                .to_vec(),
        ),
    }
}

#[test]
fn an_over_long_line_is_an_error_and_skipped_unread() {
    // 40 MiB against a 1 MiB bound exercises the skipping path quickly.
    let opts = LogOptions {
        max_line_bytes: 1 << 20,
        chunk_bytes: 64 * 1024,
        ..LogOptions::default()
    };
    let errors = collect_from(Box::new(huge_line_reader(40 << 20)), &opts);
    assert_eq!(errors.0, vec![2]);
    assert_eq!(
        errors.1,
        vec!["big.log:1:1: line of 40 MiB is longer than the 1 MiB limit for one record; skipped without reading it into memory"]
    );
}

#[test]
fn a_2gb_line_does_not_exhaust_memory() {
    // The default bound (16 MiB) and a real 2 GiB line, streamed from a reader.
    let errors = collect_from(Box::new(huge_line_reader(2 << 30)), &LogOptions::default());
    assert_eq!(errors.0, vec![2]);
    assert_eq!(
        errors.1,
        vec!["big.log:1:1: line of 2 GiB is longer than the 16 MiB limit for one record; skipped without reading it into memory"]
    );
}

fn collect_from(r: Box<dyn std::io::Read + Send>, opts: &LogOptions) -> (Vec<u32>, Vec<String>) {
    use deadbolt::load::logs::{read_log_from, Chunk};
    let lines = std::sync::Mutex::new(Vec::new());
    let errs = read_log_from(r, "big.log", LogKind::FlowLog, opts, &|c| {
        if let Chunk::Flow(recs) = c {
            lines.lock().unwrap().extend(recs.iter().map(|r| r.line));
        }
    });
    (
        lines.into_inner().unwrap(),
        errs.iter().map(|e| e.to_string()).collect(),
    )
}

/// A log with records, blank lines, CRLF endings and bad lines, for comparing
/// small-chunk parallel reading with one-chunk sequential reading.
fn mixed_log(n: usize) -> Vec<u8> {
    let mut out = String::new();
    for i in 0..n {
        match i % 97 {
            13 => out.push('\n'),
            41 => out.push_str("2 1 eni-1 10.0.0.1\n"),
            59 => out.push_str(&format!("2 1 eni-1 10.0.0.{} 10.0.0.2 1 22 6 1 60 1700000000 1700000060 ACCEPT OK\r\n", i % 250)),
            _ => out.push_str(&format!(
                "2 123456789012 eni-{i:08x} 198.51.{}.{} 2001:db8::{:x} {} {} 6 {} {} {} {} {} OK\n",
                i % 200,
                i % 250,
                i,
                1024 + i % 60000,
                [22, 80, 443, 3389][i % 4],
                1 + i % 9,
                60 + i % 1000,
                1_700_000_000 + i,
                1_700_000_060 + i,
                if i % 3 == 0 { "REJECT" } else { "ACCEPT" }
            )),
        }
    }
    out.into_bytes()
}

#[test]
fn parallel_chunks_give_the_same_records_and_lines_as_one_sequential_pass() {
    let data = mixed_log(30_000);
    let sequential = rayon::ThreadPoolBuilder::new()
        .num_threads(1)
        .build()
        .unwrap()
        .install(|| {
            read_flow_bytes(
                data.clone(),
                "mixed.log",
                &LogOptions {
                    chunk_bytes: 1 << 30,
                    ..LogOptions::default()
                },
            )
        });
    let parallel = rayon::ThreadPoolBuilder::new()
        .num_threads(4)
        .build()
        .unwrap()
        .install(|| {
            read_flow_bytes(
                data.clone(),
                "mixed.log",
                &LogOptions {
                    chunk_bytes: 3000,
                    max_errors: 1000,
                    ..LogOptions::default()
                },
            )
        });
    assert!(parallel.chunks > 100, "{}", parallel.chunks);
    let blank = (0..30_000).filter(|i| i % 97 == 13).count();
    let short = (0..30_000).filter(|i| i % 97 == 41).count();
    assert_eq!(sequential.records.len(), 30_000 - blank - short);
    assert_eq!(parallel.records, sequential.records);
    // The same errors; the sequential run lists the first 100 and counts the rest.
    assert_eq!(parallel.errors.len(), short);
    assert_eq!(&parallel.errors[..100], &sequential.errors[..100]);
    assert_eq!(
        sequential.errors[100],
        format!("mixed.log: {} more malformed records not shown ({short} in this file; the first 100 are listed)", short - 100)
    );
    // Gzip input: decompressed in one thread, parsed in several, same result.
    let gz = rayon::ThreadPoolBuilder::new()
        .num_threads(3)
        .build()
        .unwrap()
        .install(|| {
            read_flow_bytes(
                gzip(&data),
                "mixed.log.gz",
                &LogOptions {
                    chunk_bytes: 5000,
                    ..LogOptions::default()
                },
            )
        });
    assert_eq!(gz.records, sequential.records);
}

#[test]
fn sniffing_recognises_flow_logs() {
    for f in [
        "flow/default-v2.log",
        "flow/custom-v5-header.log",
        "flow/tcp-flags-v3-header.log",
        "flow/unknown-header-field.log",
        "flow/default-v2.log.gz",
        "flow/truncated.log.gz",
        "flow/ecs-v7.log",
    ] {
        let head = deadbolt::load::logs::read_head(&fixture(f), 64 * 1024).unwrap();
        assert_eq!(sniff(f, &head), Some(LogKind::FlowLog), "{f}");
        // The raw (compressed) head sniffs the same.
        let raw = std::fs::read(fixture(f)).unwrap();
        assert_eq!(sniff(f, &raw), Some(LogKind::FlowLog), "{f} raw");
    }
}

#[test]
fn cloudwatch_logs_exports_with_a_timestamp_before_each_record() {
    let text = "\
2014-12-14T04:06:50.000Z 2 123456789010 eni-1235b8ca123456789 172.31.16.139 172.31.16.21 20641 22 6 20 4249 1418530010 1418530070 ACCEPT OK
2014-12-14T04:06:51.000Z 2 123456789010 eni-1235b8ca123456789 172.31.9.69 172.31.9.12 49761 3389 6 20 4249 1418530010 1418530070 REJECT OK
2014-12-14T04:06:52.000Z 2 123456789010 eni-1235b8ca123456789 172.31.9.69 172.31.9.12 49761 99999 6 20 4249 1418530010 1418530070 REJECT OK
";
    let out = read_flow_bytes(
        text.as_bytes().to_vec(),
        "export.log",
        &LogOptions::default(),
    );
    assert_eq!(lines(&out.records), vec![1, 2]);
    assert_eq!(out.records[1].get("dstport"), Val::Int(3389));
    assert_eq!(out.records[0].get("version"), Val::Int(2));
    // Columns still count from the start of the line as written.
    assert_eq!(
        out.errors,
        vec!["export.log:3:93: field dstport (field 7 of 14): expected a port number 0-65535, found \"99999\""]
    );
}

#[test]
fn parquet_flow_logs_are_refused_with_what_to_do() {
    let out = read_flow_bytes(
        b"PAR1\x15\x04\x15\x10binary".to_vec(),
        "flow.parquet",
        &LogOptions::default(),
    );
    assert!(out.records.is_empty());
    assert_eq!(
        out.errors,
        vec!["flow.parquet: an Apache Parquet flow log: deadbolt reads flow logs in the text format (the default when AWS delivers them to S3 or CloudWatch Logs); deliver the logs as text or convert the file"]
    );
}

/// Random lines never panic the flow parser; errors stay on real lines.
#[test]
fn random_lines_never_panic() {
    let mut state: u64 = 0x243F_6A88_85A3_08D3;
    let mut next = || {
        state = state
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        (state >> 33) as u32
    };
    let alphabet: &[u8] = b"0123456789 .:-abcdefABCDEF\t\r\nACCEPTREJECTOKNODATA";
    let header = "version srcaddr dstport action log-status\n";
    for round in 0..500 {
        let len = (next() % 400) as usize;
        let body: Vec<u8> = (0..len)
            .map(|_| {
                if next() % 11 == 0 {
                    (next() % 256) as u8
                } else {
                    alphabet[(next() as usize) % alphabet.len()]
                }
            })
            .collect();
        let mut bytes = if round % 2 == 0 {
            header.as_bytes().to_vec()
        } else {
            Vec::new()
        };
        bytes.extend_from_slice(&body);
        let lines = bytes.iter().filter(|&&b| b == b'\n').count() as u32 + 1;
        let out = read_flow_bytes(
            bytes,
            "fuzz.log",
            &LogOptions {
                chunk_bytes: 64,
                max_line_bytes: 100,
                ..LogOptions::default()
            },
        );
        for r in &out.records {
            assert!(r.line >= 1 && r.line <= lines);
        }
    }
}

#[test]
fn binary_files_are_one_error() {
    let mut bytes = b"PK\x03\x04\x14\x00\x00\x00\x08\x00".to_vec();
    bytes.extend(std::iter::repeat_n(0u8, 5000));
    let out = read_flow_bytes(bytes, "plan.zip", &LogOptions::default());
    assert!(out.records.is_empty());
    assert_eq!(
        out.errors,
        vec!["plan.zip: binary data (a NUL byte at offset 5), not a text flow log"]
    );
}
