//! Criterion micro-benchmarks of the pure parts on every delivery's path (BENCHMARKS.md):
//! signature verification, the ingress envelope pass and the full typed decoding of a real
//! 28 KB `pull_request` payload, the command parser, and the engine's decision for a PR whose
//! checks just went green; and the compression of that payload before it is stored.
//!
//! `cargo bench --bench micro` (add `-- --quick` for a fast pass). The compressor comparison
//! (LZ4 as stored, against zstd levels 1–3) needs zstd's C build:
//! `cargo bench --bench micro --features compare-zstd -- compress`.

use std::hint::black_box;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use secrecy::SecretString;

use gangway::engine::commands;
use gangway::engine::{self, CheckSummary, PolicyStatus, Situation};
use gangway::ingress::events::{self, Envelope, Event};
use gangway::ingress::signature;
use gangway::model::RepoRef;
use gangway::policy::Policy;

fn fixture(name: &str) -> Vec<u8> {
    let path = format!(
        "{}/fixtures/github-webhooks/{name}",
        env!("CARGO_MANIFEST_DIR")
    );
    std::fs::read(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
}

fn signature(c: &mut Criterion) {
    let body = fixture("pull_request.opened.json");
    let header = signature::sign(b"current-secret", &body);
    let one = vec![SecretString::from("current-secret")];
    let rotating = vec![
        SecretString::from("previous-secret"),
        SecretString::from("current-secret"),
    ];
    let mut g = c.benchmark_group("signature");
    g.throughput(Throughput::Bytes(body.len() as u64));
    g.bench_function("verify 28KB, 1 secret", |b| {
        b.iter(|| signature::verify(&one, Some(header.as_bytes()), black_box(&body)))
    });
    g.bench_function("verify 28KB, 2 secrets (rotation)", |b| {
        b.iter(|| signature::verify(&rotating, Some(header.as_bytes()), black_box(&body)))
    });
    g.finish();
}

fn decoding(c: &mut Criterion) {
    let body = fixture("pull_request.opened.json");
    let suite = fixture("check_suite.completed.json");
    let comment = fixture("issue_comment.created.pr.derived.json");
    let mut g = c.benchmark_group("decode");
    g.throughput(Throughput::Bytes(body.len() as u64));
    g.bench_function("ingress envelope, pull_request 28KB", |b| {
        b.iter(|| serde_json::from_slice::<Envelope>(black_box(&body)).map(|e| e.number))
    });
    g.bench_function("typed event, pull_request 28KB", |b| {
        b.iter(|| events::decode("pull_request", black_box(&body)))
    });
    g.throughput(Throughput::Bytes(suite.len() as u64));
    g.bench_function("typed event, check_suite 11KB", |b| {
        b.iter(|| events::decode("check_suite", black_box(&suite)))
    });
    g.throughput(Throughput::Bytes(comment.len() as u64));
    g.bench_function("typed event, issue_comment 17KB", |b| {
        b.iter(|| events::decode("issue_comment", black_box(&comment)))
    });
    g.finish();
}

fn command_parser(c: &mut Criterion) {
    let conversation = "Thanks! I had a look at the change.\n\n\
        > /stage this once CI is happy\n\n\
        ```sh\n/stage\ncargo test\n```\n\n\
        Two nits: the `retry` helper could take a `Duration`, and the README still says\n\
        `--port 8080`. <!-- /unstage --> Otherwise LGTM, happy to merge after that.\n";
    let mut g = c.benchmark_group("commands");
    g.bench_function("parse /stage", |b| {
        b.iter(|| commands::parse(black_box("/stage")))
    });
    g.bench_function("parse a review comment with no command", |b| {
        b.iter(|| commands::parse(black_box(conversation)))
    });
    g.bench_function("parse a typo (did you mean)", |b| {
        b.iter(|| commands::parse(black_box("/stgae")))
    });
    g.finish();
}

fn decision(c: &mut Criterion) {
    // The PR of the real `pull_request.opened` payload, its checks just green, no preview yet:
    // the engine decides to stage the head commit.
    let Ok(Some(Event::PullRequest(e))) =
        events::decode("pull_request", &fixture("pull_request.opened.json"))
    else {
        panic!("the pull_request fixture decodes");
    };
    let Some(installation) = e.installation.as_ref().map(|i| i.id) else {
        panic!("the fixture names its installation");
    };
    let repo = RepoRef {
        id: e.repository.id,
        installation,
        full_name: e.repository.full_name.clone(),
        default_branch: e.repository.default_branch.clone().unwrap_or_default(),
    };
    let pr = e.pull_request.record(&repo);
    let policy = PolicyStatus::Valid(Policy::default());
    let green = CheckSummary {
        passed: vec!["build".into(), "test".into(), "lint".into()],
        ..Default::default()
    };
    let situation = Situation {
        pr: &pr,
        policy: &policy,
        checks: Some(&green),
        previews: &[],
        approvals: &[],
        unstaged_by: None,
        now_ms: 1_700_000_000_000,
        kept_until: None,
    };
    assert!(!engine::decide(&situation).is_empty(), "green checks stage");
    c.bench_function("engine/decide: checks green, stage the head", |b| {
        b.iter(|| engine::decide(black_box(&situation)))
    });
    c.bench_function("engine/gate: checks green", |b| {
        b.iter(|| engine::gate(black_box(&situation)))
    });
}

/// What storing the payload compressed costs per delivery, and what it saves: the ratio of each
/// candidate is printed once, beside criterion's times.
fn compression(c: &mut Criterion) {
    use gangway::store::compress::{Compressed, decompress};
    let body = fixture("pull_request.opened.json");
    let stored = Compressed::new(&body);
    assert_eq!(decompress(stored.as_bytes()).as_deref(), Ok(&body[..]));
    eprintln!(
        "compress: lz4 (as stored) {} -> {} bytes, ratio {:.2}",
        body.len(),
        stored.len(),
        body.len() as f64 / stored.len() as f64
    );
    let mut g = c.benchmark_group("compress");
    g.throughput(Throughput::Bytes(body.len() as u64));
    g.bench_function("lz4 compress, pull_request 28KB", |b| {
        b.iter(|| Compressed::new(black_box(&body)))
    });
    g.bench_function("lz4 decompress, pull_request 28KB", |b| {
        b.iter(|| decompress(black_box(stored.as_bytes())))
    });
    #[cfg(feature = "compare-zstd")]
    for level in 1..=3 {
        let packed = zstd::bulk::compress(&body, level).expect("zstd compresses");
        eprintln!(
            "compress: zstd level {level} {} -> {} bytes, ratio {:.2}",
            body.len(),
            packed.len(),
            body.len() as f64 / packed.len() as f64
        );
        // A context per thread, as a server would keep one: no per-call setup.
        let mut cx = zstd::bulk::Compressor::new(level).expect("zstd context");
        g.bench_function(format!("zstd-{level} compress, pull_request 28KB"), |b| {
            b.iter(|| cx.compress(black_box(&body)))
        });
        let mut dx = zstd::bulk::Decompressor::new().expect("zstd context");
        g.bench_function(format!("zstd-{level} decompress, pull_request 28KB"), |b| {
            b.iter(|| dx.decompress(black_box(&packed), body.len()))
        });
    }
    g.finish();
}

/// The driver's redaction: building the redactor for a run (the private key, two webhook
/// secrets and a database password, in every form), and streaming 1 MiB of ordinary output
/// through it, 100-byte lines (the stored log's cap).
fn redaction(c: &mut Criterion) {
    use gangway::driver::redact::Redactor;
    let key = String::from_utf8(
        std::fs::read(format!(
            "{}/fixtures/test-app-key.pem",
            env!("CARGO_MANIFEST_DIR")
        ))
        .expect("test key"),
    )
    .expect("utf-8");
    let secrets = vec![
        key,
        "whsec-current-0123456789abcdef".to_owned(),
        "whsec-previous-fedcba9876543210".to_owned(),
        "p@ss/w0rd".to_owned(),
    ];
    let line =
        "[2026-01-01T00:00:00Z] step 3/9: pushing layer sha256:9f86d081884c7d65 (12.3 MB) ... done";
    let lines: Vec<String> = (0..10_486).map(|i| format!("{line} {i:05}")).collect();
    let bytes: usize = lines.iter().map(|l| l.len() + 1).sum();
    let mut g = c.benchmark_group("redact");
    g.bench_function("build: key + 3 secrets, every form", |b| {
        b.iter(|| Redactor::new(black_box(&secrets)))
    });
    let redactor = Redactor::new(&secrets);
    g.throughput(Throughput::Bytes(bytes as u64));
    g.bench_function("stream 1 MiB of output, 100-byte lines", |b| {
        b.iter(|| {
            let mut stream = redactor.stream();
            let mut n = 0;
            for l in &lines {
                n += stream.push(l.clone()).len();
            }
            n + stream.finish().len()
        })
    });
    g.finish();
}

criterion_group!(
    benches,
    signature,
    decoding,
    command_parser,
    decision,
    compression,
    redaction
);
criterion_main!(benches);
