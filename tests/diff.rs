//! `deadbolt diff`: the impact of a policy change over a corpus.
//!
//! `fixtures/diff/old/` holds four catalogue policies; `fixtures/diff/new/` is the
//! same set after a rule change:
//! - `ebs-volume-encryption` is tightened (a `KmsKeyId` is required too) and its
//!   "unencrypted" message is reworded;
//! - `sqs-queue-encryption` goes from medium to high severity;
//! - `sns-topic-encryption` is removed;
//! - `kms-key-rotation` is added;
//! - `efs-encryption` is the same.
//!
//! The corpus `fixtures/diff/corpus/` has resources for all of them. The exact
//! counts and the key changes are asserted explicitly, and the human and JSON
//! renderings are pinned in snapshots.

use std::path::{Path, PathBuf};
use std::process::Command;

use deadbolt::compile::Severity;
use deadbolt::eval::Params;
use deadbolt::harness::diff::{
    exit_code, render_human, render_json, resolve_specs, run_diff, Change, ChangeKind, DiffOptions,
    DiffReport, DiffSummary, Field, PolicySpec, Presence,
};
use deadbolt::result::Status;

fn repo() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

fn p(s: &str) -> PathBuf {
    PathBuf::from(s)
}

/// Paths are relative to the crate (cargo runs tests there), so file names in the
/// output are stable.
fn diff(old: &str, new: &str, corpus: &[&str]) -> DiffReport {
    let opts = DiffOptions {
        old_policies: PolicySpec::Paths(vec![p(old)]),
        new_policies: PolicySpec::Paths(vec![p(new)]),
        paths: corpus.iter().map(|c| p(c)).collect(),
        params: Params::default(),
        logs: Default::default(),
    };
    run_diff(&opts).unwrap_or_else(|e| panic!("diff {old} → {new}: {e}"))
}

fn fixture_diff() -> DiffReport {
    diff(
        "fixtures/diff/old",
        "fixtures/diff/new",
        &["fixtures/diff/corpus"],
    )
}

fn find<'r>(r: &'r DiffReport, policy: &str, resource: &str) -> &'r Change {
    r.changes()
        .find(|c| c.current().policy == policy && c.current().resource == resource)
        .unwrap_or_else(|| panic!("no change for {policy} / {resource}"))
}

#[test]
fn counts_of_the_fixture_change() {
    let r = fixture_diff();
    assert!(r.load_errors.is_empty(), "{:?}", r.load_errors);
    assert_eq!(
        r.summary,
        DiffSummary {
            // kms-key-rotation: DataKey (pass), LegacyKey (fail), VendorKey (skipped)
            added: 3,
            // sns-topic-encryption: AlertsTopic (pass), PlainTopic (fail)
            removed: 2,
            // ebs: DefaultKeyVolume, PlainVolume; sqs: JobQueue, PlainQueue, ManagedQueue
            changed: 5,
            // ebs: KeyedVolume, ScratchVolume, ArchiveVolume; efs: SharedFiles, ScratchFiles
            unchanged: 5,
            // DefaultKeyVolume (pass → fail), LegacyKey (added fail)
            newly_failing: 2,
            // PlainTopic (removed fail)
            no_longer_failing: 1,
        }
    );
    assert_eq!(r.templates, 2);
    assert_eq!(r.resources, 15);
    assert_eq!((r.old_policy_count, r.new_policy_count), (4, 4));
    assert_eq!(r.policies_added, ["kms-key-rotation"]);
    assert_eq!(r.policies_removed, ["sns-topic-encryption"]);
    // efs-encryption has no change at all, so it has no section.
    let groups: Vec<(&str, Presence)> = r
        .groups
        .iter()
        .map(|g| (g.policy.as_str(), g.presence))
        .collect();
    assert_eq!(
        groups,
        [
            ("ebs-volume-encryption", Presence::Both),
            ("kms-key-rotation", Presence::Added),
            ("sns-topic-encryption", Presence::Removed),
            ("sqs-queue-encryption", Presence::Both),
        ]
    );
    assert_eq!(r.groups[0].unchanged, 3);
    assert!(r.warnings.is_empty(), "{:?}", r.warnings);
}

#[test]
fn tightened_rule_turns_a_pass_into_a_fail() {
    let r = fixture_diff();
    let c = find(&r, "ebs-volume-encryption", "DefaultKeyVolume");
    assert_eq!(c.kind, ChangeKind::Changed);
    assert_eq!(c.fields, [Field::Status, Field::Message]);
    assert!(c.newly_failing());
    let (old, new) = (c.old.as_ref().unwrap(), c.new.as_ref().unwrap());
    assert_eq!((old.status, new.status), (Status::Pass, Status::Fail));
    assert_eq!(
        new.message,
        "volume DefaultKeyVolume is encrypted with the AWS managed key, not a customer managed key"
    );
    assert_eq!(new.file, "fixtures/diff/corpus/app.yaml");
    assert_eq!(new.resource_type, "AWS::EC2::Volume");

    // Still failing, with the reworded message only.
    let c = find(&r, "ebs-volume-encryption", "PlainVolume");
    assert_eq!(c.fields, [Field::Message]);
    assert!(!c.newly_failing() && !c.no_longer_failing());
    assert_eq!(
        c.old.as_ref().unwrap().message,
        "volume PlainVolume stores data unencrypted"
    );
    assert_eq!(
        c.new.as_ref().unwrap().message,
        "volume PlainVolume is not encrypted at rest (set Encrypted: true and a KmsKeyId)"
    );

    // Volumes with a customer key are not reported.
    assert!(!r
        .changes()
        .any(|c| ["KeyedVolume", "ArchiveVolume", "ScratchVolume"]
            .contains(&c.current().resource.as_str())));
}

#[test]
fn severity_change_added_and_removed_policies() {
    let r = fixture_diff();
    let sqs = r
        .groups
        .iter()
        .find(|g| g.policy == "sqs-queue-encryption")
        .unwrap();
    assert_eq!(sqs.meta.len(), 1);
    assert_eq!(
        (
            sqs.meta[0].field,
            sqs.meta[0].old.as_str(),
            sqs.meta[0].new.as_str()
        ),
        ("severity", "medium", "high")
    );
    assert_eq!(sqs.changes.len(), 3);
    for c in &sqs.changes {
        assert_eq!(c.fields, [Field::Severity]);
        assert_eq!(c.old.as_ref().unwrap().severity, Severity::Medium);
        assert_eq!(c.new.as_ref().unwrap().severity, Severity::High);
    }

    let c = find(&r, "kms-key-rotation", "LegacyKey");
    assert_eq!(c.kind, ChangeKind::Added);
    assert!(c.old.is_none() && c.newly_failing());
    assert_eq!(c.new.as_ref().unwrap().status, Status::Fail);

    // An inline skip in the corpus applies to the new policy as it does in a scan:
    // the key is skipped, not newly failing.
    let c = find(&r, "kms-key-rotation", "VendorKey");
    assert_eq!(c.kind, ChangeKind::Added);
    assert!(!c.newly_failing());
    let new = c.new.as_ref().unwrap();
    assert_eq!(new.status, Status::Skipped);
    assert!(new
        .skip_reason
        .as_deref()
        .unwrap_or("")
        .contains("RUNBOOK-12"));

    let c = find(&r, "sns-topic-encryption", "PlainTopic");
    assert_eq!(c.kind, ChangeKind::Removed);
    assert!(c.new.is_none() && c.no_longer_failing());
}

#[test]
fn human_report() {
    let r = fixture_diff();
    let text = render_human(&r, false);
    assert!(!text.contains('\x1b'));
    assert!(text.contains("2 newly failing, 1 no longer failing\n"));
    assert!(text.ends_with("3 added, 2 removed, 5 changed, 5 unchanged\n"));
    assert!(text.contains("DefaultKeyVolume  status pass → fail; message \"volume"));
    insta::assert_snapshot!("human", text);
}

#[test]
fn human_report_in_colour() {
    let text = render_human(&fixture_diff(), true);
    // A newly failing status is bold red.
    assert!(text.contains("\x1b[1;31mfail\x1b[0m"), "{text}");
    assert!(text.contains("\x1b[1;31m2 newly failing, 1 no longer failing\x1b[0m"));
}

#[test]
fn json_report() {
    let r = fixture_diff();
    let text = render_json(&r);
    let v: serde_json::Value = serde_json::from_str(&text).expect("valid JSON");
    assert_eq!(v["version"], 1);
    assert_eq!(v["summary"]["added"], 3);
    assert_eq!(v["summary"]["removed"], 2);
    assert_eq!(v["summary"]["changed"], 5);
    assert_eq!(v["summary"]["unchanged"], 5);
    assert_eq!(v["summary"]["newly_failing"], 2);
    assert_eq!(v["policies"]["added"][0], "kms-key-rotation");
    assert_eq!(v["policies"]["removed"][0], "sns-topic-encryption");
    assert_eq!(
        v["policies"]["changed"][0]["policy"],
        "sqs-queue-encryption"
    );
    assert_eq!(v["policies"]["changed"][0]["severity"]["new"], "high");
    let changes = v["changes"].as_array().unwrap();
    assert_eq!(changes.len(), 10);
    let dk = changes
        .iter()
        .find(|c| c["resource"] == "DefaultKeyVolume")
        .unwrap();
    assert_eq!(dk["kind"], "changed");
    assert_eq!(dk["fields"], serde_json::json!(["status", "message"]));
    assert_eq!(dk["old"]["status"], "pass");
    assert_eq!(dk["new"]["status"], "fail");
    let added = changes.iter().find(|c| c["kind"] == "added").unwrap();
    assert!(added["old"].is_null());
    let removed = changes.iter().find(|c| c["kind"] == "removed").unwrap();
    assert!(removed["new"].is_null());
    assert_eq!(v["errors"], serde_json::json!([]));
    insta::assert_snapshot!("json", text);
}

#[test]
fn same_policies_change_nothing() {
    let r = diff(
        "fixtures/diff/old",
        "fixtures/diff/old",
        &["fixtures/diff/corpus"],
    );
    assert!(!r.summary.any_change());
    assert_eq!(r.summary.unchanged, 12);
    assert!(r.groups.is_empty());
    assert_eq!(exit_code(&r, true), 0);
    let text = render_human(&r, false);
    assert!(text.ends_with(
        "0 newly failing, 0 no longer failing\n0 added, 0 removed, 0 changed, 12 unchanged\n"
    ));
}

#[test]
fn builtin_catalogue_against_itself() {
    let opts = DiffOptions {
        old_policies: PolicySpec::Builtin,
        new_policies: PolicySpec::Paths(vec![]),
        paths: vec![p("fixtures/examples")],
        params: Params::default(),
        logs: Default::default(),
    };
    let r = run_diff(&opts).unwrap();
    assert!(!r.summary.any_change());
    assert!(r.summary.unchanged > 30);
    assert_eq!(r.old_label, "built-in catalogue");
    assert_eq!(r.old_policy_count, r.new_policy_count);
}

#[test]
fn exit_codes() {
    let r = fixture_diff();
    assert_eq!(exit_code(&r, false), 0);
    assert_eq!(exit_code(&r, true), 1);

    // An unreadable input is in the report, and the run exits 2 whatever changed.
    let r = diff(
        "fixtures/diff/old",
        "fixtures/diff/new",
        &["fixtures/diff/corpus", "fixtures/diff/broken/bad.yaml"],
    );
    assert_eq!(r.load_errors.len(), 1);
    assert_eq!(r.load_errors[0].path, "fixtures/diff/broken/bad.yaml");
    assert_eq!(
        r.summary.changed, 5,
        "the rest of the corpus is still compared"
    );
    assert_eq!(exit_code(&r, false), 2);
    assert_eq!(exit_code(&r, true), 2);
    let v: serde_json::Value = serde_json::from_str(&render_json(&r)).unwrap();
    assert_eq!(v["errors"][0]["file"], "fixtures/diff/broken/bad.yaml");
    let text = render_human(&r, false);
    assert!(
        text.contains("\nerror: fixtures/diff/broken/bad.yaml:"),
        "{text}"
    );
}

#[test]
fn results_are_keyed_by_document() {
    let r = diff(
        "fixtures/diff/old",
        "fixtures/diff/new",
        &["fixtures/diff/multidoc"],
    );
    // Both documents have a volume `Data`; only the second has no KmsKeyId.
    let ebs: Vec<&Change> = r
        .changes()
        .filter(|c| c.current().policy == "ebs-volume-encryption")
        .collect();
    assert_eq!(ebs.len(), 1);
    assert_eq!(ebs[0].current().document, 1);
    assert!(ebs[0].newly_failing());
    assert_eq!(r.groups[0].unchanged, 1);
    let v: serde_json::Value = serde_json::from_str(&render_json(&r)).unwrap();
    assert_eq!(v["changes"][0]["document"], 1);
    let text = render_human(&r, false);
    assert!(
        text.contains("fixtures/diff/multidoc/stacks.yaml:17:5 (document 1)  Data"),
        "{text}"
    );
}

#[test]
fn policies_that_do_not_compile_are_an_error() {
    let opts = DiffOptions {
        old_policies: PolicySpec::Paths(vec![p("fixtures/diff/old")]),
        new_policies: PolicySpec::Paths(vec![p("fixtures/diff/invalid")]),
        paths: vec![p("fixtures/diff/corpus")],
        params: Params::default(),
        logs: Default::default(),
    };
    let e = run_diff(&opts).unwrap_err();
    assert!(
        e.starts_with("new policies (fixtures/diff/invalid) do not compile:\n  fixtures/diff/invalid/ebs-volume-encryption.policy:6:13: error[unknown-property]"),
        "{e}"
    );
    assert!(e.contains("Encrypted"), "the help suggests the fix: {e}");

    let opts = DiffOptions {
        old_policies: PolicySpec::Paths(vec![p("fixtures/diff/no-such-dir")]),
        ..opts
    };
    let e = run_diff(&opts).unwrap_err();
    assert!(
        e.starts_with("old policies (fixtures/diff/no-such-dir): "),
        "{e}"
    );
}

#[test]
fn specs_from_arguments() {
    let new = vec![p("policies")];
    assert_eq!(
        resolve_specs(&[p("old")], None, &new).unwrap(),
        (
            PolicySpec::Paths(vec![p("old")]),
            PolicySpec::Paths(new.clone())
        )
    );
    // --old-rev alone: the new policies as they were at the revision.
    assert_eq!(
        resolve_specs(&[], Some("main"), &new).unwrap(),
        (
            PolicySpec::GitRev {
                rev: "main".into(),
                paths: new.clone()
            },
            PolicySpec::Paths(new.clone())
        )
    );
    // ... or the built-in catalogue's source at the revision.
    let (old, new_spec) = resolve_specs(&[], Some("HEAD~1"), &[]).unwrap();
    assert_eq!(new_spec, PolicySpec::Builtin);
    assert_eq!(old.to_string(), "built-in catalogue at HEAD~1");
    // --old with --old-rev: those paths at the revision.
    assert_eq!(
        resolve_specs(&[p("old")], Some("v1"), &[]).unwrap().0,
        PolicySpec::GitRev {
            rev: "v1".into(),
            paths: vec![p("old")]
        }
    );
    let e = resolve_specs(&[], None, &new).unwrap_err();
    assert!(e.contains("--old") && e.contains("--old-rev"), "{e}");
}

// ---------------------------------------------------------------------------
// --old-rev: policies at a git revision.

fn have_git() -> bool {
    let ok = Command::new("git")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success());
    if !ok {
        eprintln!("note: git is not on PATH; skipping the --old-rev test");
    }
    ok
}

/// Runs git in `dir` with an identity and no signing, whatever the machine's config.
fn git(dir: &Path, args: &[&str]) {
    let out = Command::new("git")
        .env_remove("GIT_DIR")
        .env_remove("GIT_WORK_TREE")
        .env_remove("GIT_INDEX_FILE")
        .arg("-C")
        .arg(dir)
        .args([
            "-c",
            "user.name=deadbolt tests",
            "-c",
            "user.email=tests@deadbolt.invalid",
            "-c",
            "commit.gpgsign=false",
            "-c",
            "init.defaultBranch=main",
        ])
        .args(args)
        .output()
        .expect("git runs");
    assert!(
        out.status.success(),
        "git {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

fn copy_policies(from: &Path, to: &Path) {
    if to.exists() {
        std::fs::remove_dir_all(to).unwrap();
    }
    std::fs::create_dir_all(to).unwrap();
    for e in std::fs::read_dir(from).unwrap() {
        let e = e.unwrap();
        std::fs::copy(e.path(), to.join(e.file_name())).unwrap();
    }
}

/// A repository whose HEAD has `fixtures/diff/old` as `policies/`, and whose
/// working tree has `fixtures/diff/new` there instead.
fn repo_with_change() -> tempfile::TempDir {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    git(dir, &["init", "-q"]);
    copy_policies(&repo().join("fixtures/diff/old"), &dir.join("policies"));
    git(dir, &["add", "policies"]);
    git(dir, &["commit", "-q", "-m", "old policies"]);
    copy_policies(&repo().join("fixtures/diff/new"), &dir.join("policies"));
    tmp
}

#[test]
fn old_rev_reads_the_policies_at_a_revision() {
    if !have_git() {
        return;
    }
    let tmp = repo_with_change();
    let policies = tmp.path().join("policies");
    let (old, new) = resolve_specs(&[], Some("HEAD"), std::slice::from_ref(&policies)).unwrap();
    let opts = DiffOptions {
        old_policies: old,
        new_policies: new,
        paths: vec![p("fixtures/diff/corpus")],
        params: Params::default(),
        logs: Default::default(),
    };
    let r = run_diff(&opts).unwrap();
    // The same impact as the two directories side by side.
    assert_eq!(r.summary, fixture_diff().summary);
    assert_eq!(r.old_label, format!("{} at HEAD", policies.display()));
    assert_eq!(r.policies_removed, ["sns-topic-encryption"]);
    assert_eq!(exit_code(&r, true), 1);

    // A single file, and a path given relative to a directory inside the repo.
    let sources = deadbolt::harness::git::sources_at_rev(
        "HEAD",
        &[policies.join("sns-topic-encryption.policy")],
    )
    .unwrap();
    assert_eq!(sources.len(), 1);
    assert_eq!(sources[0].name, "HEAD:policies/sns-topic-encryption.policy");
    assert!(sources[0].text.contains("policy sns-topic-encryption"));
}

#[test]
fn old_rev_path_gone_from_the_working_tree() {
    if !have_git() {
        return;
    }
    let tmp = repo_with_change();
    // The old policies moved away after the commit: they only exist at HEAD.
    std::fs::rename(tmp.path().join("policies"), tmp.path().join("rules")).unwrap();
    let sources =
        deadbolt::harness::git::sources_at_rev("HEAD", &[tmp.path().join("policies")]).unwrap();
    let names: Vec<&str> = sources.iter().map(|s| s.name.as_str()).collect();
    assert_eq!(
        names,
        [
            "HEAD:policies/ebs-volume-encryption.policy",
            "HEAD:policies/efs-encryption.policy",
            "HEAD:policies/sns-topic-encryption.policy",
            "HEAD:policies/sqs-queue-encryption.policy",
        ]
    );
}

#[test]
fn old_rev_errors_are_clear() {
    if !have_git() {
        return;
    }
    let tmp = repo_with_change();
    let policies = tmp.path().join("policies");
    let at = |rev: &str, path: &Path| {
        deadbolt::harness::git::sources_at_rev(rev, &[path.to_path_buf()]).unwrap_err()
    };

    let e = at("no-such-branch", &policies);
    assert!(
        e.starts_with("unknown git revision `no-such-branch`"),
        "{e}"
    );

    // kms-key-rotation is new: not in the commit.
    let e = at("HEAD", &policies.join("kms-key-rotation.policy"));
    assert!(
        e.ends_with("`policies/kms-key-rotation.policy` does not exist at revision HEAD"),
        "{e}"
    );

    let outside = tempfile::tempdir().unwrap();
    let e = at("HEAD", outside.path());
    assert!(e.contains("not inside a git repository"), "{e}");

    let e = at("--output=x", &policies);
    assert_eq!(e, "`--output=x` is not a git revision");

    // A directory without policies at the revision.
    std::fs::create_dir(tmp.path().join("docs")).unwrap();
    std::fs::write(tmp.path().join("docs/README"), "x").unwrap();
    git(tmp.path(), &["add", "docs"]);
    git(tmp.path(), &["commit", "-q", "-m", "docs"]);
    let e = at("HEAD", &tmp.path().join("docs"));
    assert!(e.ends_with("no *.policy files at revision HEAD"), "{e}");

    // Through run_diff, the error names the side and the revision.
    let opts = DiffOptions {
        old_policies: PolicySpec::GitRev {
            rev: "HEAD~1".into(),
            paths: vec![tmp.path().join("docs")],
        },
        new_policies: PolicySpec::Paths(vec![policies.clone()]),
        paths: vec![p("fixtures/diff/corpus")],
        params: Params::default(),
        logs: Default::default(),
    };
    let e = run_diff(&opts).unwrap_err();
    assert!(e.starts_with("old policies ("), "{e}");
    assert!(
        e.ends_with("`docs` does not exist at revision HEAD~1"),
        "{e}"
    );
}

#[test]
fn builtin_catalogue_at_head() {
    // Only where the crate is a git checkout (not, say, an unpacked tarball).
    if !have_git()
        || !Command::new("git")
            .arg("-C")
            .arg(repo())
            .args(["rev-parse", "--verify", "--quiet", "HEAD:policies"])
            .output()
            .is_ok_and(|o| o.status.success())
    {
        eprintln!("note: the crate is not a git checkout with committed policies; skipping");
        return;
    }
    let spec = PolicySpec::Builtin.at_rev("HEAD");
    let sources = spec.sources().unwrap();
    assert!(!sources.is_empty());
    assert!(sources
        .iter()
        .all(|s| s.name.starts_with("HEAD:") && s.name.ends_with(".policy")));
}
