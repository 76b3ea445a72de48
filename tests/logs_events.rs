//! CloudTrail and Route 53 Resolver query log loading.

mod logs_common;

use deadbolt::doc::{Node, Pos, Value};
use deadbolt::load::logs::{read_head, sniff, Event, LogKind, LogOptions};
use logs_common::{display, fixture, gzip, read_events};

fn str_at<'a>(e: &'a Event, path: &[&str]) -> Option<&'a str> {
    let mut v: &Value = &e.value;
    for k in path {
        v = v.get(k)?;
    }
    v.as_str()
}

fn names(evs: &[Event]) -> Vec<&str> {
    evs.iter()
        .map(|e| str_at(e, &["eventName"]).unwrap_or("?"))
        .collect()
}

fn lines(evs: &[Event]) -> Vec<u32> {
    evs.iter().map(|e| e.line).collect()
}

const ALL: [&str; 6] = [
    "ConsoleLogin",
    "StopLogging",
    "CreateAccessKey",
    "AttachUserPolicy",
    "DeleteDetector",
    "GetBucketAcl",
];

#[test]
fn a_records_file_on_one_line_streams_every_event_with_file_positions() {
    let out = read_events(
        &fixture("cloudtrail/records.json"),
        LogKind::CloudTrail,
        &LogOptions::default(),
    );
    assert_eq!(out.errors, Vec::<String>::new());
    assert_eq!(names(&out.records), ALL);
    assert!(out.records.iter().all(|e| e.line == 1));
    let text = std::fs::read_to_string(fixture("cloudtrail/records.json")).unwrap();
    // Each event's value starts at its opening brace, at its real column.
    for e in &out.records {
        let col = e.value.pos.col as usize;
        assert_eq!(
            &text[col - 1..col + 15],
            "{\"eventVersion\":",
            "{:?}",
            e.value.pos
        );
        // A value inside the event points at the value in the file.
        let name = e.value.get("eventName").unwrap();
        let at = name.pos.col as usize - 1;
        assert!(text[at..].starts_with(&format!("\"{}\"", name.as_str().unwrap())));
    }
    assert_eq!(out.records[0].value.pos, Pos::new(1, 13));
    assert_eq!(out.records[1].time, Some(1_709_283_821_000));
    assert_eq!(
        str_at(&out.records[0], &["userIdentity", "type"]),
        Some("Root")
    );
    // sourceIPAddress is kept whatever it holds.
    let ips: Vec<&str> = out
        .records
        .iter()
        .map(|e| str_at(e, &["sourceIPAddress"]).unwrap())
        .collect();
    assert_eq!(
        ips,
        vec![
            "198.51.100.7",
            "203.0.113.66",
            "203.0.113.66",
            "2001:db8::42",
            "ec2-203-0-113-9.compute-1.amazonaws.com",
            "AWS Internal"
        ]
    );
}

#[test]
fn pretty_records_json_lines_arrays_and_single_events() {
    let pretty = read_events(
        &fixture("cloudtrail/records-pretty.json"),
        LogKind::CloudTrail,
        &LogOptions::default(),
    );
    assert_eq!(pretty.errors, Vec::<String>::new());
    assert_eq!(names(&pretty.records), ALL);
    assert_eq!(lines(&pretty.records), vec![3, 33, 61, 96, 137, 164]);
    let e = &pretty.records[1];
    assert_eq!(e.value.pos, Pos::new(33, 5));
    let en = e.value.entry("eventName").unwrap();
    assert_eq!(
        (en.key_pos, en.value.pos),
        (Pos::new(45, 7), Pos::new(45, 20))
    );

    let jsonl = read_events(
        &fixture("cloudtrail/events.jsonl"),
        LogKind::CloudTrail,
        &LogOptions::default(),
    );
    assert_eq!(jsonl.errors, Vec::<String>::new());
    assert_eq!(names(&jsonl.records), ALL);
    assert_eq!(lines(&jsonl.records), vec![1, 2, 3, 4, 5, 6]);

    let arr = read_events(
        &fixture("cloudtrail/array.json"),
        LogKind::CloudTrail,
        &LogOptions::default(),
    );
    assert_eq!(arr.errors, Vec::<String>::new());
    assert_eq!(names(&arr.records), &ALL[..3]);
    assert_eq!(arr.records[0].value.pos, Pos::new(2, 5));

    let one = read_events(
        &fixture("cloudtrail/single-event.json"),
        LogKind::CloudTrail,
        &LogOptions::default(),
    );
    assert_eq!(one.errors, Vec::<String>::new());
    assert_eq!(names(&one.records), vec!["StopLogging"]);
    assert_eq!(one.records[0].line, 1);
    // The same events whatever the container.
    let strip = |evs: &[Event]| {
        evs.iter()
            .map(|e| (e.time, str_at(e, &["eventID"]).map(str::to_string)))
            .collect::<Vec<_>>()
    };
    assert_eq!(strip(&pretty.records), strip(&jsonl.records));
}

#[test]
fn one_broken_event_among_good_ones_is_one_error_with_its_line() {
    let out = read_events(
        &fixture("cloudtrail/broken-event.json"),
        LogKind::CloudTrail,
        &LogOptions::default(),
    );
    assert_eq!(
        names(&out.records),
        vec!["ConsoleLogin", "CreateAccessKey", "AttachUserPolicy"]
    );
    assert_eq!(
        out.errors,
        vec!["cloudtrail/broken-event.json:45:20: expected a JSON value (object, array, string, number, true, false or null), found ','; the event starting at line 33 is skipped"]
    );
}

#[test]
fn structurally_broken_events_resynchronise_on_the_next_event() {
    let dir = tempfile::tempdir().unwrap();
    // An unbalanced bracket inside the second event of a one-line Records file.
    let text = std::fs::read_to_string(fixture("cloudtrail/records.json")).unwrap();
    let broken = text.replacen(
        "\"requestParameters\":{\"name\"",
        "\"requestParameters\":[{\"name\"",
        1,
    );
    assert_ne!(broken, text);
    let path = dir.path().join("ct.json");
    std::fs::write(&path, &broken).unwrap();
    let out = read_events(&path, LogKind::CloudTrail, &LogOptions::default());
    let mut want = ALL.to_vec();
    want.remove(1);
    assert_eq!(names(&out.records), want);
    assert_eq!(out.errors.len(), 1, "{:?}", out.errors);
    assert!(out.errors[0].contains("mismatched '}': expected ']' or more of the value; the event starting at line 1 is skipped"), "{:?}", out.errors);

    // JSON lines: a line cut short is one error, the next line loads.
    let lines_text = std::fs::read_to_string(fixture("cloudtrail/events.jsonl")).unwrap();
    let mut ls: Vec<&str> = lines_text.lines().collect();
    let cut = &ls[2][..ls[2].len() / 2];
    ls[2] = cut;
    let path = dir.path().join("ct.jsonl");
    std::fs::write(&path, ls.join("\n")).unwrap();
    let out = read_events(&path, LogKind::CloudTrail, &LogOptions::default());
    assert_eq!(lines(&out.records), vec![1, 2, 4, 5, 6]);
    assert_eq!(out.errors.len(), 1, "{:?}", out.errors);
    assert!(
        out.errors[0].starts_with(&format!("{}:3:", display(&path))),
        "{:?}",
        out.errors
    );
}

#[test]
fn gzip_and_truncated_gzip() {
    let dir = tempfile::tempdir().unwrap();
    let plain = std::fs::read(fixture("cloudtrail/records-pretty.json")).unwrap();
    let path = dir.path().join("ct.json.gz");
    std::fs::write(&path, gzip(&plain)).unwrap();
    let out = read_events(&path, LogKind::CloudTrail, &LogOptions::default());
    assert_eq!(out.errors, Vec::<String>::new());
    assert_eq!(names(&out.records), ALL);

    // Many events, cut in the middle of the compressed stream.
    let mut big = String::from("{\"Records\":[\n");
    let ev = std::fs::read_to_string(fixture("cloudtrail/single-event.json")).unwrap();
    for i in 0..2000 {
        if i > 0 {
            big.push_str(",\n");
        }
        big.push_str(&ev.trim().replace("a1b2c3d4-0002", &format!("{i:08}-0002")));
    }
    big.push_str("]}\n");
    let gz = gzip(big.as_bytes());
    std::fs::write(&path, &gz[..gz.len() / 2]).unwrap();
    let out = read_events(&path, LogKind::CloudTrail, &LogOptions::default());
    let n = out.records.len();
    assert!(n > 100 && n < 2000, "{n}");
    let last_end = out.records.last().unwrap().line + ev.trim().lines().count() as u32 - 1;
    assert_eq!(
        out.errors,
        vec![format!(
            "{}: truncated gzip file: the compressed data ends early; the last complete event ends on line {last_end}, the rest is missing (re-download or re-copy the file)",
            display(&path)
        )]
    );
}

#[test]
fn the_records_array_is_never_one_record() {
    // A Records file far larger than the record bound still loads: events are
    // cut out one by one.
    let dir = tempfile::tempdir().unwrap();
    let ev = std::fs::read_to_string(fixture("cloudtrail/single-event.json")).unwrap();
    let one_line: String = ev.split_whitespace().collect::<Vec<_>>().join(" ");
    let big = format!(
        "{{\"Records\":[{}]}}",
        vec![one_line.as_str(); 5000].join(",")
    );
    assert!(big.len() > 2 << 20);
    let path = dir.path().join("big.json");
    std::fs::write(&path, &big).unwrap();
    let opts = LogOptions {
        max_line_bytes: 64 * 1024,
        chunk_bytes: 64 * 1024,
        ..LogOptions::default()
    };
    let out = read_events(&path, LogKind::CloudTrail, &opts);
    assert_eq!(out.errors, Vec::<String>::new());
    assert_eq!(out.records.len(), 5000);
    // Columns keep counting along the one line.
    let last = out.records.iter().map(|e| e.value.pos.col).max().unwrap() as usize;
    assert_eq!(last, big.len() - one_line.len() - 1);
}

#[test]
fn a_digest_file_is_not_taken_for_events() {
    let out = read_events(
        &fixture("cloudtrail/digest.json"),
        LogKind::CloudTrail,
        &LogOptions::default(),
    );
    assert!(out.records.is_empty());
    assert_eq!(
        out.errors,
        vec!["cloudtrail/digest.json:1:1: not a CloudTrail event: expected an object with eventVersion, eventSource and eventName, found keys awsAccountId, digestStartTime, digestEndTime, digestS3Bucket, digestS3Object, digestPublicKeyFingerprint, ..."]
    );
    let head = read_head(&fixture("cloudtrail/digest.json"), 4096).unwrap();
    assert_eq!(sniff("digest.json", &head), None);
}

#[test]
fn route53_query_names_are_normalised_and_ports_kept_as_strings() {
    let out = read_events(
        &fixture("route53/resolver-queries.log"),
        LogKind::Route53,
        &LogOptions::default(),
    );
    assert_eq!(out.errors, Vec::<String>::new());
    assert_eq!(lines(&out.records), vec![1, 2, 3, 4, 5]);
    let q: Vec<(&str, &str)> = out
        .records
        .iter()
        .map(|e| {
            (
                str_at(e, &["query_name"]).unwrap(),
                str_at(e, &["query_name_raw"]).unwrap(),
            )
        })
        .collect();
    assert_eq!(
        q,
        vec![
            ("does-not-exist.abc.com", "does-not-exist.abc.com."),
            (
                "amazonlinux-2-repos-us-east-1.s3.dualstack.us-east-1.amazonaws.com",
                "Amazonlinux-2-Repos-US-East-1.s3.dualstack.us-east-1.amazonaws.com."
            ),
            ("test.example.com", "test.example.com."),
            ("15.199.16.175.in-addr.arpa", "15.199.16.175.in-addr.arpa."),
            (
                "6.c.f.6.a.9.0.e.2.b.9.a.2.f.1.9.2.0.0.4.d.d.a.0.0.4.f.c.2.0.a.2.ip6.arpa",
                "6.c.f.6.a.9.0.e.2.b.9.a.2.f.1.9.2.0.0.4.d.d.a.0.0.4.f.c.2.0.a.2.ip6.arpa"
            ),
        ]
    );
    let e = &out.records[0];
    assert_eq!(str_at(e, &["srcport"]), Some("48701"));
    assert_eq!(e.value.get("srcport_num").unwrap().node, Node::Int(48701));
    assert_eq!(e.time, Some(1_639_262_783_000));
    assert_eq!(out.records[3].time, Some(1_612_461_115_000));
    assert_eq!(str_at(&out.records[4], &["srcaddr"]), Some("2001:db8::15"));
    // The normalised name keeps the position of the name in the file.
    assert_eq!(e.value.get("query_name").unwrap().pos, Pos::new(1, 150));
    assert_eq!(
        str_at(&out.records[3], &["srcids", "instance"]),
        Some("i-0d15cd0d3example")
    );
}

#[test]
fn route53_records_that_are_not_queries_are_errors() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("r53.log");
    let good = std::fs::read_to_string(fixture("route53/resolver-queries.log")).unwrap();
    let first = good.lines().next().unwrap();
    std::fs::write(
        &path,
        format!(
            "{first}\n{{\"version\":\"1.1\",\"srcaddr\":\"10.0.0.1\"}}\n{}\n{first}\n",
            first.replace("2021-12-11T22:46:23Z", "11/12/2021")
        ),
    )
    .unwrap();
    let out = read_events(&path, LogKind::Route53, &LogOptions::default());
    assert_eq!(lines(&out.records), vec![1, 4]);
    let d = display(&path);
    assert_eq!(
        out.errors,
        vec![
            format!("{d}:2:1: not a Route 53 Resolver query log record: expected an object with query_name, srcaddr and query_timestamp, found keys version, srcaddr"),
            format!("{d}:3:1: query_timestamp at line 3: expected an RFC 3339 time such as 2024-05-01T12:00:00Z, found \"11/12/2021\""),
        ]
    );
}

#[test]
fn sniffing_recognises_cloudtrail_and_route53() {
    for f in [
        "records.json",
        "records-pretty.json",
        "events.jsonl",
        "array.json",
        "single-event.json",
        "broken-event.json",
    ] {
        let p = fixture(&format!("cloudtrail/{f}"));
        let head = read_head(&p, 64 * 1024).unwrap();
        assert_eq!(sniff(f, &head), Some(LogKind::CloudTrail), "{f}");
        assert_eq!(
            sniff(f, &gzip(&head)),
            Some(LogKind::CloudTrail),
            "{f} gzip"
        );
    }
    let head = read_head(&fixture("route53/resolver-queries.log"), 64 * 1024).unwrap();
    assert_eq!(sniff("r", &head), Some(LogKind::Route53));
    assert_eq!(sniff("r", &gzip(&head)), Some(LogKind::Route53));
    // Templates are not logs.
    let head = std::fs::read(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/examples/cdn.json"),
    )
    .unwrap();
    assert_eq!(sniff("cdn.json", &head), None);
}

#[test]
fn a_records_object_whose_array_is_not_the_first_key() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("ct.json");
    std::fs::write(
        &path,
        "{\"exportedBy\": \"a tool\",\n \"Records\": [\n  {\"eventVersion\": \"1.08\", \"eventName\": \"StopLogging\", \"eventSource\": \"cloudtrail.amazonaws.com\"},\n  {\"eventVersion\": \"1.08\", \"eventName\": \"DeleteTrail\", \"eventSource\": \"cloudtrail.amazonaws.com\"}\n]}\n",
    )
    .unwrap();
    let out = read_events(&path, LogKind::CloudTrail, &LogOptions::default());
    assert_eq!(out.errors, Vec::<String>::new());
    assert_eq!(names(&out.records), vec!["StopLogging", "DeleteTrail"]);
    assert_eq!(lines(&out.records), vec![3, 4]);
}

/// Random JSON-ish input never panics or hangs the scanner, and every event it
/// hands out is a well-formed slice with a position inside the input.
#[test]
fn random_input_never_panics() {
    use deadbolt::load::logs::{read_log_from, Chunk};
    let mut state: u64 = 0x9E37_79B9_7F4A_7C15;
    let mut next = || {
        state = state
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        (state >> 33) as u32
    };
    let alphabet: &[u8] = b"{}[]:,\"\\ \n\tRecords eventVersion a1-";
    for round in 0..3000 {
        let len = (next() % 200) as usize;
        let mut bytes: Vec<u8> = (0..len)
            .map(|_| {
                if next() % 7 == 0 {
                    (next() % 256) as u8
                } else {
                    alphabet[(next() as usize) % alphabet.len()]
                }
            })
            .collect();
        if round % 3 == 0 {
            bytes.splice(0..0, b"{\"Records\":[".iter().copied());
        }
        let lines = bytes.iter().filter(|&&b| b == b'\n').count() as u32 + 1;
        for kind in [LogKind::CloudTrail, LogKind::Route53] {
            let opts = LogOptions {
                max_line_bytes: 64,
                ..LogOptions::default()
            };
            let errs = read_log_from(
                Box::new(std::io::Cursor::new(bytes.clone())),
                "fuzz.json",
                kind,
                &opts,
                &|c| {
                    if let Chunk::Events(evs) = c {
                        for e in evs {
                            assert!(e.line >= 1 && e.line <= lines);
                        }
                    }
                },
            );
            for e in errs {
                assert!(e.line() <= lines, "{e}");
            }
        }
    }
}

/// One JSON line far over the record bound (a string of 64 MiB inside an
/// event): an error naming its line, skipped without being held; the next
/// line loads.
#[test]
fn an_over_long_event_line_is_skipped_unread() {
    use deadbolt::load::logs::{read_log_from, Chunk};
    struct Huge {
        head: std::io::Cursor<Vec<u8>>,
        left: u64,
        tail: std::io::Cursor<Vec<u8>>,
    }
    impl std::io::Read for Huge {
        fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
            let n = self.head.read(buf)?;
            if n > 0 {
                return Ok(n);
            }
            if self.left > 0 {
                let n = (buf.len() as u64).min(self.left) as usize;
                buf[..n].fill(b'x');
                self.left -= n as u64;
                return Ok(n);
            }
            self.tail.read(buf)
        }
    }
    let good = std::fs::read_to_string(fixture("route53/resolver-queries.log")).unwrap();
    let first = good.lines().next().unwrap().to_string();
    let r = Huge {
        head: std::io::Cursor::new(format!("{first}\n{{\"query_name\":\"").into_bytes()),
        left: 64 << 20,
        tail: std::io::Cursor::new(format!("\"}}\n{first}\n").into_bytes()),
    };
    let opts = LogOptions {
        max_line_bytes: 1 << 20,
        ..LogOptions::default()
    };
    let lines = std::sync::Mutex::new(Vec::new());
    let errs = read_log_from(Box::new(r), "big.log", LogKind::Route53, &opts, &|c| {
        if let Chunk::Events(evs) = c {
            lines.lock().unwrap().extend(evs.iter().map(|e| e.line));
        }
    });
    let mut lines = lines.into_inner().unwrap();
    lines.sort();
    assert_eq!(lines, vec![1, 3]);
    let errs: Vec<String> = errs.iter().map(|e| e.to_string()).collect();
    assert_eq!(
        errs,
        vec!["big.log:2:1: event larger than the 1 MiB limit for one record; skipped without reading it into memory"]
    );
}
