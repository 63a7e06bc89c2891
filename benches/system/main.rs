//! The system benchmark: Gangway measured the way an operator would, printed as one table.
//!
//! `cargo bench --bench system` builds the release binary and runs, on this machine:
//! 1. **Ingest** (SQLite, then PostgreSQL): the release `gangway serve` in its own process,
//!    signed 28 KB `pull_request` deliveries over HTTP/1.1 from a hyper client — a steady
//!    1,000/s (open loop), then 64 connections flat out (closed loop) — then SIGKILL, and every
//!    202 looked up in the database.
//! 2. **End to end**: PR lifecycles through the fake GitHub (50 ms per API call, GitHub's
//!    secondary rate limits enforced) — one at a time for Gangway's own overhead, then 100 at
//!    once for pacing — with the API calls per lifecycle by endpoint.
//! 3. **Footprint**: idle and peak resident memory, time to `/readyz`, binary size.
//!
//! Options: `--runs N` (3; figures are medians), `--quick` (1 run, short windows, fewer
//! lifecycles), `--only ingest-sqlite,ingest-postgres,e2e,parallel`, `--postgres URL`
//! (default `$GANGWAY_BENCH_POSTGRES` or `postgres://root@127.0.0.1:5432/postgres`),
//! `--lifecycles N` (100), `--installations K` (20), `--sequential N` (10),
//! `--concurrency C` (64), `--seconds S` (10), `--rate R` (1000). See BENCHMARKS.md.

mod child;
mod e2e;
mod ingest;
mod load;

use std::time::Duration;

use sqlx::Connection;

use ingest::{Db, Figures, Plan};

struct Options {
    runs: usize,
    only: Vec<String>,
    postgres: String,
    lifecycles: usize,
    installations: usize,
    sequential: usize,
    staged: usize,
    plan: Plan,
}

fn options() -> Options {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let value = |name: &str| {
        args.iter()
            .position(|a| a == name)
            .and_then(|i| args.get(i + 1))
            .cloned()
    };
    let num = |name: &str, default: u64| {
        value(name)
            .and_then(|v| v.parse::<u64>().ok())
            .unwrap_or(default)
    };
    let quick = args.iter().any(|a| a == "--quick");
    let seconds = num("--seconds", if quick { 3 } else { 10 });
    Options {
        runs: num("--runs", if quick { 1 } else { 3 }).max(1) as usize,
        only: value("--only")
            .map(|v| v.split(',').map(str::to_owned).collect())
            .unwrap_or_default(),
        postgres: value("--postgres")
            .or_else(|| std::env::var("GANGWAY_BENCH_POSTGRES").ok())
            .unwrap_or_else(|| "postgres://root@127.0.0.1:5432/postgres".into()),
        lifecycles: num("--lifecycles", if quick { 20 } else { 100 }) as usize,
        installations: num("--installations", if quick { 4 } else { 20 }).max(1) as usize,
        sequential: num("--sequential", if quick { 3 } else { 10 }) as usize,
        staged: if quick { 2 } else { 5 },
        plan: Plan {
            concurrency: num("--concurrency", 64) as usize,
            warmup: Duration::from_secs(if quick { 1 } else { 2 }),
            window: Duration::from_secs(seconds),
            steady_rate: num("--rate", 1000),
            steady_window: Duration::from_secs(seconds),
        },
    }
}

impl Options {
    fn wants(&self, part: &str) -> bool {
        self.only.is_empty() || self.only.iter().any(|o| o == part)
    }
}

fn median(mut v: Vec<f64>) -> f64 {
    if v.is_empty() {
        return f64::NAN;
    }
    v.sort_by(f64::total_cmp);
    let m = v.len() / 2;
    if v.len() % 2 == 1 {
        v[m]
    } else {
        (v[m - 1] + v[m]) / 2.0
    }
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

/// Median of one figure over the runs.
fn med(runs: &[Figures], f: impl Fn(&Figures) -> f64) -> f64 {
    median(runs.iter().map(f).collect())
}

fn machine(postgres: Option<&str>) -> Vec<String> {
    let read = |p: &str| std::fs::read_to_string(p).unwrap_or_default();
    let cpu = read("/proc/cpuinfo")
        .lines()
        .find(|l| l.starts_with("model name"))
        .and_then(|l| l.split(':').nth(1))
        .map(|s| s.trim().to_owned())
        .unwrap_or_else(|| "unknown CPU".into());
    let cores = std::thread::available_parallelism().map_or(0, |n| n.get());
    let mem = read("/proc/meminfo")
        .lines()
        .find(|l| l.starts_with("MemTotal"))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|k| k.parse::<u64>().ok())
        .map_or_else(String::new, |k| format!("{:.0} GiB", k as f64 / 1048576.0));
    let rustc = std::process::Command::new("rustc")
        .arg("--version")
        .output()
        .ok()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_owned())
        .unwrap_or_default();
    let mut lines = vec![
        format!("{cpu}, {cores} cores, {mem} RAM"),
        format!(
            "Linux {}, {rustc}, disk: {}",
            read("/proc/sys/kernel/osrelease").trim(),
            "see BENCHMARKS.md"
        ),
    ];
    if let Some(pg) = postgres {
        lines.push(format!("PostgreSQL {pg}"));
    }
    lines
}

async fn postgres_version(admin: &str) -> Option<String> {
    let mut c = sqlx::PgConnection::connect(admin).await.ok()?;
    sqlx::query_scalar::<_, String>("SHOW server_version")
        .fetch_one(&mut c)
        .await
        .ok()
}

fn binary_sizes() -> (u64, Option<u64>) {
    let bin = child::binary();
    let size = std::fs::metadata(&bin).map_or(0, |m| m.len());
    let stripped = tempfile::tempdir().ok().and_then(|d| {
        let copy = d.path().join("gangway");
        std::fs::copy(&bin, &copy).ok()?;
        let ok = std::process::Command::new("strip")
            .arg(&copy)
            .status()
            .ok()?
            .success();
        if ok {
            std::fs::metadata(&copy).ok().map(|m| m.len())
        } else {
            None
        }
    });
    (size, stripped)
}

fn verdict_min(value: f64, target: f64, unit: &str) -> String {
    if value >= target {
        "met".into()
    } else {
        format!(
            "**missed** by {:.0} {unit} ({:.0} %)",
            target - value,
            (target - value) / target * 100.0
        )
    }
}

fn verdict_max(value: f64, target: f64, unit: &str) -> String {
    // Averages of counts (sums of 1/n) carry float noise: 8.000000001 calls is 8.
    if value <= target + 1e-6 {
        "met".into()
    } else {
        format!(
            "**missed** by {:.1} {unit} ({:.0} %)",
            value - target,
            (value - target) / target * 100.0
        )
    }
}

fn print_ingest(o: &Options, results: &[(Db, Vec<Figures>)]) {
    if results.is_empty() {
        return;
    }
    let runs = o.runs;
    println!(
        "\n### Ingest: signed `POST /webhooks`, 28 KB `pull_request`, 202 only after commit (median of {runs} run{})\n",
        if runs == 1 { "" } else { "s" }
    );
    let mut header = "| figure |".to_owned();
    let mut rule = "| --- |".to_owned();
    for (db, _) in results {
        header += &format!(" {} |", db.name());
        rule += " ---: |";
    }
    println!("{header} target |\n{rule} --- |");
    let c = o.plan.concurrency;
    let row = |name: &str, cell: &dyn Fn(&[Figures]) -> String, target: &str| {
        let mut line = format!("| {name} |");
        for (_, figs) in results {
            line += &format!(" {} |", cell(figs));
        }
        println!("{line} {target} |");
    };
    row(
        &format!("throughput, {c} connections (deliveries/s)"),
        &|f| {
            let lo = f.iter().map(|x| x.throughput).fold(f64::MAX, f64::min);
            let hi = f.iter().map(|x| x.throughput).fold(0.0, f64::max);
            if f.len() > 1 {
                format!("**{:.0}** ({lo:.0}–{hi:.0})", med(f, |x| x.throughput))
            } else {
                format!("**{:.0}**", med(f, |x| x.throughput))
            }
        },
        "≥ 5,000 on SQLite",
    );
    row(
        &format!("latency p50 / p99 / p99.9, {c} connections (ms)"),
        &|f| {
            format!(
                "{:.1} / {:.1} / {:.1}",
                med(f, |x| ms(x.p50)),
                med(f, |x| ms(x.p99)),
                med(f, |x| ms(x.p999))
            )
        },
        "",
    );
    row(
        &format!(
            "steady {}/s: achieved, p50 / p99 / p99.9 (ms)",
            o.plan.steady_rate
        ),
        &|f| {
            format!(
                "{:.0}/s, {:.2} / **{:.2}** / {:.2}",
                med(f, |x| x.steady_achieved),
                med(f, |x| ms(x.steady_p50)),
                med(f, |x| ms(x.steady_p99)),
                med(f, |x| ms(x.steady_p999))
            )
        },
        "p99 ≤ 10 ms on SQLite",
    );
    row(
        &format!(
            "the same {}/s beside {} idle connections and {} connections flooding `GET /metrics`: achieved, p50 / p99 / p99.9 (ms)",
            o.plan.steady_rate,
            ingest::HOSTILE_IDLE,
            ingest::HOSTILE_SCRAPERS
        ),
        &|f| {
            format!(
                "{:.0}/s, {:.2} / **{:.2}** / {:.2}",
                med(f, |x| x.hostile_achieved),
                med(f, |x| ms(x.hostile_p50)),
                med(f, |x| ms(x.hostile_p99)),
                med(f, |x| ms(x.hostile_p999))
            )
        },
        "",
    );
    row(
        "  p99 beside the flood ÷ p99 without; idle connections held; `/metrics` answers/s (errors)",
        &|f| {
            format!(
                "{:.2}×; {:.0}; {:.0}/s ({})",
                med(f, |x| ms(x.hostile_p99) / ms(x.steady_p99).max(1e-9)),
                med(f, |x| x.hostile_idle_open as f64),
                med(f, |x| x.hostile_scrapes),
                f.iter().map(|x| x.hostile_scrape_errors).sum::<u64>()
            )
        },
        "",
    );
    row(
        "202s in the database after SIGKILL (all runs)",
        &|f| {
            let acc: usize = f.iter().map(|x| x.accepted).sum();
            let dur: usize = f.iter().map(|x| x.durable).sum();
            let intact: usize = f.iter().map(|x| x.intact).sum();
            let refused: usize = f.iter().map(|x| x.refused).sum();
            let mut s = format!("{dur} of {acc}");
            if intact < dur {
                s += &format!(
                    " ({} with a payload that differs from the one sent)",
                    dur - intact
                );
            }
            if refused > 0 {
                s += &format!(" ({refused} not 202)");
            }
            s
        },
        "all",
    );
    if let Some((Db::Sqlite, f)) = results.iter().find(|(db, _)| *db == Db::Sqlite) {
        println!(
            "\nSQLite: throughput {}; steady p99 {}.",
            verdict_min(med(f, |x| x.throughput), 5000.0, "deliveries/s"),
            verdict_max(med(f, |x| ms(x.steady_p99)), 10.0, "ms")
        );
    }
}

fn print_footprint(results: &[(Db, Vec<Figures>)]) {
    let (size, stripped) = binary_sizes();
    println!("\n### Footprint (release build)\n");
    println!("| figure | value | target |\n| --- | ---: | --- |");
    for (db, f) in results {
        let idle = med(f, |x| x.idle_rss_kib as f64) / 1024.0;
        println!(
            "| idle RSS, ready, {} | **{idle:.1} MiB** | ≤ 30 MB: {} |",
            db.name(),
            verdict_max(idle * 1.048576, 30.0, "MB")
        );
        println!(
            "| peak RSS under the ingest load, {} | {:.1} MiB | |",
            db.name(),
            med(f, |x| x.peak_rss_kib as f64) / 1024.0
        );
        let fresh = med(f, |x| ms(x.ready_fresh));
        let warm = med(f, |x| ms(x.ready_warm));
        println!(
            "| start → `/readyz` 200, {}: new database (migrations) / existing | {fresh:.0} ms / **{warm:.0} ms** | ≤ 200 ms: {} |",
            db.name(),
            verdict_max(fresh.max(warm), 200.0, "ms")
        );
    }
    let mib = |b: u64| b as f64 / 1048576.0;
    println!(
        "| release binary size (as built / stripped) | {:.1} MiB / {} | |",
        mib(size),
        stripped.map_or("?".into(), |s| format!("{:.1} MiB", mib(s)))
    );
}

fn print_tally(title: &str, t: &e2e::CallTally) {
    println!(
        "\n{title}: **{:.1} calls** per lifecycle ({:.1} content-creating), token requests excluded ({} in all); by endpoint:\n",
        t.per_lifecycle, t.writes_per_lifecycle, t.token_requests
    );
    println!("| endpoint | calls per lifecycle |\n| --- | ---: |");
    for (endpoint, n) in &t.by_endpoint {
        println!("| `{endpoint}` | {n:.1} |");
    }
    if t.failed.is_empty() {
        println!("\nEvery call was answered 2xx or 304.");
    } else {
        println!(
            "\nCalls answered otherwise (all lifecycles): {:?}",
            t.failed
        );
    }
}

fn print_sequential(runs: &[e2e::SequentialFigures]) {
    let totals: Vec<f64> = runs
        .iter()
        .flat_map(|r| r.greens.iter().map(|g| ms(g.0)))
        .collect();
    let own: Vec<f64> = runs
        .iter()
        .flat_map(|r| r.greens.iter().map(|g| ms(g.1)))
        .collect();
    let own_fixed: Vec<f64> = runs
        .iter()
        .flat_map(|r| r.greens.iter().map(|g| ms(g.2)))
        .collect();
    let pct = |v: &[f64], q: f64| {
        let mut s = v.to_vec();
        s.sort_by(f64::total_cmp);
        let rank = ((q * s.len() as f64).ceil() as usize).clamp(1, s.len().max(1));
        s.get(rank - 1).copied().unwrap_or(f64::NAN)
    };
    let n: usize = runs.iter().map(|r| r.greens.len()).sum();
    println!(
        "\n### End to end: one PR at a time, 50 ms per GitHub call ({n} `check_suite` → `success` intervals)\n"
    );
    println!("| figure | p50 | p99 | target |\n| --- | ---: | ---: | --- |");
    println!(
        "| `check_suite` webhook → `success` status (ms) | {:.0} | {:.0} | |",
        pct(&totals, 0.5),
        pct(&totals, 0.99)
    );
    let own50 = pct(&own, 0.5);
    println!(
        "| of which Gangway's own time: no GitHub call in flight (ms) | **{own50:.1}** | {:.1} | ≤ 5 ms p50: {} |",
        pct(&own, 0.99),
        verdict_max(own50, 5.0, "ms")
    );
    println!(
        "| own time as the first passes counted it: each call exactly 50 ms from its arrival (ms) | {:.1} | {:.1} | |",
        pct(&own_fixed, 0.5),
        pct(&own_fixed, 0.99)
    );
    let mut gaps: std::collections::BTreeMap<&str, Vec<f64>> = Default::default();
    for r in runs {
        for (at, ds) in &r.gaps {
            gaps.entry(at)
                .or_default()
                .extend(ds.iter().map(|d| ms(*d)));
        }
    }
    println!("\nWhere Gangway's own time goes (median per interval, stretches of ≥ 0.1 ms):\n");
    println!("| between | ms |\n| --- | ---: |");
    let mut rows: Vec<(f64, &str)> = gaps
        .iter()
        .map(|(at, v)| (median(v.clone()), *at))
        .filter(|(m, _)| *m >= 0.1)
        .collect();
    rows.sort_by(|a, b| b.0.total_cmp(&a.0));
    for (m, at) in rows {
        println!("| {at} | {m:.1} |");
    }
    if let Some(last) = runs.last() {
        print_tally(
            "Full lifecycle (opened → green → deployed → push → green → deployed → merged)",
            &last.full,
        );
        print_tally(
            "Same-repository lifecycle opened → staged → closed, in a repository whose policy is cached",
            &last.staged,
        );
        println!(
            "\nPer repository (not per lifecycle): `GET /repos/{{repo}}/contents/.github/gangway.yml` \
             (policy) read {} time(s) over the warm-up and the staged lifecycles (again after a \
             push that changes it, or after `GANGWAY_POLICY_TTL_SECS`).",
            last.staged_policy_reads
        );
        println!(
            "\nTarget ≤ 8 calls for opened → staged → closed: {}.",
            verdict_max(last.staged.per_lifecycle, 8.0, "calls")
        );
    }
}

fn print_parallel(p: &e2e::ParallelFigures) {
    let mut g: Vec<f64> = p.greens.iter().map(|d| ms(*d)).collect();
    g.sort_by(f64::total_cmp);
    let pct = |q: f64| {
        let rank = ((q * g.len() as f64).ceil() as usize).clamp(1, g.len().max(1));
        g.get(rank - 1).copied().unwrap_or(f64::NAN)
    };
    println!(
        "\n### End to end: {} full lifecycles at once over {} installations, GitHub's secondary limits enforced\n",
        p.lifecycles, p.installations
    );
    println!("| figure | value | GitHub's limit |\n| --- | ---: | --- |");
    println!(
        "| wall time, all lifecycles | {:.1} s | |",
        p.wall.as_secs_f64()
    );
    println!(
        "| `check_suite` → `success` p50 / p99 | {:.2} s / {:.2} s | |",
        pct(0.5) / 1000.0,
        pct(0.99) / 1000.0
    );
    println!(
        "| API calls per lifecycle (content-creating) | {:.1} ({:.1}) | |",
        p.calls.per_lifecycle, p.calls.writes_per_lifecycle
    );
    println!(
        "| refused by the fake (403 secondary limit) | **{}** | 0 wanted |",
        p.secondary.refused()
    );
    println!(
        "| most writes by one installation in a rolling minute | {} | 80 |",
        p.max_writes_minute.max(p.secondary.max_writes_per_minute)
    );
    println!(
        "| most writes by one installation in the run (rolling hour) | {} | 500 |",
        p.secondary.max_writes_per_hour
    );
    println!(
        "| most calls in flight, one installation / all | {} / {} | 100 per installation |",
        p.secondary.max_in_flight, p.max_in_flight_calls
    );
    println!(
        "| calls Gangway held back (pacing) / total wait / longest | {} of {} / {:.1} s / {:.1} s | |",
        p.pacing.delayed,
        p.pacing.calls,
        p.pacing.waited.as_secs_f64(),
        p.pacing.longest_wait.as_secs_f64()
    );
    let timeline: Vec<String> = p.timeline.iter().map(usize::to_string).collect();
    println!(
        "\nPacing, busiest installation: writes per 10 s of the run: {}",
        timeline.join(" ")
    );
}

fn main() {
    let o = options();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("tokio runtime");
    runtime.block_on(async move {
        let pg = postgres_version(&o.postgres).await;
        println!("## Gangway system benchmark\n");
        for line in machine(pg.as_deref()) {
            println!("- {line}");
        }
        println!("- binary: {}", child::binary().display());

        let mut ingest_results: Vec<(Db, Vec<Figures>)> = Vec::new();
        for db in [Db::Sqlite, Db::Postgres] {
            let part = match db {
                Db::Sqlite => "ingest-sqlite",
                Db::Postgres => "ingest-postgres",
            };
            if !o.wants(part) {
                continue;
            }
            if db == Db::Postgres && pg.is_none() {
                println!("\n(PostgreSQL at {} not reachable: skipped)", o.postgres);
                continue;
            }
            let mut figs = Vec::new();
            for run in 0..o.runs {
                eprintln!("ingest on {} (run {} of {})…", db.name(), run + 1, o.runs);
                match ingest::run(db, &o.plan, &o.postgres, run).await {
                    Ok(f) => {
                        eprintln!(
                            "  {:.0}/s at {} connections, p99 {:.1} ms; steady p99 {:.2} ms; {} of {} durable, {} byte-identical",
                            f.throughput,
                            o.plan.concurrency,
                            ms(f.p99),
                            ms(f.steady_p99),
                            f.durable,
                            f.accepted,
                            f.intact
                        );
                        figs.push(f);
                    }
                    Err(e) => eprintln!("  failed: {e}"),
                }
            }
            if !figs.is_empty() {
                ingest_results.push((db, figs));
            }
        }
        print_ingest(&o, &ingest_results);
        if o.wants("ingress-only") {
            for db in [Db::Sqlite, Db::Postgres] {
                match ingest::ingress_only(db, &o.plan, &o.postgres).await {
                    Ok(f) => println!(
                        "\ningress alone (in-process, no workers), {}: {:.0}/s at {} connections, p50/p99/p99.9 {:.1}/{:.1}/{:.1} ms; steady {}/s p50/p99/p99.9 {:.2}/{:.2}/{:.2} ms",
                        db.name(),
                        f.throughput,
                        o.plan.concurrency,
                        ms(f.p50),
                        ms(f.p99),
                        ms(f.p999),
                        o.plan.steady_rate,
                        ms(f.steady_p50),
                        ms(f.steady_p99),
                        ms(f.steady_p999)
                    ),
                    Err(e) => println!("ingress alone on {}: {e}", db.name()),
                }
            }
        }

        if o.wants("e2e") || o.wants("parallel") {
            match e2e::World::start(4).await {
                Err(e) => println!("\n(end to end could not start: {e})"),
                Ok(w) => {
                    let mut base = 1000u64;
                    if o.wants("e2e") {
                        let mut seq = Vec::new();
                        for run in 0..o.runs {
                            eprintln!("end to end, one at a time (run {} of {})…", run + 1, o.runs);
                            match e2e::sequential(&w, o.sequential, o.staged, base).await {
                                Ok(s) => seq.push(s),
                                Err(e) => eprintln!("  failed: {e}"),
                            }
                            base += 1000;
                        }
                        if !seq.is_empty() {
                            print_sequential(&seq);
                        }
                    }
                    if o.wants("parallel") {
                        eprintln!(
                            "end to end, {} at once over {} installations…",
                            o.lifecycles, o.installations
                        );
                        match e2e::parallel(&w, o.lifecycles, o.installations, 100_000).await {
                            Ok(p) => print_parallel(&p),
                            Err(e) => println!("\n(parallel run failed: {e})"),
                        }
                    }
                    w.stop().await;
                }
            }
        }

        print_footprint(&ingest_results);
    });
}
