//! The `gangway` command line.

use std::process::ExitCode;
use std::sync::Arc;

use clap::{Parser, Subcommand};
use gangway::clock::SystemClock;
use gangway::config::{LogFormat, SECRET_SETTINGS, SETTINGS, Settings, Source};
use gangway::jobs::JobState;
use gangway::queue::Queue;
use gangway::store::Store;

#[derive(Parser)]
#[command(
    name = "gangway",
    version,
    about = "A GitHub App that turns pull requests into deployments"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Try Gangway on this machine: a fake GitHub, Gangway and a deploy driver play a pull
    /// request's life; then it keeps running with a live preview to open.
    Demo {
        /// Gangway's port.
        #[arg(long, default_value_t = 3000)]
        port: u16,
        /// Your own driver executable (called with GANGWAY_ACTION=deploy|teardown and the other
        /// GANGWAY_* variables) instead of the built-in one.
        #[arg(long)]
        driver_command: Option<std::path::PathBuf>,
        /// Exit after the timeline instead of serving on.
        #[arg(long)]
        exit: bool,
    },
    /// The demo's built-in driver (run by Gangway's command driver, not by hand).
    #[command(hide = true)]
    DemoDriver { pages: std::path::PathBuf },
    /// Run the service: webhooks, workers, timers.
    Serve,
    /// Apply database migrations and exit.
    Migrate,
    /// Validate the configuration; print every problem; exit non-zero if any.
    CheckConfig,
    /// List preview environments: state, age, time left before the idle TTL.
    Envs {
        /// Include torn-down previews.
        #[arg(long)]
        all: bool,
    },
    /// Tear down the preview at HOST (as `gangway envs` shows it).
    Teardown { host: String },
    /// List jobs (default: dead ones), or retry a dead job.
    Jobs {
        #[command(subcommand)]
        action: Option<JobsAction>,
        /// Which state to list: queued, running, done, dead, or all.
        #[arg(long, default_value = JobState::Dead.as_str())]
        state: String,
    },
}

#[derive(Subcommand)]
enum JobsAction {
    /// Queue a dead job again with a fresh set of attempts.
    Retry { id: i64 },
}

fn init_logging(format: LogFormat) {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info,sqlx=warn"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    match format {
        LogFormat::Json => builder.json().init(),
        LogFormat::Text => builder.init(),
    }
}

fn load(source: &Source) -> Result<Settings, ExitCode> {
    Settings::load(source).map_err(|e| {
        eprint!("{e}");
        ExitCode::from(2)
    })
}

/// Before anything else, while this is the only thread: the process is made unreadable to other
/// processes of its user (the driver's among them), the settings are read, and the secret ones
/// are removed from the environment so nothing started later can inherit them.
fn main() -> ExitCode {
    let protected = gangway::server::protect_process();
    let cli = Cli::parse();
    let source = Source::from_process_env();
    for name in SECRET_SETTINGS {
        // SAFETY: no other thread exists yet (the runtime is built below), so nothing can be
        // reading the environment while it changes.
        unsafe { std::env::remove_var(name) };
    }
    if let Err(error) = protected {
        eprintln!("warning: could not make this process undumpable (PR_SET_DUMPABLE): {error}");
    }
    match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime.block_on(run(cli, source)),
        Err(error) => {
            eprintln!("error: cannot start the async runtime: {error}");
            ExitCode::FAILURE
        }
    }
}

async fn run(cli: Cli, source: Source) -> ExitCode {
    match cli.command {
        Command::Demo {
            port,
            driver_command,
            exit,
        } => demo(port, driver_command, exit).await,
        Command::DemoDriver { pages } => demo_driver(&pages),
        Command::CheckConfig => match Settings::load(&source) {
            Ok(s) => {
                println!("configuration OK");
                println!(
                    "  app id {}, API {}, database {:?}, listening on {}:{}",
                    s.app_id, s.github_api_url, s.db_kind, s.host, s.port
                );
                println!("  preview hosts: {}", s.host_template);
                println!("  environment hosts: {}", s.environment_host);
                if let Some(user) = &s.command_driver.user {
                    println!("  driver runs as: {} (uid {})", user.name, user.uid);
                }
                for warning in &s.warnings {
                    println!("warning: {warning}");
                }
                ExitCode::SUCCESS
            }
            Err(e) => {
                eprint!("{e}");
                eprintln!(
                    "\nSettings (environment, or lower-case keys in the GANGWAY_CONFIG TOML file):"
                );
                for (name, default, help) in SETTINGS {
                    eprintln!(
                        "  {name:<30} {help}{}",
                        default
                            .map(|d| format!(" [default: {d}]"))
                            .unwrap_or_default()
                    );
                }
                ExitCode::from(2)
            }
        },
        Command::Serve if gangway::config::app_unconfigured(&source) => {
            let settings = match gangway::config::SetupSettings::load(&source) {
                Ok(s) => s,
                Err(e) => {
                    eprint!("{e}");
                    return ExitCode::from(2);
                }
            };
            init_logging(settings.log_format);
            eprintln!(
                "No GitHub App configured (none of APP_ID, PRIVATE_KEY(_PATH), WEBHOOK_SECRET(_FILE) \
                 is set): open {}/ to register one. Its credentials will be written to {}.",
                settings.public_url,
                settings.credentials_file.display()
            );
            match gangway::server::serve_setup(settings).await {
                Ok(()) => ExitCode::SUCCESS,
                Err(e) => {
                    eprintln!("error: {e}");
                    ExitCode::FAILURE
                }
            }
        }
        Command::Serve => {
            let settings = match load(&source) {
                Ok(s) => s,
                Err(code) => return code,
            };
            init_logging(settings.log_format);
            for warning in &settings.warnings {
                tracing::warn!(setting = %warning.setting, "{}", warning.message);
            }
            match gangway::server::serve(settings, Arc::new(SystemClock)).await {
                Ok(()) => ExitCode::SUCCESS,
                Err(e) => {
                    tracing::error!(error = %e, "gangway stopped with an error");
                    eprintln!("error: {e}");
                    ExitCode::FAILURE
                }
            }
        }
        Command::Migrate => {
            let settings = match load(&source) {
                Ok(s) => s,
                Err(code) => return code,
            };
            init_logging(settings.log_format);
            match Store::open(settings.database_url()).await {
                Ok(_) => {
                    println!("database is up to date");
                    ExitCode::SUCCESS
                }
                Err(e) => {
                    eprintln!("error: {e}");
                    ExitCode::FAILURE
                }
            }
        }
        Command::Envs { all } => {
            let (store, _) = match open_store(&source).await {
                Ok(s) => s,
                Err(code) => return code,
            };
            match gangway::operator::envs(&store, chrono::Utc::now().timestamp_millis(), all).await
            {
                Ok(rows) => {
                    println!(
                        "{:<28} {:>5}  {:<8} {:<12} {:<10} {:>7} {:>8}  host",
                        "repository", "pr", "commit", "state", "env", "age", "ttl"
                    );
                    for r in &rows {
                        println!(
                            "{:<28} {:>5}  {:<8} {:<12} {:<10} {:>7} {:>8}  {}",
                            r.repo, r.pr, r.sha, r.state, r.environment, r.age, r.ttl_left, r.host
                        );
                    }
                    println!("{} preview(s)", rows.len());
                    ExitCode::SUCCESS
                }
                Err(e) => {
                    eprintln!("error: {e}");
                    ExitCode::FAILURE
                }
            }
        }
        Command::Teardown { host } => {
            let (store, settings) = match open_store(&source).await {
                Ok(s) => s,
                Err(code) => return code,
            };
            let queue = Queue::new(
                store.clone(),
                Arc::new(SystemClock),
                "cli",
                settings.queue.clone(),
            );
            match gangway::operator::teardown(
                &store,
                &queue,
                &host,
                chrono::Utc::now().timestamp_millis(),
            )
            .await
            {
                Ok(Ok(msg)) => {
                    println!("{msg}");
                    ExitCode::SUCCESS
                }
                Ok(Err(msg)) => {
                    eprintln!("{msg}");
                    ExitCode::FAILURE
                }
                Err(e) => {
                    eprintln!("error: {e}");
                    ExitCode::FAILURE
                }
            }
        }
        Command::Jobs { action, state } => {
            let settings = match load(&source) {
                Ok(s) => s,
                Err(code) => return code,
            };
            let store = match Store::open(settings.database_url()).await {
                Ok(s) => s,
                Err(e) => {
                    eprintln!("error: {e}");
                    return ExitCode::FAILURE;
                }
            };
            let queue = Queue::new(store, Arc::new(SystemClock), "cli", settings.queue.clone());
            jobs_command(&queue, action, &state).await
        }
    }
}

async fn open_store(source: &Source) -> Result<(Store, Settings), ExitCode> {
    let settings = load(source)?;
    match Store::open(settings.database_url()).await {
        Ok(s) => Ok((s, settings)),
        Err(e) => {
            eprintln!("error: {e}");
            Err(ExitCode::FAILURE)
        }
    }
}

async fn jobs_command(queue: &Queue, action: Option<JobsAction>, state: &str) -> ExitCode {
    match action {
        Some(JobsAction::Retry { id }) => match queue.retry_dead(id).await {
            Ok(true) => {
                println!("job {id} queued again");
                ExitCode::SUCCESS
            }
            Ok(false) => {
                eprintln!("job {id} is not dead (or does not exist): nothing to retry");
                ExitCode::FAILURE
            }
            Err(e) => {
                eprintln!("error: {e}");
                ExitCode::FAILURE
            }
        },
        None => {
            let filter = match state {
                "all" => None,
                s => match JobState::parse(s) {
                    Some(s) => Some(s),
                    None => {
                        eprintln!(
                            "error: unknown job state {s:?}: use queued, running, done, dead or all"
                        );
                        return ExitCode::FAILURE;
                    }
                },
            };
            match queue.jobs(filter).await {
                Ok(jobs) => {
                    println!(
                        "{:>8}  {:<8}  {:<10}  {:>8}  {:<24}  last error",
                        "id", "state", "kind", "attempts", "key"
                    );
                    for j in &jobs {
                        println!(
                            "{:>8}  {:<8}  {:<10}  {:>8}  {:<24}  {}",
                            j.id,
                            j.state,
                            j.kind,
                            j.attempts,
                            j.key,
                            j.last_error.as_deref().unwrap_or("")
                        );
                    }
                    println!("{} job(s)", jobs.len());
                    ExitCode::SUCCESS
                }
                Err(e) => {
                    eprintln!("error: {e}");
                    ExitCode::FAILURE
                }
            }
        }
    }
}

#[cfg(feature = "demo")]
async fn demo(port: u16, driver_command: Option<std::path::PathBuf>, exit: bool) -> ExitCode {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn"));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .init();
    let opts = gangway::demo::DemoOptions {
        port,
        driver_command,
        exit_after_timeline: exit,
    };
    match gangway::demo::run(opts).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}

#[cfg(feature = "demo")]
fn demo_driver(pages: &std::path::Path) -> ExitCode {
    match gangway::demo::driver_main(pages) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("demo-driver: {e}");
            ExitCode::FAILURE
        }
    }
}

/// What a build without the fake GitHub says when asked for the demo.
#[cfg(not(feature = "demo"))]
const NO_DEMO: &str = "this gangway was built without the demo (it carries no fake GitHub and no \
test key). Run the demo from a checkout with `cargo run -- demo`, or build it with \
`cargo build --release --features demo`.";

#[cfg(not(feature = "demo"))]
async fn demo(_port: u16, _driver_command: Option<std::path::PathBuf>, _exit: bool) -> ExitCode {
    eprintln!("error: {NO_DEMO}");
    ExitCode::from(2)
}

#[cfg(not(feature = "demo"))]
fn demo_driver(_pages: &std::path::Path) -> ExitCode {
    eprintln!("demo-driver: {NO_DEMO}");
    ExitCode::from(2)
}
