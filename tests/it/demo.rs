//! `gangway demo`, run as a newcomer would: the timeline, then a live preview to open.

use crate::support;

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

#[tokio::test]
async fn demo_plays_a_pr_life_and_leaves_a_preview_to_open() {
    let mut child = Command::new(env!("CARGO_BIN_EXE_gangway"))
        .args(["demo", "--port", &support::free_port().to_string()])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    let mut lines = Vec::new();
    let url = loop {
        let line = rx
            .recv_timeout(Duration::from_secs(60))
            .unwrap_or_else(|_| panic!("demo stalled:\n{}", lines.join("\n")));
        lines.push(line.clone());
        if let Some(u) = line.strip_prefix("Open the live preview of #2: ") {
            break u.to_owned();
        }
    };
    let timeline = lines.join("\n");
    for want in [
        "alice opened pull request #1",
        "Gangway stays quiet until there is a preview to link",
        "Gangway commented: ",
        "queued → in_progress → success",
        "**Live**",
        "Gangway's stable link for #1: 🔗 **Stable link** (follows the latest commit of this pull request): https://pr-1.demo.example.org",
        "alice pushed commit",
        "queued → in_progress → success → inactive",
        "**Torn down**: the pull request was merged",
        "mona (a maintainer) commented `/promote production` on #2",
        "production: deployment of",
        "to production: queued → in_progress → success",
        "dave opened pull request #3 \"Fix a typo\" from his fork",
        "**Waiting for approval**",
    ] {
        assert!(
            timeline.contains(want),
            "timeline lacks {want:?}:\n{timeline}"
        );
    }
    let page = support::test_http_client().get(&url).send().await.unwrap();
    assert_eq!(page.status(), 200);
    assert!(
        page.text()
            .await
            .unwrap()
            .contains("Preview of octo/demo #2")
    );

    assert!(
        Command::new("kill")
            .args(["-INT", &child.id().to_string()])
            .status()
            .unwrap()
            .success()
    );
    let status = tokio::task::spawn_blocking(move || child.wait())
        .await
        .unwrap()
        .unwrap();
    assert!(status.success(), "{status:?}");
}

#[test]
fn demo_runs_the_operators_own_driver() {
    let dir = tempfile::tempdir().unwrap();
    let record = dir.path().join("runs.txt");
    let script = dir.path().join("driver.sh");
    support::world::write_script(
        &script,
        &format!(
            "#!/bin/sh\necho \"$GANGWAY_ACTION $GANGWAY_ENVIRONMENT\" >> {}\n",
            record.display()
        ),
    );
    let out = Command::new(env!("CARGO_BIN_EXE_gangway"))
        .args([
            "demo",
            "--exit",
            "--port",
            &support::free_port().to_string(),
            "--driver-command",
        ])
        .arg(&script)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let runs = std::fs::read_to_string(&record).unwrap();
    // Each PR's first deploy creates (#1, #2); #1's push deploys; #2 is promoted to
    // production; the fork's #3 waits for approval and runs nothing.
    assert_eq!(
        runs.lines().filter(|l| l.starts_with("create")).count(),
        2,
        "{runs}"
    );
    assert_eq!(
        runs.lines().filter(|l| *l == "deploy pr-1").count(),
        1,
        "{runs}"
    );
    assert_eq!(
        runs.lines().filter(|l| *l == "deploy production").count(),
        1,
        "{runs}"
    );
    assert!(!runs.contains("pr-3"), "{runs}");
    assert_eq!(
        runs.lines()
            .filter(|l| l.starts_with("teardown pr-1"))
            .count(),
        2,
        "{runs}"
    );
}
