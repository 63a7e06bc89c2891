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
    let mut url = String::new();
    loop {
        let line = rx
            .recv_timeout(Duration::from_secs(60))
            .unwrap_or_else(|_| panic!("demo stalled:\n{}", lines.join("\n")));
        lines.push(line.clone());
        if let Some(u) = line.strip_prefix("Open the live preview of #2: ") {
            url = u.to_owned();
        }
        if line.contains("Promote #2 again") {
            break;
        }
    }
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

    // The dashboard: sign in as the maintainer through the fake GitHub, stage the fork's
    // commit with the button, and watch its preview go live on the PR's page.
    let after = |prefix: &str| {
        lines
            .iter()
            .find_map(|l| l.trim().strip_prefix(prefix).map(str::to_owned))
            .unwrap_or_else(|| panic!("no line starting {prefix:?}:\n{timeline}"))
    };
    let dashboard = after("Open the dashboard: ");
    let gangway = dashboard.trim_end_matches('/').to_owned();
    let fake_url = after("fake GitHub").trim().to_owned();
    let fork_page = after("Stage the fork's commit: ");
    let path = fork_page
        .strip_prefix(&gangway)
        .expect("a page of the dashboard")
        .to_owned();
    assert!(timeline.contains("signs you in as @mona"), "{timeline}");
    let mona = support::signin::Session::sign_in_at(&gangway, &fake_url, "mona").await;
    let home = mona.get("/").await.text().await.unwrap();
    assert!(
        home.contains("Signed in as <strong>mona</strong>"),
        "{home}"
    );
    let page = mona.get(&path).await.text().await.unwrap();
    let at = page.find("id=\"head-sha\"").expect("the head commit shown");
    let sha: String = page[at..]
        .split('>')
        .nth(1)
        .unwrap_or_default()
        .chars()
        .take_while(char::is_ascii_hexdigit)
        .collect();
    assert!(sha.len() >= 7, "{page}");
    assert!(
        page.contains("data-command=\"stage\""),
        "no Stage button: {page}"
    );
    let form = support::signin::encode(&[
        ("csrf", mona.csrf.as_str()),
        ("command", "stage"),
        ("sha", sha.as_str()),
    ]);
    let outcome = mona
        .post(&format!("{path}/actions"), Default::default(), form)
        .await
        .text()
        .await
        .unwrap();
    assert!(
        outcome.contains("class=\"flash accepted\""),
        "Stage was not accepted: {outcome}"
    );
    support::wait_for("the fork's preview live", Duration::from_secs(60), || {
        let page = mona.get(&path);
        let sha = sha.clone();
        async move {
            let html = page.await.text().await.ok()?;
            let row = html.find(&format!("data-sha=\"{sha}"))?;
            html[row..]
                .find("state-live")
                .filter(|i| *i < 600)
                .map(|_| ())
        }
    })
    .await;

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
