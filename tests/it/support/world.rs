//! A whole world for end-to-end tests: the fake GitHub (sending signed webhooks to Gangway),
//! Gangway with a fresh database, and a command driver made of small shell scripts that record
//! every run in a file.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use fake_github::{Comment, FakeConfig, FakeGitHub, WebhookTarget};
use gangway::clock::SharedClock;
use gangway::jobs::{JobKind, JobState};

use super::{APP_ID, PUBLIC_KEY_PEM, SECRET, TestApp, TestDb};

pub const REPO: &str = "octo/app";

pub struct World {
    pub fake: Arc<FakeGitHub>,
    pub app: TestApp,
    pub dir: tempfile::TempDir,
    pub record: PathBuf,
    pub repo_id: u64,
    settings: Vec<(String, String)>,
    clock: SharedClock,
    /// Job kinds the test expects to die (see [`World::allow_dead`]); any other dead job fails
    /// [`World::settle`].
    allowed_dead: std::sync::Mutex<Vec<&'static str>>,
}

/// A deploy script that records its run and prints a little.
pub fn recording_script(record: &std::path::Path, what: &str, tail: &str) -> String {
    format!(
        "#!/bin/sh\necho \"{what} $GANGWAY_PR_NUMBER $GANGWAY_SHA $GANGWAY_HOST $GANGWAY_ENVIRONMENT $GANGWAY_DEPLOYMENT_ID\" >> {}\necho \"{what} of $GANGWAY_URL\"\n{tail}\n",
        record.display()
    )
}

impl World {
    pub async fn start() -> World {
        Self::start_with("", "", &[]).await
    }

    /// `deploy_tail`/`teardown_tail` are appended to the recording scripts (e.g. `exit 3`).
    pub async fn start_with(
        deploy_tail: &str,
        teardown_tail: &str,
        extra: &[(&str, &str)],
    ) -> World {
        Self::start_clocked(
            deploy_tail,
            teardown_tail,
            extra,
            Arc::new(gangway::clock::SystemClock),
        )
        .await
    }

    /// As `start_with`, on a clock the test moves.
    pub async fn start_clocked(
        deploy_tail: &str,
        teardown_tail: &str,
        extra: &[(&str, &str)],
        clock: SharedClock,
    ) -> World {
        Self::start_full(
            deploy_tail,
            teardown_tail,
            extra,
            clock,
            TestDb::new().await,
        )
        .await
    }

    /// As `start_with`, on a database the test made (e.g. on a filesystem of its own).
    pub async fn start_on_db(extra: &[(&str, &str)], db: TestDb) -> World {
        Self::start_full("", "", extra, Arc::new(gangway::clock::SystemClock), db).await
    }

    /// As `start_with`, with Gangway's public URL its real address (`http://127.0.0.1:PORT`), so
    /// a browser can follow its redirects and its same-origin checks see the browser's origin.
    pub async fn start_browsable(extra: &[(&str, &str)]) -> World {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let public = format!("http://{}", listener.local_addr().expect("addr"));
        let mut settings: Vec<(&str, &str)> = vec![("GANGWAY_PUBLIC_URL", &public)];
        settings.extend_from_slice(extra);
        Self::start_inner(
            "",
            "",
            &settings,
            Arc::new(gangway::clock::SystemClock),
            TestDb::new().await,
            Some(listener),
        )
        .await
    }

    async fn start_full(
        deploy_tail: &str,
        teardown_tail: &str,
        extra: &[(&str, &str)],
        clock: SharedClock,
        db: TestDb,
    ) -> World {
        Self::start_inner(deploy_tail, teardown_tail, extra, clock, db, None).await
    }

    async fn start_inner(
        deploy_tail: &str,
        teardown_tail: &str,
        extra: &[(&str, &str)],
        clock: SharedClock,
        db: TestDb,
        listener: Option<tokio::net::TcpListener>,
    ) -> World {
        let fake = Arc::new(
            FakeGitHub::start(FakeConfig::new(APP_ID, PUBLIC_KEY_PEM))
                .await
                .expect("fake github"),
        );
        fake.add_installation(1, "octo");
        let repo_id = fake.add_repo(1, REPO, "main").expect("repo").id;
        let dir = tempfile::tempdir().expect("tempdir");
        let record = dir.path().join("driver-runs.txt");
        let deploy = dir.path().join("deploy.sh");
        let teardown = dir.path().join("teardown.sh");
        write_script(&deploy, &recording_script(&record, "deploy", deploy_tail));
        write_script(
            &teardown,
            &recording_script(&record, "teardown", teardown_tail),
        );
        let (d, t) = (deploy.display().to_string(), teardown.display().to_string());
        let mut settings: Vec<(&str, &str)> = vec![
            ("GANGWAY_DRIVER", "command"),
            ("GANGWAY_DEPLOY_COMMAND", &d),
            ("GANGWAY_TEARDOWN_COMMAND", &t),
            ("GANGWAY_PUBLIC_URL", "http://gangway.test"),
        ];
        settings.extend_from_slice(extra);
        let app = match listener {
            Some(l) => TestApp::start_listening(db, fake.url(), &settings, clock.clone(), l).await,
            None => TestApp::start_on(db, fake.url(), &settings, clock.clone()).await,
        };
        fake.set_webhook(Some(WebhookTarget::new(
            format!("http://{}/webhooks", app.addr),
            SECRET,
        )));
        let settings = settings
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        let world = World {
            fake,
            app,
            dir,
            record,
            repo_id,
            settings,
            clock,
            allowed_dead: std::sync::Mutex::new(Vec::new()),
        };
        // The start-up reconciliation finishes before the test plays its scenario.
        world.settle().await;
        world
    }

    /// Stops Gangway; the fake GitHub goes on (its webhooks now fail, as GitHub's would).
    pub async fn stop_gangway(self) -> (World, TestDb) {
        let World {
            fake,
            app,
            dir,
            record,
            repo_id,
            settings,
            clock,
            allowed_dead,
        } = self;
        let db = app.stop_keep_db().await;
        let placeholder = TestApp::start_with("http://127.0.0.1:9", &[]).await;
        (
            World {
                fake,
                app: placeholder,
                dir,
                record,
                repo_id,
                settings,
                clock,
                allowed_dead,
            },
            db,
        )
    }

    /// Kills Gangway as a SIGKILL would (see `Running::kill`); the fake GitHub goes on.
    pub async fn kill_gangway(self) -> (World, TestDb) {
        let World {
            fake,
            mut app,
            dir,
            record,
            repo_id,
            settings,
            clock,
            allowed_dead,
        } = self;
        if let Some(r) = app.running.take() {
            r.kill().await;
        }
        let db = app.stop_keep_db().await;
        let placeholder = TestApp::start_with("http://127.0.0.1:9", &[]).await;
        (
            World {
                fake,
                app: placeholder,
                dir,
                record,
                repo_id,
                settings,
                clock,
                allowed_dead,
            },
            db,
        )
    }

    /// Starts Gangway again on `db` with the same settings (the reconciler runs at start).
    pub async fn restart_gangway(self, db: TestDb) -> World {
        let World {
            fake,
            app,
            dir,
            record,
            repo_id,
            settings,
            clock,
            allowed_dead,
        } = self;
        app.stop().await;
        let pairs: Vec<(&str, &str)> = settings
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect();
        let app = TestApp::start_on(db, fake.url(), &pairs, clock.clone()).await;
        fake.set_webhook(Some(WebhookTarget::new(
            format!("http://{}/webhooks", app.addr),
            SECRET,
        )));
        World {
            fake,
            app,
            dir,
            record,
            repo_id,
            settings,
            clock,
            allowed_dead,
        }
    }

    /// Runs the timers that are due now (by the test's clock).
    pub async fn tick(&self) -> Vec<&'static str> {
        self.app
            .running
            .as_ref()
            .expect("running")
            .timers()
            .tick()
            .await
            .expect("timers")
    }

    /// Whether the timer `name` has run at the clock's time now: this tick ran it, or the
    /// timer loop's own tick (which may come late on a loaded machine) did just before.
    pub async fn ticked(&self, name: &str) -> bool {
        let now = self.clock.now_ms();
        if self.tick().await.contains(&name) {
            return true;
        }
        self.app
            .store()
            .timer_last_run(name)
            .await
            .is_ok_and(|at| at >= now)
    }

    /// Lines the driver scripts recorded: `deploy|teardown PR SHA HOST ENV DEPLOYMENT`.
    pub fn driver_runs(&self) -> Vec<String> {
        std::fs::read_to_string(&self.record)
            .unwrap_or_default()
            .lines()
            .map(str::to_owned)
            .collect()
    }

    /// Waits until a deployment in the test repository has `success` as its latest status.
    pub async fn until_live(&self, what: &str) {
        self.until(what, |f| {
            f.deployments(REPO)
                .iter()
                .any(|d| d.statuses.last().is_some_and(|s| s.state == "success"))
        })
        .await;
    }

    /// Waits for a condition on the fake GitHub; on timeout, fails with `what` and a dump.
    /// Then, as [`World::settle`], fails on a job that died unexpectedly on the way there.
    pub async fn until(&self, what: &str, cond: impl Fn(&FakeGitHub) -> bool) {
        if self.fake.wait_for(Duration::from_secs(30), cond).await {
            self.fail_on_dead_jobs().await;
        } else {
            let deployments: Vec<String> = self
                .fake
                .deployments(REPO)
                .iter()
                .map(|d| {
                    format!(
                        "#{} {} {:?}",
                        d.id,
                        &d.sha[..7],
                        d.statuses
                            .iter()
                            .map(|s| s.state.clone())
                            .collect::<Vec<_>>()
                    )
                })
                .collect();
            let jobs = self.app.running.as_ref().map(|r| r.queue().clone());
            let jobs = match jobs {
                Some(q) => format!("{:?}", q.jobs(None).await.unwrap_or_default()),
                None => String::new(),
            };
            panic!(
                "timed out waiting for: {what}\ndeployments: {deployments:?}\ncomments: {:?}\njobs: {jobs}",
                self.comments_dump()
            );
        }
    }

    fn comments_dump(&self) -> Vec<String> {
        (1..=60)
            .flat_map(|n| self.fake.comments(REPO, n))
            .map(|c| format!("#{} {}: {}", c.issue_number, c.user, c.body))
            .collect()
    }

    /// Gangway's sticky comments on a PR (there must be at most one).
    pub fn stickies(&self, repo: &str, number: u64) -> Vec<Comment> {
        self.fake
            .comments(repo, number)
            .into_iter()
            .filter(|c| c.via_app && c.body.contains("gangway:sticky"))
            .collect()
    }

    pub fn sticky_body(&self, repo: &str, number: u64) -> String {
        self.stickies(repo, number)
            .first()
            .map(|c| c.body.clone())
            .unwrap_or_default()
    }

    /// A green check run on `sha`, and its suite completed (which is what GitHub would send).
    pub async fn green(&self, repo: &str, sha: &str) {
        self.fake
            .add_check_run(repo, sha, "build", "completed", Some("success"))
            .expect("check run");
        let d = self
            .fake
            .complete_check_suite(repo, sha, "github-actions")
            .await
            .expect("suite");
        assert!(
            d.ok(),
            "Gangway refused the check_suite delivery: {:?}",
            d.status
        );
    }

    /// Waits until Gangway has nothing queued or running (its jobs are all done or dead). Twice:
    /// work done may have caused more webhooks (deployment statuses, comments). Then fails the
    /// test if a job died whose kind the test did not declare with [`World::allow_dead`].
    pub async fn settle(&self) {
        let queue = self.app.running.as_ref().expect("running").queue().clone();
        for round in ["gangway idle", "gangway idle again"] {
            assert!(
                self.fake.wait_webhooks_idle(Duration::from_secs(30)).await,
                "fake webhooks never drained"
            );
            super::wait_for(round, Duration::from_secs(30), || {
                let queue = queue.clone();
                async move {
                    let counts = queue.counts().await.ok()?;
                    counts
                        .iter()
                        .all(|(s, n)| *n == 0 || matches!(s, JobState::Done | JobState::Dead))
                        .then_some(())
                }
            })
            .await;
        }
        self.fail_on_dead_jobs().await;
    }

    /// Declares that jobs of `kind` may die in this test (a failing deploy script, a GitHub that
    /// refuses): [`World::settle`] then lets them pass. Assert on them with [`World::dead_jobs`].
    pub fn allow_dead(&self, kind: JobKind) {
        self.allowed_dead
            .lock()
            .expect("allowed_dead")
            .push(kind.as_str());
    }

    /// The dead jobs, oldest first.
    pub async fn dead_jobs(&self) -> Vec<gangway::jobs::JobRecord> {
        self.app
            .running
            .as_ref()
            .expect("running")
            .queue()
            .jobs(Some(JobState::Dead))
            .await
            .expect("dead jobs")
    }

    /// Fails the test if a job died that the test did not declare with [`World::allow_dead`]: a
    /// dead job is work Gangway gave up on, so a test that only waits for "idle" would otherwise
    /// pass over it.
    pub async fn fail_on_dead_jobs(&self) {
        let allowed = self.allowed_dead.lock().expect("allowed_dead").clone();
        let unexpected: Vec<String> = self
            .dead_jobs()
            .await
            .into_iter()
            .filter(|j| !allowed.contains(&j.kind.as_str()))
            .map(|j| {
                format!(
                    "{} {} after {} attempts: {}",
                    j.kind,
                    j.key,
                    j.attempts,
                    j.last_error.as_deref().unwrap_or("(no error recorded)")
                )
            })
            .collect();
        assert!(
            unexpected.is_empty(),
            "jobs died that the test did not expect (World::allow_dead):\n{}",
            unexpected.join("\n")
        );
    }
}

impl World {
    /// Gangway's replies on a PR of [`REPO`] (its comments that are not the sticky one), oldest
    /// first.
    pub fn replies(&self, number: u64) -> Vec<String> {
        self.fake
            .comments(REPO, number)
            .into_iter()
            .filter(|c| c.via_app && !c.body.contains("gangway:sticky"))
            .map(|c| c.body)
            .collect()
    }

    /// `who` comments `text` on a PR of [`REPO`]; the test fails if Gangway refuses the delivery.
    pub async fn say(&self, number: u64, who: &str, text: &str) {
        let d = self
            .fake
            .comment(REPO, number, who, text)
            .await
            .expect("comment");
        assert!(
            d.delivery.ok(),
            "Gangway refused the comment delivery: {:?}",
            d.delivery.status
        );
    }

    /// A same-repository PR of [`REPO`] (by `dev`, on `branch`) whose head is green and whose
    /// preview is live: its number and head.
    pub async fn staged(&self, branch: &str) -> (u64, String) {
        let pr = self
            .fake
            .open_pr(fake_github::PrSpec::new(REPO, branch, "dev"))
            .await
            .expect("open");
        self.green(REPO, &pr.head_sha).await;
        let sha = pr.head_sha.clone();
        self.until("preview live", |f| {
            f.deployments(REPO).iter().any(|d| {
                d.sha == sha && d.environment.starts_with("pr-") && last_state(d) == "success"
            })
        })
        .await;
        (pr.number, pr.head_sha)
    }

    /// Waits for a reply on a PR of [`REPO`] containing `text`, and returns it.
    pub async fn reply_containing(&self, number: u64, text: &str) -> String {
        let t = text.to_owned();
        self.until(&format!("a reply on #{number} containing {text:?}"), |f| {
            f.comments(REPO, number)
                .iter()
                .any(|c| c.via_app && !c.body.contains("gangway:sticky") && c.body.contains(&t))
        })
        .await;
        self.replies(number)
            .into_iter()
            .find(|b| b.contains(text))
            .unwrap_or_default()
    }

    /// As [`World::settle`], for tests on a manual clock: jobs queued for later (by the test's
    /// clock) do not count, since they wait for the test to move the clock. Fails on a job that
    /// died unexpectedly, as `settle` does.
    pub async fn settle_due(&self) {
        let queue = self.app.running.as_ref().expect("running").queue().clone();
        for round in ["gangway idle (due jobs)", "gangway idle again (due jobs)"] {
            assert!(
                self.fake.wait_webhooks_idle(Duration::from_secs(30)).await,
                "fake webhooks never drained"
            );
            let now = self.clock.now_ms();
            super::wait_for(round, Duration::from_secs(30), || {
                let queue = queue.clone();
                async move {
                    let jobs = queue.jobs(None).await.ok()?;
                    jobs.iter()
                        .all(|j| {
                            j.state == JobState::Done
                                || j.state == JobState::Dead
                                || (j.state == JobState::Queued && j.run_at > now)
                        })
                        .then_some(())
                }
            })
            .await;
        }
        self.fail_on_dead_jobs().await;
    }
}

/// The host Gangway gives the preview of `sha` of pull request `number` in `repo` under the
/// default `GANGWAY_HOST_TEMPLATE` (`{repo}-pr{number}-{short_sha}.staging.example.org`).
/// A deployment's last status as GitHub shows it (empty before the first).
pub fn last_state(d: &fake_github::Deployment) -> String {
    d.statuses
        .last()
        .map(|s| s.state.clone())
        .unwrap_or_default()
}

pub fn preview_host(repo: &str, number: u64, sha: &str) -> String {
    let name = repo.rsplit('/').next().unwrap_or(repo);
    format!("{name}-pr{number}-{}.staging.example.org", &sha[..7])
}

pub fn write_script(path: &std::path::Path, body: &str) {
    use std::os::unix::fs::PermissionsExt;
    std::fs::write(path, body).expect("write script");
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o755)).expect("chmod");
}
