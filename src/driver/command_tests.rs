use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use super::*;

fn spec(action: DriverAction) -> DeploySpec {
    DeploySpec {
        action,
        repository: "acme/shop".to_owned(),
        pr_number: 42,
        sha: "0123456789abcdef0123456789abcdef01234567".to_owned(),
        host: "pr-42.preview.example.com".to_owned(),
        url: "https://pr-42.preview.example.com".to_owned(),
        environment: "pr-42".to_owned(),
        deployment_id: 9001,
        target: None,
        slot: None,
        alias_host: None,
    }
}

fn script(dir: &Path, name: &str, body: &str) -> String {
    use std::os::unix::fs::PermissionsExt;
    let path = dir.join(name);
    std::fs::write(&path, format!("#!/bin/sh\n{body}\n")).expect("write script");
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).expect("chmod");
    path.to_string_lossy().into_owned()
}

fn config(deploy: Vec<String>) -> CommandDriverConfig {
    CommandDriverConfig {
        deploy,
        timeout: Duration::from_secs(20),
        ..CommandDriverConfig::default()
    }
}

fn poll_until(what: &str, mut done: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(15);
    while !done() {
        assert!(Instant::now() < deadline, "timed out waiting for: {what}");
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Gone, or a zombie waiting for a container's init that may never reap it.
fn process_gone(pid: u32) -> bool {
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        Err(_) => true,
        Ok(stat) => stat
            .rsplit(')')
            .next()
            .is_some_and(|rest| rest.trim_start().starts_with('Z')),
    }
}

fn read_pid(path: &Path) -> u32 {
    let text = std::fs::read_to_string(path).expect("pid file written by the script");
    text.trim().parse().expect("pid")
}

#[tokio::test]
async fn success_keeps_stdout_stderr_and_the_command_line() {
    let dir = tempfile::tempdir().expect("tempdir");
    let deploy = script(
        dir.path(),
        "deploy",
        "echo to-stdout\necho to-stderr >&2\nexit 0",
    );
    let outcome = run(
        &config(vec![deploy.clone(), "arg1".into()]),
        &spec(DriverAction::Deploy),
    )
    .await;
    assert!(outcome.success, "{outcome:?}");
    assert_eq!(outcome.exit_code, Some(0));
    assert!(!outcome.timed_out);
    assert_eq!(outcome.summary, "exit 0");
    let lines: Vec<&str> = outcome.log.lines().collect();
    assert_eq!(
        lines.first().copied(),
        Some(format!("$ {deploy} arg1").as_str())
    );
    assert!(
        lines.contains(&"to-stdout") && lines.contains(&"to-stderr"),
        "{}",
        outcome.log
    );
    assert_eq!(lines.last().copied(), Some("exit 0"));
}

#[tokio::test]
async fn teardown_runs_the_teardown_command() {
    let dir = tempfile::tempdir().expect("tempdir");
    let cfg = CommandDriverConfig {
        deploy: vec![script(dir.path(), "deploy", "echo wrong; exit 1")],
        teardown: vec![script(
            dir.path(),
            "teardown",
            "echo \"tearing $GANGWAY_ACTION\"",
        )],
        ..config(Vec::new())
    };
    let outcome = run(&cfg, &spec(DriverAction::Teardown)).await;
    assert!(outcome.success, "{outcome:?}");
    assert!(
        outcome.log.contains("tearing teardown\n"),
        "{}",
        outcome.log
    );
}

#[tokio::test]
async fn nonzero_exit_is_a_failure() {
    let dir = tempfile::tempdir().expect("tempdir");
    let deploy = script(dir.path(), "deploy", "echo nope\nexit 3");
    let outcome = run(&config(vec![deploy]), &spec(DriverAction::Deploy)).await;
    assert!(!outcome.success);
    assert_eq!(outcome.exit_code, Some(3));
    assert!(!outcome.timed_out);
    assert_eq!(outcome.summary, "exit 3");
    assert!(outcome.log.ends_with("nope\nexit 3\n"), "{}", outcome.log);
}

#[tokio::test]
async fn environment_is_clean_apart_from_gangway_path_home_and_pass_through() {
    let dir = tempfile::tempdir().expect("tempdir");
    let deploy = script(dir.path(), "deploy", "env");
    // Two variables of this test process that the child must not see by default; one is then
    // passed through by name. Skip values with newlines, which `env` output cannot carry.
    let allowed = ["PATH", "HOME", "PWD", "SHLVL", "_", "OLDPWD"];
    let mut others = std::env::vars()
        .filter(|(name, _)| !allowed.contains(&name.as_str()) && !name.starts_with("GANGWAY_"))
        .filter(|(name, value)| !value.contains('\n') && !name.is_empty());
    let (passed_name, passed_value) = others.next().expect("the test process has some variable");
    let (hidden_name, _) = others
        .next()
        .expect("the test process has a second variable");
    let cfg = CommandDriverConfig {
        pass_env: vec![
            passed_name.clone(),
            "GANGWAY_UNSET_FOR_SURE_1234".into(),
            "BAD=NAME".into(),
        ],
        ..config(vec![deploy])
    };
    let outcome = run(&cfg, &spec(DriverAction::Deploy)).await;
    assert!(outcome.success, "{outcome:?}");
    let env: BTreeMap<&str, &str> = outcome
        .log
        .lines()
        .filter_map(|line| line.split_once('='))
        .collect();

    let gangway: BTreeMap<&str, &str> = env
        .iter()
        .filter(|(name, _)| name.starts_with("GANGWAY_"))
        .map(|(n, v)| (*n, *v))
        .collect();
    let expected: BTreeMap<&str, &str> = [
        ("GANGWAY_ACTION", "deploy"),
        ("GANGWAY_REPOSITORY", "acme/shop"),
        ("GANGWAY_PR_NUMBER", "42"),
        ("GANGWAY_SHA", "0123456789abcdef0123456789abcdef01234567"),
        ("GANGWAY_SHORT_SHA", "0123456"),
        ("GANGWAY_HOST", "pr-42.preview.example.com"),
        ("GANGWAY_URL", "https://pr-42.preview.example.com"),
        ("GANGWAY_ENVIRONMENT", "pr-42"),
        ("GANGWAY_DEPLOYMENT_ID", "9001"),
    ]
    .into_iter()
    .collect();
    assert_eq!(gangway, expected);
    let expected_path =
        std::env::var("PATH").unwrap_or_else(|_| "/usr/local/bin:/usr/bin:/bin".into());
    assert_eq!(env.get("PATH").copied(), Some(expected_path.as_str()));
    assert_eq!(
        env.get(passed_name.as_str()).copied(),
        Some(passed_value.as_str())
    );
    assert!(
        !env.contains_key(hidden_name.as_str()),
        "{hidden_name} leaked: {}",
        outcome.log
    );
    let names: BTreeSet<&str> = env.keys().copied().collect();
    for name in names {
        assert!(
            name.starts_with("GANGWAY_") || allowed.contains(&name) || name == passed_name,
            "unexpected variable {name} in {}",
            outcome.log
        );
    }
}

#[test]
fn environment_lists_exactly_the_gangway_variables() {
    let vars = environment(&spec(DriverAction::Teardown));
    assert_eq!(vars.len(), 9);
    assert!(vars.iter().all(|(name, _)| name.starts_with("GANGWAY_")));
    assert!(vars.contains(&("GANGWAY_ACTION".into(), "teardown".into())));
    let short = environment(&DeploySpec {
        sha: "abc".into(),
        ..spec(DriverAction::Deploy)
    });
    assert!(short.contains(&("GANGWAY_SHORT_SHA".into(), "abc".into())));
    // A target's deployment also gets GANGWAY_TARGET; nothing else does.
    assert!(!vars.iter().any(|(name, _)| name == "GANGWAY_TARGET"));
    let target = environment(&DeploySpec {
        environment: "production-au".into(),
        target: Some("au".into()),
        ..spec(DriverAction::Deploy)
    });
    assert_eq!(target.len(), 10);
    assert!(target.contains(&("GANGWAY_TARGET".into(), "au".into())));
}

async fn assert_timeout_kills_group(
    body: &str,
    timeout: Duration,
    kill_grace: Duration,
) -> RunOutcome {
    let dir = tempfile::tempdir().expect("tempdir");
    let pid_file: PathBuf = dir.path().join("pid");
    let deploy = script(dir.path(), "deploy", body);
    let cfg = CommandDriverConfig {
        timeout,
        kill_grace,
        ..config(vec![deploy, pid_file.to_string_lossy().into_owned()])
    };
    let started = Instant::now();
    let outcome = run(&cfg, &spec(DriverAction::Deploy)).await;
    assert!(
        started.elapsed() < Duration::from_secs(10),
        "took {:?}",
        started.elapsed()
    );
    assert!(outcome.timed_out && !outcome.success, "{outcome:?}");
    assert!(
        outcome.summary.starts_with("timed out after"),
        "{}",
        outcome.summary
    );
    assert!(outcome.log.ends_with(&format!("{}\n", outcome.summary)));
    let grandchild = read_pid(&pid_file);
    poll_until("background grandchild killed", || process_gone(grandchild));
    outcome
}

#[tokio::test]
async fn timeout_kills_the_whole_process_group() {
    let body = "sleep 30 &\necho $! > \"$1\"\necho started\nsleep 30";
    let outcome =
        assert_timeout_kills_group(body, Duration::from_millis(500), Duration::from_secs(5)).await;
    assert_eq!(outcome.summary, "timed out after 500 ms");
    assert!(outcome.log.contains("started\n"), "{}", outcome.log);
}

#[tokio::test]
async fn sigterm_ignored_is_killed_after_the_grace() {
    let body = "trap '' TERM\nsleep 30 &\necho $! > \"$1\"\nsleep 30";
    let grace = Duration::from_millis(300);
    let outcome = assert_timeout_kills_group(body, Duration::from_millis(300), grace).await;
    assert!(
        outcome.duration >= Duration::from_millis(600),
        "{:?}",
        outcome.duration
    );
}

#[tokio::test]
async fn background_leftovers_are_killed_after_a_normal_exit() {
    let dir = tempfile::tempdir().expect("tempdir");
    let pid_file = dir.path().join("pid");
    // The leftover keeps our pipes open too: the run must still end promptly.
    let deploy = script(dir.path(), "deploy", "sleep 30 &\necho $! > \"$1\"\nexit 0");
    let cfg = config(vec![deploy, pid_file.to_string_lossy().into_owned()]);
    let started = Instant::now();
    let outcome = run(&cfg, &spec(DriverAction::Deploy)).await;
    assert!(outcome.success, "{outcome:?}");
    assert!(started.elapsed() < Duration::from_secs(10));
    let leftover = read_pid(&pid_file);
    poll_until("leftover killed", || process_gone(leftover));
}

#[tokio::test]
async fn huge_output_is_capped_keeping_head_and_tail() {
    let dir = tempfile::tempdir().expect("tempdir");
    // 400 000 lines of 25 bytes: 10 MB. All on stdout: order across two pipes is not defined.
    let body =
        "echo FIRST-LINE\nyes 'filler filler filler 1' | head -n 400000\necho LAST-LINE\nexit 1";
    let deploy = script(dir.path(), "deploy", body);
    let cfg = CommandDriverConfig {
        max_log_bytes: 64 * 1024,
        ..config(vec![deploy])
    };
    let outcome = run(&cfg, &spec(DriverAction::Deploy)).await;
    assert!(!outcome.success);
    assert_eq!(outcome.exit_code, Some(1));
    assert!(
        outcome.log.len() <= 64 * 1024 + 100,
        "log is {} bytes",
        outcome.log.len()
    );
    assert!(
        outcome.log.contains("bytes of output omitted]"),
        "no marker"
    );
    let lines: Vec<&str> = outcome.log.lines().collect();
    assert!(lines[0].starts_with("$ "));
    assert_eq!(lines[1], "FIRST-LINE");
    assert_eq!(&lines[lines.len() - 2..], ["LAST-LINE", "exit 1"]);
    // The head is no more than a quarter of the cap.
    let marker = outcome.log.find("[gangway:").expect("marker");
    assert!(marker <= 16 * 1024, "head is {marker} bytes");
}

#[tokio::test]
async fn very_long_lines_are_split_and_bounded() {
    let dir = tempfile::tempdir().expect("tempdir");
    // One 3 MB line without any newline.
    let deploy = script(
        dir.path(),
        "deploy",
        "head -c 3000000 /dev/zero | tr '\\0' x",
    );
    let cfg = CommandDriverConfig {
        max_log_bytes: 200 * 1024,
        ..config(vec![deploy])
    };
    let outcome = run(&cfg, &spec(DriverAction::Deploy)).await;
    assert!(outcome.success, "{}", outcome.summary);
    assert!(outcome.log.len() <= 200 * 1024 + 100);
    assert!(outcome.log.lines().all(|line| line.len() <= 64 * 1024));
}

#[tokio::test]
async fn secrets_are_redacted() {
    let dir = tempfile::tempdir().expect("tempdir");
    let secret = "s3cr3t-t0ken-value";
    let body = "echo \"token=$1\"\necho \"$1$1\" >&2\nprintf 's3cr3t-' ; printf 't0ken-value\\n' >&2\necho \"$1 again\"";
    let deploy = script(dir.path(), "deploy", body);
    let cfg = CommandDriverConfig {
        redact: vec![secret.into(), "abc".into()],
        ..config(vec![deploy, secret.into()])
    };
    let outcome = run(&cfg, &spec(DriverAction::Deploy)).await;
    assert!(outcome.success, "{outcome:?}");
    assert!(!outcome.log.contains(secret), "{}", outcome.log);
    assert!(
        outcome.log.contains("token=[REDACTED]\n"),
        "{}",
        outcome.log
    );
    assert!(outcome.log.contains("[REDACTED][REDACTED]\n"));
    assert!(outcome.log.contains("[REDACTED] again\n"));
    assert!(
        outcome
            .log
            .lines()
            .next()
            .is_some_and(|line| line.ends_with(" [REDACTED]"))
    );
}

#[test]
fn an_over_long_line_is_split_between_characters() {
    assert_eq!(split_point(b"xxxxTOPSECRET!"), 14);
    assert_eq!(split_point("xxxé".as_bytes()), 5);
    assert_eq!(split_point(&"xxé".as_bytes()[..3]), 2);
    assert_eq!(split_point(&"x€".as_bytes()[..3]), 1);
    assert_eq!(split_point(&[0xFF; 10]), 10);
}

#[tokio::test]
async fn a_secret_cut_by_the_split_of_an_over_long_line_is_still_redacted() {
    // 64 KiB - 5 bytes, then the secret: the split falls inside it.
    let log = log_of(
        "head -c 65531 /dev/zero | tr '\\0' x; printf '%s done\\n' \"$1\"",
        &["TOPSECRET-value"],
        &["TOPSECRET-value"],
    )
    .await;
    assert!(!log.contains("TOPSE"), "{}", &log[log.len() - 200..]);
    assert!(!log.contains("CRET-value"), "{}", &log[log.len() - 200..]);
    assert!(
        log.contains("\n[REDACTED] done\n"),
        "{}",
        &log[log.len() - 200..]
    );
}

#[tokio::test]
async fn programs_that_cannot_start_fail_cleanly() {
    let dir = tempfile::tempdir().expect("tempdir");
    let missing = dir.path().join("missing").to_string_lossy().into_owned();
    let outcome = run(&config(vec![missing.clone()]), &spec(DriverAction::Deploy)).await;
    assert!(!outcome.success && outcome.exit_code.is_none() && !outcome.timed_out);
    assert!(
        outcome
            .summary
            .starts_with(&format!("could not start {missing}: ")),
        "{}",
        outcome.summary
    );
    assert!(
        outcome.summary.contains("No such file"),
        "{}",
        outcome.summary
    );
    assert!(outcome.log.ends_with(&format!("{}\n", outcome.summary)));

    let plain = dir.path().join("plain");
    std::fs::write(&plain, "#!/bin/sh\necho hi\n").expect("write");
    let plain = plain.to_string_lossy().into_owned();
    let outcome = run(&config(vec![plain.clone()]), &spec(DriverAction::Deploy)).await;
    assert!(!outcome.success);
    assert!(
        outcome
            .summary
            .starts_with(&format!("could not start {plain}: ")),
        "{}",
        outcome.summary
    );
    assert!(
        outcome.summary.contains("Permission denied"),
        "{}",
        outcome.summary
    );

    let outcome = run(&config(Vec::new()), &spec(DriverAction::Deploy)).await;
    assert!(!outcome.success);
    assert!(
        outcome.summary.starts_with("could not start"),
        "{}",
        outcome.summary
    );

    let deploy = script(dir.path(), "deploy", "exit 0");
    let cfg = CommandDriverConfig {
        working_dir: Some(dir.path().join("nowhere")),
        ..config(vec![deploy])
    };
    let outcome = run(&cfg, &spec(DriverAction::Deploy)).await;
    assert!(
        !outcome.success && outcome.summary.contains("nowhere"),
        "{}",
        outcome.summary
    );
}

#[tokio::test]
async fn arguments_arrive_literally() {
    let dir = tempfile::tempdir().expect("tempdir");
    let deploy = script(
        dir.path(),
        "deploy",
        "printf '[%s]\\n' \"$1\" \"$2\" \"$#\"\npwd",
    );
    let nasty = "x; rm -rf / $(whoami) `id` \"q\" *";
    let cfg = CommandDriverConfig {
        working_dir: Some(dir.path().to_path_buf()),
        ..config(vec![deploy, nasty.into(), "$HOME".into()])
    };
    let outcome = run(&cfg, &spec(DriverAction::Deploy)).await;
    assert!(outcome.success, "{outcome:?}");
    assert!(
        outcome.log.contains(&format!("[{nasty}]\n[$HOME]\n[2]\n")),
        "{}",
        outcome.log
    );
    let cwd = dir.path().canonicalize().expect("canonical tempdir");
    assert!(
        outcome.log.contains(&format!("{}\n", cwd.display())),
        "{}",
        outcome.log
    );
}

#[test]
fn argv_from_words_splits_on_whitespace_only() {
    assert_eq!(
        CommandDriverConfig::argv_from_words("  /bin/deploy   --fast\t--env\tprod \n"),
        ["/bin/deploy", "--fast", "--env", "prod"]
    );
    assert_eq!(
        CommandDriverConfig::argv_from_words(r#"deploy "a b" 'c' $X;y"#),
        ["deploy", "\"a", "b\"", "'c'", "$X;y"]
    );
    assert!(CommandDriverConfig::argv_from_words(" \t ").is_empty());
}

#[test]
fn capped_log_keeps_head_and_tail_within_the_cap() {
    let mut log = CappedLog::new(100);
    for i in 0..1000 {
        log.push(format!("line {i:04}"));
    }
    let text = log.finish();
    assert!(text.starts_with("line 0000\nline 0001\n"));
    assert!(text.ends_with("line 0999\n"));
    assert!(text.len() <= 100 + 60, "{text}");
    let omitted = 1000 * 10 - text.lines().filter(|l| l.starts_with("line ")).count() * 10;
    assert!(
        text.contains(&format!("[gangway: {omitted} bytes of output omitted]")),
        "{text}"
    );

    let mut small = CappedLog::new(1000);
    small.push("only".into());
    assert_eq!(small.finish(), "only\n");
}

#[tokio::test]
async fn cancelling_the_run_kills_the_group() {
    let dir = tempfile::tempdir().expect("tempdir");
    let pid_file = dir.path().join("pid");
    let deploy = script(
        dir.path(),
        "deploy",
        "sleep 30 &\necho $! > \"$1.tmp\"\nmv \"$1.tmp\" \"$1\"\nsleep 30",
    );
    let cfg = config(vec![deploy, pid_file.to_string_lossy().into_owned()]);
    let task = tokio::spawn(async move { run(&cfg, &spec(DriverAction::Deploy)).await });
    let deadline = Instant::now() + Duration::from_secs(15);
    while !pid_file.exists() {
        assert!(Instant::now() < deadline, "script never started");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    task.abort();
    assert!(task.await.is_err_and(|error| error.is_cancelled()));
    let grandchild = read_pid(&pid_file);
    poll_until("grandchild killed on cancel", || process_gone(grandchild));
}

#[tokio::test]
async fn output_held_open_by_an_escaped_process_does_not_hang_the_run() {
    let dir = tempfile::tempdir().expect("tempdir");
    let pid_file = dir.path().join("pid");
    // setsid leaves our process group, so only the bounded drain ends the run. The pid is
    // written after setsid, and awaited, or the group kill could still catch it.
    let body = "setsid sh -c 'echo $$ > \"$1\"; exec sleep 30' sh \"$1\" &\n\
                while [ ! -s \"$1\" ]; do sleep 0.01; done\necho done\nexit 0";
    let deploy = script(dir.path(), "deploy", body);
    let cfg = config(vec![deploy, pid_file.to_string_lossy().into_owned()]);
    let started = Instant::now();
    let outcome = run(&cfg, &spec(DriverAction::Deploy)).await;
    let escaped = read_pid(&pid_file);
    // SAFETY: plain kill(2) of the process this test started.
    unsafe { libc::kill(libc::pid_t::try_from(escaped).expect("pid"), libc::SIGKILL) };
    assert!(
        started.elapsed() < Duration::from_secs(10),
        "took {:?}",
        started.elapsed()
    );
    assert!(outcome.success, "{outcome:?}");
    assert!(
        outcome
            .log
            .contains("done\n[gangway: stopped reading output"),
        "{}",
        outcome.log
    );
}

#[tokio::test]
async fn a_script_still_open_for_writing_briefly_is_started_once_released() {
    let dir = tempfile::tempdir().expect("tempdir");
    let deploy = script(dir.path(), "deploy", "echo started\nexit 0");
    // Another thread forking while the script is being written holds a writer like this one.
    let writer = std::fs::OpenOptions::new()
        .append(true)
        .open(&deploy)
        .expect("open for writing");
    let release = std::thread::spawn(move || {
        std::thread::sleep(Duration::from_millis(30));
        drop(writer);
    });
    let outcome = run(&config(vec![deploy]), &spec(DriverAction::Deploy)).await;
    release.join().expect("release thread");
    assert!(outcome.success, "{outcome:?}");
    assert!(outcome.log.contains("started"), "{}", outcome.log);
}

#[tokio::test]
async fn a_script_held_open_for_writing_fails_with_the_reason() {
    let dir = tempfile::tempdir().expect("tempdir");
    let deploy = script(dir.path(), "deploy", "exit 0");
    let _writer = std::fs::OpenOptions::new()
        .append(true)
        .open(&deploy)
        .expect("open for writing");
    let outcome = run(&config(vec![deploy]), &spec(DriverAction::Deploy)).await;
    assert!(!outcome.success);
    assert!(outcome.summary.contains("busy"), "{}", outcome.summary);
}

/// Runs `body` as the deploy script with `args`, redacting `secrets`; returns the stored log.
async fn log_of(body: &str, args: &[&str], secrets: &[&str]) -> String {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut argv = vec![script(dir.path(), "deploy", body)];
    argv.extend(args.iter().map(|a| a.to_string()));
    let cfg = CommandDriverConfig {
        redact: secrets.iter().map(|s| s.to_string()).collect(),
        ..config(argv)
    };
    let outcome = run(&cfg, &spec(DriverAction::Deploy)).await;
    assert!(outcome.success, "{outcome:?}");
    outcome.log
}

const PEM: &str = include_str!("../../fixtures/test-app-key.pem");

/// The key's body lines (what a leak of the key would be made of).
fn pem_lines() -> Vec<&'static str> {
    PEM.lines().filter(|l| !l.starts_with("-----")).collect()
}

#[tokio::test]
async fn a_multi_line_secret_is_redacted_whole_and_line_by_line() {
    // Short lines that mean nothing alone, and a JSON document whose lines are printed apart.
    let short = "k9\nQz\n7w";
    let json = "{\n  \"type\": \"service_account\",\n  \"private_key_id\": \"a1b2c3d4e5f6\"\n}";
    let log = log_of(
        "printf '%s\\n' \"$1\"; echo \"--\"; printf '%s\\n' \"$2\"; printf 'id=%s\\n' \"$3\"",
        &[short, json, "  \"private_key_id\": \"a1b2c3d4e5f6\""],
        &[short, json],
    )
    .await;
    assert!(!log.contains("k9\nQz\n7w"), "{log}");
    assert!(!log.contains("a1b2c3d4e5f6"), "{log}");
    assert!(!log.contains("service_account"), "{log}");
    assert!(log.contains("--\n"), "{log}");
}

#[tokio::test]
async fn a_short_secret_is_redacted_too() {
    let log = log_of("echo \"pw=$1.\"", &["x7!"], &["x7!"]).await;
    assert!(log.contains("pw=[REDACTED].\n"), "{log}");
}

#[tokio::test]
async fn base64_forms_of_a_secret_are_redacted_at_every_offset_and_wrapping() {
    let secret = "whsec-Xq7vRt2Lp9sKm4Bz";
    let body = r#"
printf '%s' "$1" | base64
printf '%s' "$1" | base64 | tr -d '='
printf '%s' "$1" | base64 | tr '+/' '-_'
printf 'a%s' "$1" | base64
printf 'ab%s' "$1" | base64
printf 'abc%s' "$1" | base64
printf 'header %s trailer\n' "$1" | base64 -w0; echo
printf '%s' "$2" | base64
printf '%s' "$2" | base64 -w 50
echo done
"#;
    let log = log_of(body, &[secret, PEM], &[secret, PEM]).await;
    assert!(log.contains("\ndone\n"), "{log}");
    use base64::Engine;
    use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
    for prefix in ["", "a", "ab", "abc", "header "] {
        // The characters the secret alone decides at this alignment: none of any 6 in a row
        // may be on the page.
        let full = STANDARD.encode(format!("{prefix}{secret}"));
        let core = &full[(8 * prefix.len()).div_ceil(6)..8 * (prefix.len() + secret.len()) / 6];
        for at in 0..=core.len() - 6 {
            let w = &core[at..at + 6];
            assert!(
                !log.contains(w),
                "{w:?} of {core} after {prefix:?} in\n{log}"
            );
        }
    }
    assert!(!log.contains(&URL_SAFE_NO_PAD.encode(secret)), "{log}");
    // The key's encoding, wrapped at 76 or 50 columns, leaves no line of it readable.
    let pem_b64 = STANDARD.encode(PEM);
    for line in log.lines().filter(|l| l.len() >= 16) {
        assert!(
            !pem_b64.contains(line),
            "a line of the key's base64: {line}\n{log}"
        );
    }
}

#[tokio::test]
async fn percent_encoded_forms_of_a_secret_are_redacted() {
    let secret = "p@ss/w0rd+key=1&x";
    let all = percent_encoding::utf8_percent_encode(secret, percent_encoding::NON_ALPHANUMERIC)
        .to_string();
    let component = "p%40ss%2Fw0rd%2Bkey%3D1%26x";
    let log = log_of(
        "echo \"url=https://h/?t=$1\"; echo \"form=$2\"",
        &[&all, component],
        &[secret],
    )
    .await;
    assert!(log.contains("url=https://h/?t=[REDACTED]\n"), "{log}");
    assert!(log.contains("form=[REDACTED]\n"), "{log}");
}

#[tokio::test]
async fn every_line_of_the_key_is_redacted_even_when_printed_joined_or_cut() {
    let joined: String = pem_lines().concat();
    let log = log_of(
        "printf '%s\\n' \"$1\"; printf '%s\\n' \"$2\" | cut -c 5-40",
        &[&joined, PEM],
        &[PEM],
    )
    .await;
    for line in pem_lines() {
        assert!(!log.contains(&line[..16]), "{line} in\n{log}");
        assert!(!log.contains(&line[10..30]), "{line} in\n{log}");
    }
}
