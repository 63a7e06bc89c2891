//! The command driver: runs the operator's deploy or teardown executable for one environment.
//!
//! Owns: starting the configured argv directly (never through a shell string) with a cleared
//! environment plus the `GANGWAY_*` variables, stdin from /dev/null, in a process group of its
//! own so a timeout (SIGTERM, then SIGKILL after a grace) reaches everything the driver started;
//! and turning stdout/stderr into one bounded, redacted log for the deployment's log page.
//!
//! Must never: let anything from a pull request choose what runs or how it is parsed (every
//! value comes from the operator's config or a validated `DeploySpec`), leak Gangway's own
//! environment or a configured secret, hold an unbounded amount of output in memory, leave
//! processes of the run behind, or panic on anything a child or the OS does.

use std::io;
use std::process::{ExitStatus, Stdio};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use std::collections::VecDeque;
use std::os::unix::process::ExitStatusExt;
use std::path::PathBuf;

use tokio::io::{AsyncBufReadExt, AsyncRead, BufReader};
use tokio::process::{Child, Command};

use super::redact::Redactor;
use super::{DeploySpec, DriverAction, RunOutcome};

/// Longer lines are split so one newline-free stream cannot grow a buffer without bound.
const MAX_LINE: usize = 64 * 1024;
/// Once every process of the group is dead the pipes close at once; this only bounds a
/// process that left the group (setsid) while still holding our pipe.
const PIPE_DRAIN: Duration = Duration::from_secs(2);
const DEFAULT_PATH: &str = "/usr/local/bin:/usr/bin:/bin";

#[derive(Debug, Clone)]
pub struct CommandDriverConfig {
    /// argv of the deploy executable: program path then fixed arguments (no shell parsing).
    pub deploy: Vec<String>,
    /// argv of the teardown executable.
    pub teardown: Vec<String>,
    /// argv of the verify executable (`GANGWAY_VERIFY_COMMAND`); empty when none is configured.
    pub verify: Vec<String>,
    pub timeout: Duration,
    /// After the timeout: SIGTERM to the whole process group, then SIGKILL after this grace.
    pub kill_grace: Duration,
    /// Names of Gangway's own environment variables passed through unchanged (e.g. KUBECONFIG).
    pub pass_env: Vec<String>,
    /// Secret values that must never appear in a stored log, in any form `redact.rs` knows
    /// (replaced by `[REDACTED]`).
    pub redact: Vec<String>,
    /// Cap on the stored log; the first quarter and the last three quarters are kept around a
    /// marker line saying how many bytes were left out.
    pub max_log_bytes: usize,
    pub working_dir: Option<PathBuf>,
    /// The unprivileged user the driver runs as (`GANGWAY_DRIVER_USER`); `None`: Gangway's own.
    pub user: Option<DriverUser>,
}

/// An account the driver is started as: its ids and home, looked up once at start-up.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DriverUser {
    pub name: String,
    pub uid: u32,
    pub gid: u32,
    pub home: Option<PathBuf>,
}

impl DriverUser {
    /// Looks `name` (a user name, or a numeric uid) up in the system's user database and checks
    /// this process can start a program as it: Gangway must run as root (or already as that
    /// user), and the user must not be root.
    pub fn lookup(name: &str) -> Result<DriverUser, String> {
        let user = passwd_entry(name)?;
        if user.uid == 0 {
            return Err(format!(
                "{name:?} is root: the driver user must be an unprivileged account"
            ));
        }
        // SAFETY: geteuid has no preconditions and cannot fail.
        let euid = unsafe { libc::geteuid() };
        if euid != 0 && euid != user.uid {
            return Err(format!(
                "Gangway runs as uid {euid}, not root, so it cannot start the driver as {name:?} \
                 (uid {}): run Gangway as root, or leave GANGWAY_DRIVER_USER unset",
                user.uid
            ));
        }
        Ok(user)
    }
}

/// The passwd entry of a user name or numeric uid.
fn passwd_entry(name: &str) -> Result<DriverUser, String> {
    use std::ffi::{CStr, CString};
    let not_found = || format!("no user {name:?} on this system");
    let mut buf = vec![0 as libc::c_char; 16 * 1024];
    // SAFETY: an all-zero passwd is a valid value (null pointers, zero ids) to be filled in.
    let mut entry: libc::passwd = unsafe { std::mem::zeroed() };
    let mut found: *mut libc::passwd = std::ptr::null_mut();
    let rc = if let Ok(uid) = name.parse::<u32>() {
        // SAFETY: every pointer is valid for the call and `buf` is as long as said.
        unsafe { libc::getpwuid_r(uid, &mut entry, buf.as_mut_ptr(), buf.len(), &mut found) }
    } else {
        let c_name = CString::new(name).map_err(|_| not_found())?;
        // SAFETY: as above; `c_name` is a NUL-terminated string that outlives the call.
        unsafe {
            libc::getpwnam_r(
                c_name.as_ptr(),
                &mut entry,
                buf.as_mut_ptr(),
                buf.len(),
                &mut found,
            )
        }
    };
    if rc != 0 {
        return Err(format!(
            "cannot look up user {name:?}: {}",
            io::Error::from_raw_os_error(rc)
        ));
    }
    if found.is_null() {
        return Err(not_found());
    }
    // SAFETY: on success the entry's strings point into `buf`, NUL-terminated, still alive.
    let text = |p: *const libc::c_char| {
        (!p.is_null()).then(|| unsafe { CStr::from_ptr(p) }.to_string_lossy().into_owned())
    };
    Ok(DriverUser {
        name: text(entry.pw_name).unwrap_or_else(|| name.to_owned()),
        uid: entry.pw_uid,
        gid: entry.pw_gid,
        home: text(entry.pw_dir)
            .filter(|d| !d.is_empty())
            .map(PathBuf::from),
    })
}

impl Default for CommandDriverConfig {
    fn default() -> Self {
        CommandDriverConfig {
            deploy: Vec::new(),
            teardown: Vec::new(),
            verify: Vec::new(),
            timeout: Duration::from_secs(600),
            kill_grace: Duration::from_secs(5),
            pass_env: Vec::new(),
            redact: Vec::new(),
            max_log_bytes: 1024 * 1024,
            working_dir: None,
            user: None,
        }
    }
}

impl CommandDriverConfig {
    /// Splits a command line on whitespace into argv. There is deliberately no shell
    /// interpretation: quotes, backslashes, `$`, globs and `;` are ordinary characters, so
    /// `deploy "a b"` gives the two words `deploy` and `"a b"` with its quotes kept. An argument
    /// that must contain whitespace needs the list form of the configuration instead.
    pub fn argv_from_words(s: &str) -> Vec<String> {
        s.split_whitespace().map(str::to_owned).collect()
    }
}

/// The `GANGWAY_*` variables describing `spec`, in a fixed order.
pub fn environment(spec: &DeploySpec) -> Vec<(String, String)> {
    // A sha is validated hex, but `get` keeps this total should that ever change.
    let short_sha = spec.sha.get(..7).unwrap_or(&spec.sha);
    [
        ("GANGWAY_ACTION", spec.action.as_str().to_owned()),
        ("GANGWAY_REPOSITORY", spec.repository.clone()),
        ("GANGWAY_PR_NUMBER", spec.pr_number.to_string()),
        ("GANGWAY_SHA", spec.sha.clone()),
        ("GANGWAY_SHORT_SHA", short_sha.to_owned()),
        ("GANGWAY_HOST", spec.host.clone()),
        ("GANGWAY_URL", spec.url.clone()),
        ("GANGWAY_ENVIRONMENT", spec.environment.clone()),
        ("GANGWAY_DEPLOYMENT_ID", spec.deployment_id.to_string()),
    ]
    .into_iter()
    .chain(spec.slot.clone().map(|s| ("GANGWAY_SLOT", s)))
    .chain(spec.alias_host.clone().map(|h| ("GANGWAY_ALIAS_HOST", h)))
    .map(|(name, value)| (name.to_owned(), value))
    .chain(
        spec.target
            .iter()
            .map(|t| ("GANGWAY_TARGET".to_owned(), t.clone())),
    )
    .collect()
}

/// Runs the deploy or teardown executable for `spec` and reports how it ended. Never fails:
/// every problem, including not being able to start the program, becomes an unsuccessful
/// outcome with the reason in `summary` and at the end of `log`.
pub async fn run(config: &CommandDriverConfig, spec: &DeploySpec) -> RunOutcome {
    let started = Instant::now();
    let argv = match spec.action {
        DriverAction::Create | DriverAction::Deploy => &config.deploy,
        DriverAction::Teardown => &config.teardown,
        DriverAction::Verify => &config.verify,
    };
    let sink = Sink {
        log: Mutex::new(CappedLog::new(config.max_log_bytes)),
        redactor: Redactor::new(&config.redact),
    };
    sink.push(format!("$ {}", display_argv(argv)).as_bytes());
    let (summary, exit_code, timed_out) = match spawn(config, spec, argv).await {
        Err(summary) => (summary, None, false),
        Ok(child) => supervise(config, child, &sink).await,
    };
    let success = exit_code == Some(0) && !timed_out;
    let summary = sink.redactor.apply(&summary);
    sink.push(summary.as_bytes());
    let duration = started.elapsed();
    tracing::debug!(
        action = spec.action.as_str(),
        program = argv.first().map(String::as_str).unwrap_or(""),
        environment = %spec.environment,
        success,
        exit_code,
        timed_out,
        duration_ms = u64::try_from(duration.as_millis()).unwrap_or(u64::MAX),
        "driver command finished"
    );
    let log = sink.log.into_inner().unwrap_or_else(|p| p.into_inner());
    let log = log.finish();
    RunOutcome {
        success,
        exit_code,
        timed_out,
        summary,
        log,
        duration,
    }
}

/// How often a start refused with "text file busy" is tried again, and the first pause.
const BUSY_ATTEMPTS: u32 = 8;
const BUSY_PAUSE: Duration = Duration::from_millis(5);

/// Starts the program. A script that was just written can be refused with ETXTBSY while any
/// other thread of this process is between fork and exec (the child briefly holds the
/// writer's descriptor); that passes within milliseconds, so it is tried again a few times.
async fn spawn(
    config: &CommandDriverConfig,
    spec: &DeploySpec,
    argv: &[String],
) -> Result<Child, String> {
    let mut pause = BUSY_PAUSE;
    for _ in 1..BUSY_ATTEMPTS {
        match start(config, spec, argv) {
            Err(Started::Busy(_)) => {
                tokio::time::sleep(pause).await;
                pause *= 2;
            }
            other => return other.map_err(Started::into_message),
        }
    }
    start(config, spec, argv).map_err(Started::into_message)
}

/// Why a start failed: busy (worth another try) or anything else, with the message to log.
enum Started {
    Busy(String),
    Failed(String),
}

impl Started {
    fn into_message(self) -> String {
        match self {
            Started::Busy(message) | Started::Failed(message) => message,
        }
    }
}

fn start(
    config: &CommandDriverConfig,
    spec: &DeploySpec,
    argv: &[String],
) -> Result<Child, Started> {
    let Some((program, args)) = argv.split_first() else {
        return Err(Started::Failed(
            "could not start the command: no program is configured".to_owned(),
        ));
    };
    let mut command = Command::new(program);
    let path = std::env::var_os("PATH").unwrap_or_else(|| DEFAULT_PATH.into());
    command.args(args).env_clear().env("PATH", path);
    match &config.user {
        Some(user) => {
            // Dropped in the child between fork and exec: supplementary groups cleared, then
            // the group, then the user (std's order, which cannot be undone by the program).
            command.gid(user.gid).uid(user.uid);
            if let Some(home) = &user.home {
                command.env("HOME", home);
            }
        }
        None => {
            if let Some(home) = std::env::var_os("HOME") {
                command.env("HOME", home);
            }
        }
    }
    for name in &config.pass_env {
        // Such a name cannot be a real variable and would make every spawn fail.
        if name.is_empty() || name.contains(['=', '\0']) {
            continue;
        }
        if let Some(value) = std::env::var_os(name) {
            command.env(name, value);
        }
    }
    // Last, so a pass-through name can never override what Gangway says about the environment.
    command.envs(environment(spec));
    if let Some(dir) = &config.working_dir {
        command.current_dir(dir);
    }
    command
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    command.process_group(0).kill_on_drop(true);
    #[cfg(target_os = "linux")]
    // SAFETY: the closure only makes one system call, which is async-signal-safe, and touches
    // no memory of the parent.
    unsafe {
        command.pre_exec(|| {
            // Every descriptor above stderr closes at exec, including any Gangway inherited
            // without close-on-exec from whatever started it (its own are opened with it).
            // Marked rather than closed, so std can still report a failed exec; a kernel
            // without close_range (before 5.11) leaves only Gangway's close-on-exec ones.
            libc::syscall(
                libc::SYS_close_range,
                3 as libc::c_uint,
                libc::c_uint::MAX,
                libc::CLOSE_RANGE_CLOEXEC,
            );
            Ok(())
        });
    }
    command.spawn().map_err(|error| {
        let message = match &config.working_dir {
            Some(dir) => format!("could not start {program} in {}: {error}", dir.display()),
            None => format!("could not start {program}: {error}"),
        };
        if error.raw_os_error() == Some(libc::ETXTBSY) {
            Started::Busy(message)
        } else {
            Started::Failed(message)
        }
    })
}

/// Waits for the child within the timeout while pumping its output into the log.
/// Returns (summary, exit code, timed out).
async fn supervise(
    config: &CommandDriverConfig,
    mut child: Child,
    sink: &Sink,
) -> (String, Option<i32>, bool) {
    // With process_group(0) the group id is the child's pid.
    let mut group = Group(child.id().and_then(|pid| libc::pid_t::try_from(pid).ok()));
    let (stdout, stderr) = (child.stdout.take(), child.stderr.take());
    let mut pumps = std::pin::pin!(async {
        tokio::join!(pump(stdout, "stdout", sink), pump(stderr, "stderr", sink))
    });
    let mut waiting = std::pin::pin!(wait(config, &mut child, &mut group));
    let mut pumps_done = false;
    let verdict = loop {
        tokio::select! {
            verdict = &mut waiting => break verdict,
            _ = &mut pumps, if !pumps_done => pumps_done = true,
        }
    };
    if !pumps_done && tokio::time::timeout(PIPE_DRAIN, &mut pumps).await.is_err() {
        sink.push(b"[gangway: stopped reading output still held open after exit]");
    }
    verdict
}

async fn wait(
    config: &CommandDriverConfig,
    child: &mut Child,
    group: &mut Group,
) -> (String, Option<i32>, bool) {
    let verdict = match tokio::time::timeout(config.timeout, child.wait()).await {
        Ok(Ok(status)) => (describe(status), status.code(), false),
        Ok(Err(error)) => (
            format!("could not wait for the command: {error}"),
            None,
            false,
        ),
        Err(_) => {
            group.signal(libc::SIGTERM);
            let status = match tokio::time::timeout(config.kill_grace, child.wait()).await {
                Ok(result) => result.ok(),
                Err(_) => {
                    group.signal(libc::SIGKILL);
                    child.wait().await.ok()
                }
            };
            let summary = format!("timed out after {}", human(config.timeout));
            (summary, status.and_then(|s| s.code()), true)
        }
    };
    // Whatever the driver left running in its group (background jobs, ignored SIGTERM) dies
    // with the run; anything meant to outlive it must daemonize out of the group.
    group.signal(libc::SIGKILL);
    group.0 = None;
    verdict
}

/// The child's process group; on drop (the run being cancelled) everything in it is killed,
/// since `kill_on_drop` alone only reaches the direct child.
struct Group(Option<libc::pid_t>);

impl Group {
    fn signal(&self, signal: libc::c_int) {
        // pgid 0 or 1 would address our own group or init: never signal those.
        let Some(pgid) = self.0.filter(|&pgid| pgid > 1) else {
            return;
        };
        // SAFETY: killpg has no memory-safety preconditions; it only sends a signal.
        if unsafe { libc::killpg(pgid, signal) } != 0 {
            // ESRCH is the normal case once everything has exited.
            tracing::trace!(pgid, signal, error = %io::Error::last_os_error(), "killpg failed");
        }
    }
}

impl Drop for Group {
    fn drop(&mut self) {
        self.signal(libc::SIGKILL);
    }
}

/// Where every line goes: redacted first, so a secret never reaches the buffers.
struct Sink {
    log: Mutex<CappedLog>,
    redactor: Redactor,
}

impl Sink {
    /// One line of Gangway's own (the command line, the summary, a note), redacted alone.
    fn push(&self, line: &[u8]) {
        let text = self.redactor.apply(&String::from_utf8_lossy(line));
        self.store(text);
    }

    /// A line already redacted by its stream.
    fn store(&self, line: String) {
        self.log
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .push(line);
    }
}

/// Reads one output stream into the log, through a stream redactor of its own (so a secret
/// cut across lines is found whatever the other stream prints in between).
async fn pump<R: AsyncRead + Unpin>(stream: Option<R>, name: &str, sink: &Sink) {
    let Some(stream) = stream else { return };
    let mut lines = LineReader {
        inner: BufReader::new(stream),
        pending: Vec::new(),
    };
    let mut redacting = sink.redactor.stream();
    loop {
        match lines.next().await {
            Ok(Some(line)) => {
                for line in redacting.push(String::from_utf8_lossy(&line).into_owned()) {
                    sink.store(line);
                }
            }
            Ok(None) => break,
            Err(error) => {
                for line in std::mem::replace(&mut redacting, sink.redactor.stream()).finish() {
                    sink.store(line);
                }
                sink.push(format!("[gangway: reading {name} failed: {error}]").as_bytes());
                return;
            }
        }
    }
    for line in redacting.finish() {
        sink.store(line);
    }
}

struct LineReader<R> {
    inner: BufReader<R>,
    pending: Vec<u8>,
}

impl<R: AsyncRead + Unpin> LineReader<R> {
    /// The next line without its newline; `None` at end of stream.
    async fn next(&mut self) -> io::Result<Option<Vec<u8>>> {
        loop {
            let buf = self.inner.fill_buf().await?;
            if buf.is_empty() {
                return Ok((!self.pending.is_empty()).then(|| std::mem::take(&mut self.pending)));
            }
            let window = &buf[..buf.len().min(MAX_LINE - self.pending.len())];
            if let Some(newline) = window.iter().position(|&b| b == b'\n') {
                self.pending.extend_from_slice(&window[..newline]);
                self.inner.consume(newline + 1);
                return Ok(Some(std::mem::take(&mut self.pending)));
            }
            let taken = window.len();
            self.pending.extend_from_slice(window);
            self.inner.consume(taken);
            if self.pending.len() >= MAX_LINE {
                let cut = split_point(&self.pending);
                let rest = self.pending.split_off(cut);
                return Ok(Some(std::mem::replace(&mut self.pending, rest)));
            }
        }
    }
}

/// Where to split an over-long line: not inside a UTF-8 character. (A secret cut by the split
/// is still found: the stream redactor matches across lines.)
fn split_point(line: &[u8]) -> usize {
    let mut cut = line.len();
    // An incomplete character at the end moves whole to the next piece.
    if let Some(back) = (1..=cut.min(3)).find(|&k| line[cut - k] & 0xC0 != 0x80) {
        let width = match line[cut - back] {
            0xC0..=0xDF => 2,
            0xE0..=0xEF => 3,
            0xF0..=0xF7 => 4,
            _ => 1,
        };
        if width > back {
            cut -= back;
        }
    }
    if cut == 0 { line.len() } else { cut }
}

/// The log as it will be stored: a head of whole lines up to a quarter of the cap, then a ring
/// of the most recent lines; what falls out of the ring is only counted.
struct CappedLog {
    head: String,
    head_cap: usize,
    tail: VecDeque<String>,
    tail_bytes: usize,
    tail_cap: usize,
    omitted: usize,
}

impl CappedLog {
    fn new(max_bytes: usize) -> Self {
        let head_cap = max_bytes / 4;
        CappedLog {
            head: String::new(),
            head_cap,
            tail: VecDeque::new(),
            tail_bytes: 0,
            tail_cap: max_bytes - head_cap,
            omitted: 0,
        }
    }

    fn push(&mut self, mut line: String) {
        line.push('\n');
        // Once anything went to the tail the head is closed, so it stays a true beginning.
        let head_open = self.tail.is_empty() && self.omitted == 0;
        if head_open && self.head.len() + line.len() <= self.head_cap {
            self.head.push_str(&line);
            return;
        }
        if line.len() > self.tail_cap {
            let mut start = line.len() - self.tail_cap;
            while !line.is_char_boundary(start) {
                start += 1;
            }
            self.omitted += start;
            line.drain(..start);
        }
        self.tail_bytes += line.len();
        self.tail.push_back(line);
        while self.tail_bytes > self.tail_cap {
            let Some(dropped) = self.tail.pop_front() else {
                break;
            };
            self.tail_bytes -= dropped.len();
            self.omitted += dropped.len();
        }
    }

    fn finish(self) -> String {
        let mut log = self.head;
        if self.omitted > 0 {
            let omitted = self.omitted;
            log.push_str(&format!("[gangway: {omitted} bytes of output omitted]\n"));
        }
        log.extend(self.tail);
        log
    }
}

fn describe(status: ExitStatus) -> String {
    match (status.code(), status.signal()) {
        (Some(code), _) => format!("exit {code}"),
        (None, Some(signal)) => format!("killed by signal {signal}"),
        (None, None) => format!("ended with {status}"),
    }
}

fn human(duration: Duration) -> String {
    if duration.subsec_millis() == 0 && duration.as_secs() > 0 {
        format!("{} s", duration.as_secs())
    } else {
        format!("{} ms", duration.as_millis())
    }
}

/// For the `$ ` line only: plain words as they are, anything ambiguous quoted.
fn display_argv(argv: &[String]) -> String {
    let ambiguous =
        |w: &str| w.is_empty() || w.contains(|c: char| c.is_whitespace() || "\"'".contains(c));
    let shown = |w: &String| {
        if ambiguous(w) {
            format!("{w:?}")
        } else {
            w.clone()
        }
    };
    argv.iter().map(shown).collect::<Vec<_>>().join(" ")
}

#[cfg(test)]
#[path = "command_tests.rs"]
mod tests;
