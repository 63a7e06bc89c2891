//! Environment deployments, holds, bad commits and the train against a real database: a SQLite
//! file, or a fresh PostgreSQL database when `GANGWAY_TEST_POSTGRES` names a server.

use sqlx::Connection;

use super::*;

/// A database for one test, dropped afterwards (PostgreSQL) or with its directory (SQLite).
pub(crate) struct Db {
    url: String,
    _dir: Option<tempfile::TempDir>,
    drop_pg: Option<(String, String)>,
}

impl Db {
    pub(crate) async fn new() -> Db {
        match std::env::var("GANGWAY_TEST_POSTGRES") {
            Ok(admin) if !admin.is_empty() => {
                let name = format!("gw_unit_{:016x}", rand::random::<u64>());
                let mut conn = sqlx::PgConnection::connect(&admin).await.unwrap();
                sqlx::raw_sql(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}")))
                    .execute(&mut conn)
                    .await
                    .unwrap();
                let base = admin.rsplit_once('/').map(|(b, _)| b).unwrap_or(&admin);
                Db {
                    url: format!("{base}/{name}"),
                    _dir: None,
                    drop_pg: Some((admin, name)),
                }
            }
            _ => {
                let dir = tempfile::tempdir().unwrap();
                let url = format!("sqlite://{}", dir.path().join("g.db").display());
                Db {
                    url,
                    _dir: Some(dir),
                    drop_pg: None,
                }
            }
        }
    }

    pub(crate) async fn store(&self) -> Store {
        Store::open(&self.url).await.unwrap()
    }
}

impl Drop for Db {
    fn drop(&mut self) {
        if let Some((admin, name)) = self.drop_pg.take() {
            // Best effort, off the test's runtime: a leftover test database is harmless.
            std::thread::spawn(move || {
                let Ok(rt) = tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                else {
                    return;
                };
                rt.block_on(async {
                    if let Ok(mut c) = sqlx::PgConnection::connect(&admin).await {
                        let _ = sqlx::raw_sql(sqlx::AssertSqlSafe(format!(
                            "DROP DATABASE IF EXISTS {name} WITH (FORCE)"
                        )))
                        .execute(&mut c)
                        .await;
                    }
                });
            })
            .join()
            .ok();
        }
    }
}

const REPO: RepoId = RepoId(77);

fn sha(c: char) -> CommitSha {
    CommitSha::parse(&c.to_string().repeat(40)).unwrap()
}

fn new<'a>(env: &'a str, sha: &'a CommitSha, token: &'a str) -> NewEnvDeployment<'a> {
    NewEnvDeployment {
        repo_id: REPO,
        environment: env,
        sha,
        kind: EnvKind::Promote,
        requested_by: "ann",
        pr_number: Some(PrNumber(5)),
        reason: Some("promote by @ann"),
        log_token: token,
    }
}

/// Claims, then runs the deployment to `live` at `at`.
async fn deploy_live(
    store: &Store,
    env: &str,
    sha: &CommitSha,
    token: &str,
    at: i64,
) -> EnvDeployment {
    let mut d = store
        .claim_environment(&new(env, sha, token), at)
        .await
        .unwrap()
        .unwrap();
    d.state = EnvState::Live;
    d.live_at = Some(at);
    store.save_env_deployment(&d, at).await.unwrap();
    d
}

#[tokio::test]
async fn a_claim_holds_the_environment_until_it_finishes() {
    let db = Db::new().await;
    let store = db.store().await;
    let a = sha('a');
    let first = store
        .claim_environment(&new("staging", &a, "t1"), 10)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(first.state, EnvState::Pending);
    assert_eq!(first.kind, EnvKind::Promote);
    assert_eq!(first.pr_number, Some(PrNumber(5)));
    assert_eq!(first.reason.as_deref(), Some("promote by @ann"));
    assert_eq!((first.created_at, first.updated_at), (10, 10));
    assert!(!first.create_attempted);
    assert_eq!(
        store.env_deployment(first.id).await.unwrap(),
        Some(first.clone())
    );

    // Busy: the running one comes back, nothing new is recorded.
    let b = sha('b');
    let busy = store
        .claim_environment(&new("staging", &b, "t2"), 11)
        .await
        .unwrap()
        .unwrap_err();
    assert_eq!(busy, first);
    // Another environment is independent.
    let prod = store
        .claim_environment(&new("production", &b, "t3"), 11)
        .await
        .unwrap()
        .unwrap();
    assert_ne!(prod.id, first.id);

    // Deploying still holds it.
    let mut d = first.clone();
    d.state = EnvState::Deploying;
    d.deployment_id = Some(9001);
    d.create_attempted = true;
    store.save_env_deployment(&d, 12).await.unwrap();
    assert_eq!(
        store
            .running_env_deployment(REPO, "staging")
            .await
            .unwrap()
            .map(|r| r.id),
        Some(first.id)
    );
    let by_gh = store
        .env_deployment_by_github(REPO, 9001)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(by_gh.state, EnvState::Deploying);
    assert_eq!(by_gh.deployment_id, Some(9001));
    assert!(by_gh.create_attempted);
    assert_eq!(by_gh.updated_at, 12);
    assert!(
        store
            .env_deployment_by_github(RepoId(78), 9001)
            .await
            .unwrap()
            .is_none()
    );
    assert!(
        store
            .claim_environment(&new("staging", &b, "t2"), 13)
            .await
            .unwrap()
            .is_err()
    );

    // Failed frees it.
    d.state = EnvState::Failed;
    d.detail = Some("exit 1".into());
    d.finished_at = Some(14);
    store.save_env_deployment(&d, 14).await.unwrap();
    assert!(
        store
            .running_env_deployment(REPO, "staging")
            .await
            .unwrap()
            .is_none()
    );
    let again = store
        .claim_environment(&new("staging", &b, "t2"), 15)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(again.sha, b);
    let history = store.env_deployments_of(REPO, "staging", 10).await.unwrap();
    assert_eq!(
        history.iter().map(|h| (h.id, h.state)).collect::<Vec<_>>(),
        [(again.id, EnvState::Pending), (first.id, EnvState::Failed)]
    );
    assert_eq!(
        store
            .env_deployments_of(REPO, "staging", 1)
            .await
            .unwrap()
            .len(),
        1
    );
    let failed = store.env_deployment(first.id).await.unwrap().unwrap();
    assert_eq!(failed.detail.as_deref(), Some("exit 1"));
    assert_eq!(failed.finished_at, Some(14));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_claims_have_exactly_one_winner() {
    let db = Db::new().await;
    let store = db.store().await;
    // A second pool over the same database stands in for another process.
    let other = db.store().await;
    let (a, b) = (sha('a'), sha('b'));
    for round in 0..10 {
        let env = format!("env{round}");
        let (ta, tb) = (format!("a{round}"), format!("b{round}"));
        let (s1, s2) = (store.clone(), other.clone());
        let (n1, n2) = (new(&env, &a, &ta), new(&env, &b, &tb));
        let (r1, r2) = tokio::join!(s1.claim_environment(&n1, 1), s2.claim_environment(&n2, 1));
        let (r1, r2) = (r1.unwrap(), r2.unwrap());
        let (won, lost) = match (r1, r2) {
            (Ok(w), Err(l)) | (Err(l), Ok(w)) => (w, l),
            other => panic!("round {round}: not exactly one winner: {other:?}"),
        };
        assert_eq!(won, lost, "the loser is told who runs");
    }
    // Many at once, through both pools.
    let mut tasks = tokio::task::JoinSet::new();
    for n in 0..16 {
        let s = if n % 2 == 0 {
            store.clone()
        } else {
            other.clone()
        };
        tasks.spawn(async move {
            let sha = sha('c');
            let token = format!("many{n}");
            s.claim_environment(&new("many", &sha, &token), 2)
                .await
                .unwrap()
        });
    }
    let mut wins = 0;
    while let Some(r) = tasks.join_next().await {
        wins += usize::from(r.unwrap().is_ok());
    }
    assert_eq!(wins, 1);
    assert_eq!(
        store
            .env_deployments_of(REPO, "many", 100)
            .await
            .unwrap()
            .len(),
        1
    );
}

#[tokio::test]
async fn current_is_the_latest_live_and_last_good_skips_bad_commits() {
    let db = Db::new().await;
    let store = db.store().await;
    let (a, b, c, d) = (sha('a'), sha('b'), sha('c'), sha('d'));
    assert!(
        store
            .current_env_deployment(REPO, "prod")
            .await
            .unwrap()
            .is_none()
    );
    let da = deploy_live(&store, "prod", &a, "ta", 100).await;
    let db_ = deploy_live(&store, "prod", &b, "tb", 200).await;
    let dc = deploy_live(&store, "prod", &c, "tc", 300).await;
    // Another environment does not count.
    deploy_live(&store, "staging", &d, "td", 400).await;

    let current = store
        .current_env_deployment(REPO, "prod")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(current.id, dc.id);
    assert_eq!(
        store
            .live_env_deployments(REPO, "prod")
            .await
            .unwrap()
            .iter()
            .map(|l| l.id)
            .collect::<Vec<_>>(),
        [dc.id, db_.id, da.id]
    );

    // Older ones go inactive; they still count as having been good.
    for mut old in [da.clone(), db_.clone()] {
        old.state = EnvState::Inactive;
        old.finished_at = Some(300);
        store.save_env_deployment(&old, 300).await.unwrap();
    }
    assert_eq!(
        store
            .live_env_deployments(REPO, "prod")
            .await
            .unwrap()
            .len(),
        1
    );
    let good = |except: CommitSha| {
        let store = store.clone();
        async move {
            store
                .last_good_env_deployment(REPO, "prod", &except)
                .await
                .unwrap()
                .map(|g| g.sha)
        }
    };
    assert_eq!(good(c.clone()).await, Some(b.clone()));
    assert_eq!(good(d.clone()).await, Some(c.clone()));
    store
        .mark_bad(REPO, &b, "prod", "ann", Some("broke login"), 310)
        .await
        .unwrap();
    assert_eq!(good(c.clone()).await, Some(a.clone()));
    // A bad mark in another repository does not matter.
    store
        .mark_bad(RepoId(78), &a, "prod", "ann", None, 311)
        .await
        .unwrap();
    assert_eq!(good(c.clone()).await, Some(a.clone()));
    store
        .mark_bad(REPO, &a, "prod", "ann", None, 312)
        .await
        .unwrap();
    assert_eq!(good(c.clone()).await, None);

    // A deployment that never went live is no rollback target.
    let mut failed = store
        .claim_environment(&new("prod", &d, "te"), 400)
        .await
        .unwrap()
        .unwrap();
    failed.state = EnvState::Failed;
    store.save_env_deployment(&failed, 401).await.unwrap();
    assert_eq!(good(c.clone()).await, None);

    // A rollback to an older commit going live later becomes current.
    let mut roll = store
        .claim_environment(
            &NewEnvDeployment {
                kind: EnvKind::Rollback,
                pr_number: None,
                reason: Some("rollback by @ann: ccccccc marked bad"),
                ..new("prod", &c, "tf")
            },
            500,
        )
        .await
        .unwrap()
        .unwrap();
    assert_eq!(roll.kind, EnvKind::Rollback);
    assert_eq!(roll.pr_number, None);
    roll.state = EnvState::Live;
    roll.live_at = Some(500);
    store.save_env_deployment(&roll, 500).await.unwrap();
    assert_eq!(
        store
            .current_env_deployment(REPO, "prod")
            .await
            .unwrap()
            .map(|c| c.id),
        Some(roll.id)
    );
}

#[tokio::test]
async fn the_overview_shows_what_runs_and_what_deploys_per_environment() {
    let db = Db::new().await;
    let store = db.store().await;
    store.upsert_installation(1, "acme", 0).await.unwrap();
    store
        .add_repository(1, REPO.as_db(), "acme/web", 0)
        .await
        .unwrap();
    let (a, b) = (sha('a'), sha('b'));
    deploy_live(&store, "production", &a, "t1", 100).await;
    let live = deploy_live(&store, "production", &b, "t2", 200).await;
    let staging = deploy_live(&store, "staging", &a, "t3", 150).await;
    let running = store
        .claim_environment(&new("staging", &b, "t4"), 300)
        .await
        .unwrap()
        .unwrap();
    // A repository Gangway has no name for is listed by its id.
    let lone = store
        .claim_environment(
            &NewEnvDeployment {
                repo_id: RepoId(5),
                ..new("production", &a, "t5")
            },
            300,
        )
        .await
        .unwrap()
        .unwrap();
    let overview: Vec<(String, String, i64)> = store
        .env_overview()
        .await
        .unwrap()
        .into_iter()
        .map(|(name, d)| (name, d.environment, d.id))
        .collect();
    assert_eq!(
        overview,
        [
            ("5".to_owned(), "production".to_owned(), lone.id),
            ("acme/web".to_owned(), "production".to_owned(), live.id),
            ("acme/web".to_owned(), "staging".to_owned(), staging.id),
            ("acme/web".to_owned(), "staging".to_owned(), running.id),
        ]
    );
}

#[tokio::test]
async fn holds_are_set_replaced_and_cleared() {
    let db = Db::new().await;
    let store = db.store().await;
    assert!(store.hold(REPO, "production").await.unwrap().is_none());
    assert!(
        store
            .clear_hold(REPO, "production")
            .await
            .unwrap()
            .is_none()
    );
    let h = store
        .set_hold(REPO, "production", "ann", Some("release freeze"), 10)
        .await
        .unwrap();
    assert_eq!(store.hold(REPO, "production").await.unwrap(), Some(h));
    let replaced = store
        .set_hold(REPO, "production", "bob", None, 20)
        .await
        .unwrap();
    assert_eq!(
        replaced,
        Hold {
            environment: "production".into(),
            held_by: "bob".into(),
            reason: None,
            held_at: 20
        }
    );
    assert_eq!(
        store.hold(REPO, "production").await.unwrap(),
        Some(replaced.clone())
    );
    let staging = store
        .set_hold(REPO, "staging", "cy", Some("db"), 30)
        .await
        .unwrap();
    store
        .set_hold(RepoId(78), "alpha", "dee", None, 30)
        .await
        .unwrap();
    assert_eq!(
        store.holds(REPO).await.unwrap(),
        [replaced.clone(), staging.clone()]
    );
    assert_eq!(
        store.clear_hold(REPO, "production").await.unwrap(),
        Some(replaced)
    );
    assert!(store.hold(REPO, "production").await.unwrap().is_none());
    assert_eq!(store.holds(REPO).await.unwrap(), [staging]);
}

#[tokio::test]
async fn bad_commits_are_marked_replaced_and_cleared() {
    let db = Db::new().await;
    let store = db.store().await;
    let a = sha('a');
    assert!(store.bad_sha(REPO, &a).await.unwrap().is_none());
    assert!(!store.clear_bad(REPO, &a).await.unwrap());
    store
        .mark_bad(REPO, &a, "staging", "ann", None, 10)
        .await
        .unwrap();
    store
        .mark_bad(REPO, &a, "production", "bob", Some("500s"), 20)
        .await
        .unwrap();
    assert_eq!(
        store.bad_sha(REPO, &a).await.unwrap(),
        Some(BadSha {
            sha: a.clone(),
            environment: "production".into(),
            marked_by: "bob".into(),
            reason: Some("500s".into()),
            marked_at: 20
        })
    );
    assert!(store.bad_sha(RepoId(78), &a).await.unwrap().is_none());
    assert!(store.clear_bad(REPO, &a).await.unwrap());
    assert!(store.bad_sha(REPO, &a).await.unwrap().is_none());
}

#[tokio::test]
async fn train_state_and_notices_round_trip() {
    let db = Db::new().await;
    let store = db.store().await;
    assert!(store.train_state(REPO).await.unwrap().is_none());
    store
        .save_train_state(REPO, r#"{"queue":[1]}"#, 1)
        .await
        .unwrap();
    store
        .save_train_state(REPO, r#"{"queue":[1,2]}"#, 2)
        .await
        .unwrap();
    assert_eq!(
        store.train_state(REPO).await.unwrap().as_deref(),
        Some(r#"{"queue":[1,2]}"#)
    );
    assert!(store.train_state(RepoId(78)).await.unwrap().is_none());

    let pr = PrNumber(12);
    assert!(store.train_notice(REPO, pr).await.unwrap().is_none());
    store
        .save_train_notice(REPO, pr, None, Some("queued"), 1)
        .await
        .unwrap();
    assert_eq!(
        store.train_notice(REPO, pr).await.unwrap(),
        Some((None, Some("queued".into())))
    );
    store
        .save_train_notice(REPO, pr, Some(1 << 40), Some("departed"), 2)
        .await
        .unwrap();
    assert_eq!(
        store.train_notice(REPO, pr).await.unwrap(),
        Some((Some(1 << 40), Some("departed".into())))
    );
}

#[tokio::test]
async fn the_log_is_found_by_its_token_and_grows() {
    let db = Db::new().await;
    let store = db.store().await;
    let a = sha('a');
    let d = store
        .claim_environment(&new("staging", &a, "secret-token"), 1)
        .await
        .unwrap()
        .unwrap();
    let (found, log) = store.env_log("secret-token").await.unwrap().unwrap();
    assert_eq!((found.id, log.as_str()), (d.id, ""));
    store.append_env_log(d.id, "building\n").await.unwrap();
    store.append_env_log(d.id, "done\n").await.unwrap();
    let (_, log) = store.env_log("secret-token").await.unwrap().unwrap();
    assert_eq!(log, "building\ndone\n");
    assert!(store.env_log("other").await.unwrap().is_none());
}

#[tokio::test]
async fn a_row_that_does_not_parse_is_an_error_naming_the_table() {
    let db = Db::new().await;
    let store = db.store().await;
    let a = sha('a');
    let d = store
        .claim_environment(&new("staging", &a, "t"), 1)
        .await
        .unwrap()
        .unwrap();
    sqlx::query("UPDATE env_deployments SET state = 'exploded' WHERE id = $1")
        .bind(d.id)
        .execute(store.pool())
        .await
        .unwrap();
    let err = store.env_deployment(d.id).await.unwrap_err();
    assert!(
        matches!(&err, StoreError::Invalid(m) if m.contains("env_deployments") && m.contains("exploded")),
        "{err}"
    );
}

#[tokio::test]
async fn migrations_apply_to_a_fresh_database_and_again() {
    let db = Db::new().await;
    let store = db.store().await;
    store.ready().await.unwrap();
    store.migrate().await.unwrap();
    let again = db.store().await;
    again.ready().await.unwrap();
    for table in [
        "env_deployments",
        "env_holds",
        "bad_shas",
        "trains",
        "train_notices",
    ] {
        let n: i64 =
            sqlx::query_scalar(sqlx::AssertSqlSafe(format!("SELECT COUNT(*) FROM {table}")))
                .fetch_one(again.pool())
                .await
                .unwrap();
        assert_eq!(n, 0, "{table}");
    }
}
