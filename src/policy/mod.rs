//! The repository policy file, `.github/gangway.yml`: its schema, its defaults and its validation.
//!
//! This module owns what a maintainer may write in that file and what each key means once
//! parsed: [`parse`] turns the file's bytes into a validated [`Policy`], or into a
//! [`PolicyError`] written for a maintainer reading it in a pull-request comment (what is
//! wrong, at which key and line, and what is allowed). No file means [`Policy::default`].
//!
//! It never does I/O: the caller fetches the file, from the default branch only (a pull
//! request must not be able to loosen the policy that governs it), and hands us the bytes.
//!
//! Parsing is strict, because a misspelt key silently falling back to a default would change
//! what gets deployed without anyone noticing: unknown keys and duplicate keys are errors.
//! The input is untrusted, so it is bounded before and during parsing: a size cap, then the
//! YAML parser's budgets for nesting depth, aliases and node counts.
//!
//! The file with every key at its default (every section and every key is optional):
//! ```yaml
//! preview:
//!   trigger: checks            # checks | on_open
//!   required_checks: []        # empty: every check and status on the head commit
//!   drafts: false
//!   delete_environment: false
//!   environment: "pr-{number}"
//!   ttl: 72h                   # an idle preview is torn down after this long
//!   superseded_grace: 1h       # how long an older commit's preview outlives a newer head
//!   max_previews: 10           # 1 to 1000; beyond, the least recently deployed go
//!   adopt: people              # off | people | people_and_apps: who may deploy by hand
//!   bots: approve              # approve | auto: a bot's same-repository PR, like a fork's?
//!   # slots: 3                 # a fixed pool of slots (a count or a list of names); unset: none
//!   max_keep: 14d              # the longest a `/keep` pins a preview
//!   routes: []                 # [{source: regex, public: "path/$1.html"}]: links to changed pages
//! permissions:                 # least GitHub permission needed to run each command:
//!   stage: write               # none | read | triage | write | maintain | admin
//!   unstage: write
//!   promote: maintain
//!   hold: write                # the panic button, so anyone who can push may press it
//!   unhold: maintain
//!   rollback: maintain
//! forks:
//!   on_push: keep              # keep | teardown: when an approved fork PR gets a new push
//! environments: [production]   # long-lived, in promotion order; the last is production
//! promotion:
//!   merge: false               # merge the PR once its production deployment succeeds
//!   merge_method: merge        # merge | squash | rebase
//!   auto_rollback: false       # a failed production deploy rolls back to the last good commit
//! # train:                     # no train by default; `train: {}` runs it with these defaults
//! #   delay: 30m               # quiet period after the default branch's head goes green
//! #   bake: 60m                # how long a commit runs in one environment before the next
//! #   signoff: off             # off | authors: authors sign off before production
//! #   signoff_timeout: 4h      # how long production waits for their /good
//! #   signoff_on_timeout: proceed  # proceed | stop, once that wait is over
//! # verify:                    # nothing is verified by default; per environment:
//! #   production: {command: true, checks: [smoke/production], timeout: 15m}
//! ```
//! `train:` alone (YAML null) is "unset", like any other section: no train.
//!
//! Adding a section is a field in [`Policy`] and `RawPolicy`, a line in [`SECTIONS`] (in
//! field order), its key list, and its `expected_at` entries. `permissions:` lives in
//! `permissions.rs`, which says how to add a command; `environments:`, `promotion:`
//! and `train:` live in `promotion.rs`.

use serde::Deserialize;
use serde_path_to_error::{Path, Segment};
use serde_saphyr::{Error as YamlError, Location, MessageFormatter, Spanned, UserMessageFormatter};

/// Where the policy lives in a repository (read from the default branch only).
pub const POLICY_PATH: &str = ".github/gangway.yml";
/// Larger files are refused before parsing; a real policy is a few hundred bytes.
pub const MAX_POLICY_BYTES: usize = 64 * 1024;
/// Longest check name or environment name GitHub accepts.
pub const MAX_NAME_CHARS: usize = 255;
/// Most entries allowed in `preview.required_checks`.
pub const MAX_REQUIRED_CHECKS: usize = 100;

mod permissions;
pub use permissions::{PERMISSIONS_KEYS, Permission, Permissions};

mod team;
pub use team::{MAX_ROUTES, MAX_SLOTS, Route};

mod promotion;
pub use promotion::{
    Environments, MAX_ENVIRONMENTS, MAX_PARALLEL_TARGETS, MAX_TARGETS, MergeMethod,
    OnTargetFailure, PROMOTION_KEYS, PromotionPolicy, SignoffMode, SignoffTimeout, TRAIN_KEYS,
    TrainPolicy, Unit, target_environment,
};

mod verification;
pub use verification::{
    DEFAULT_VERIFY_TIMEOUT, MAX_VERIFY_TIMEOUT, VERIFY_KEYS, VerifyEnvironment, VerifyPolicy,
};

/// The top-level sections, named in error messages (a test keeps this in step with serde).
pub const SECTIONS: &[&str] = &[
    "preview",
    "permissions",
    "forks",
    "environments",
    "targets",
    "promotion",
    "train",
    "verify",
];
/// The keys of `preview:`, named in error messages (a test keeps this in step with serde).
pub const PREVIEW_KEYS: &[&str] = &[
    "trigger",
    "required_checks",
    "drafts",
    "delete_environment",
    "environment",
    "ttl",
    "superseded_grace",
    "max_previews",
    "adopt",
    "bots",
    "slots",
    "max_keep",
    "routes",
];
/// The keys of `forks:`, named in error messages (a test keeps this in step with serde).
pub const FORKS_KEYS: &[&str] = &["on_push"];

/// A repository's validated policy. `Default` is the documented defaults (no file).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Policy {
    pub preview: PreviewPolicy,
    /// The least permission needed to run each command.
    pub permissions: Permissions,
    /// How previews of pull requests from forks are treated.
    pub forks: ForkPolicy,
    /// The long-lived environments a merged commit is promoted through; production last.
    pub environments: Environments,
    /// What happens around a commit's production deployment.
    pub promotion: PromotionPolicy,
    /// The release train; `None` (the default) when the policy has no `train:` mapping.
    pub train: Option<TrainPolicy>,
    /// What verifies a deployment to each environment before it counts (`verify:`).
    pub verify: VerifyPolicy,
}

/// One entry of `preview.required_checks`: a name alone (`build`: every check run of that name,
/// whichever App posted it, and every commit status of that context), or a name with the slug
/// of the App whose check run it must be (`github-actions/build`: only that App's run counts).
/// `*/` before a name means "any source" for a name that itself starts like `slug/`
/// (`*/ci/circleci: build`). How results are matched is the engine's (`engine::checks`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RequiredCheck {
    /// The slug (lower case) of the App whose check run counts; `None`: any source.
    pub app: Option<String>,
    /// The check run's name or the status's context, exactly.
    pub name: String,
}

impl RequiredCheck {
    /// Reads one entry; the error says what is wrong with it. A first part before `/` that
    /// could be an App's slug (letters, digits and `-`, not starting with `-`) names the App.
    pub fn parse(entry: &str) -> Result<RequiredCheck, String> {
        if let Some(name) = entry.strip_prefix("*/") {
            if name.trim().is_empty() {
                return Err("`*/` (any source) is followed by no check name".to_owned());
            }
            return Ok(RequiredCheck {
                app: None,
                name: name.to_owned(),
            });
        }
        match entry.split_once('/') {
            Some((app, name)) if is_app_slug(app) => {
                if name.trim().is_empty() {
                    return Err(format!(
                        "names the App `{app}` but no check after the `/`; write `{app}/NAME`"
                    ));
                }
                Ok(RequiredCheck {
                    app: Some(app.to_ascii_lowercase()),
                    name: name.to_owned(),
                })
            }
            _ => Ok(RequiredCheck {
                app: None,
                name: entry.to_owned(),
            }),
        }
    }
}

/// Whether `s` could be a GitHub App's slug.
fn is_app_slug(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 100
        && !s.starts_with('-')
        && s.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
}

impl std::fmt::Display for RequiredCheck {
    /// As the policy would write it: `app/name`, `name`, or `*/name` when the name alone would
    /// read as naming an App.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.app {
            Some(app) => write!(f, "{app}/{}", self.name),
            None if RequiredCheck::parse(&self.name).as_ref() != Ok(self) => {
                write!(f, "*/{}", self.name)
            }
            None => f.write_str(&self.name),
        }
    }
}

/// How pull requests become preview deployments. `Default` is the documented defaults.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PreviewPolicy {
    /// When to stage a preview.
    pub trigger: Trigger,
    /// Checks that must pass; empty means every check run and status on the head commit.
    pub required_checks: Vec<RequiredCheck>,
    /// Whether draft pull requests are staged automatically.
    pub drafts: bool,
    /// Whether the PR's GitHub environment is deleted when the PR closes.
    pub delete_environment: bool,
    /// The GitHub environment name for a PR.
    pub environment: EnvTemplate,
    /// A preview idle this long (no new commit, no `/stage`) is torn down.
    pub ttl: std::time::Duration,
    /// How long an older commit's preview may outlive a newer head that has not gone live.
    pub superseded_grace: std::time::Duration,
    /// The most previews the repository may have at once; beyond, the least recently deployed go.
    pub max_previews: u32,
    /// Whose deployments made by hand in a PR's environment are run (under the PR's gates).
    pub adopt: AdoptPolicy,
    /// Whether a bot's same-repository pull request needs a maintainer's `/stage`, as a fork's.
    pub bots: BotPolicy,
    /// The fixed pool of slots previews run on, in order; empty: no slots (a host per commit).
    pub slots: Vec<String>,
    /// The longest a `/keep` pins a preview (a longer request is cut to this).
    pub max_keep: std::time::Duration,
    /// Changed files → pages of the live preview, for the sticky comment's links.
    pub routes: Vec<Route>,
}

impl Default for PreviewPolicy {
    fn default() -> Self {
        PreviewPolicy {
            trigger: Trigger::default(),
            required_checks: Vec::new(),
            drafts: false,
            delete_environment: false,
            environment: EnvTemplate::default(),
            ttl: std::time::Duration::from_secs(72 * 3600),
            superseded_grace: std::time::Duration::from_secs(3600),
            max_previews: 10,
            adopt: AdoptPolicy::default(),
            bots: BotPolicy::default(),
            slots: Vec::new(),
            max_keep: std::time::Duration::from_secs(14 * 86_400),
            routes: Vec::new(),
        }
    }
}

/// A duration as maintainers write it: a whole number and a unit, `90s`, `30m`, `72h`, `7d`.
pub fn parse_duration(s: &str) -> Result<std::time::Duration, String> {
    let s = s.trim();
    let split = s.find(|c: char| !c.is_ascii_digit()).unwrap_or(s.len());
    let (num, unit) = s.split_at(split);
    let n: u64 = num
        .parse()
        .map_err(|_| format!("`{s}` is not a duration like `30m`, `72h` or `7d`"))?;
    let secs = match unit {
        "s" => 1,
        "m" => 60,
        "h" => 3600,
        "d" => 86_400,
        _ => {
            return Err(format!(
                "`{s}` has no unit: write a number followed by s, m, h or d (e.g. `72h`)"
            ));
        }
    };
    if n == 0 {
        return Err(format!("`{s}` must be greater than zero"));
    }
    n.checked_mul(secs)
        .filter(|v| *v <= 366 * 86_400)
        .map(std::time::Duration::from_secs)
        .ok_or_else(|| format!("`{s}` is longer than a year"))
}

/// When a pull request's preview is staged.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Trigger {
    /// Once the head commit's checks are green.
    #[default]
    Checks,
    /// As soon as the pull request is opened (or updated).
    OnOpen,
}

/// Whose deployment made by hand (API, CLI, a workflow) in a pull request's environment
/// Gangway runs, when the pull request would be staged at that moment anyway.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum AdoptPolicy {
    /// None: such deployments are marked failed and nothing runs.
    Off,
    /// A person's, if GitHub says they have the `stage` permission.
    #[default]
    People,
    /// A person's as above, and any App's or bot's (they have no collaborator permission to
    /// ask about: any holder of `deployments: write`).
    PeopleAndApps,
}

/// How a same-repository pull request opened by a bot (dependabot, renovate) is staged.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum BotPolicy {
    /// Like a fork's: only a maintainer's `/stage` of the exact commit deploys it.
    #[default]
    Approve,
    /// Like any same-repository pull request: by its checks (or `trigger`).
    Auto,
}

/// How previews of pull requests from forks are treated. `Default` is the documented defaults.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct ForkPolicy {
    /// What happens to an approved fork preview when the fork pushes a new, unapproved commit.
    pub on_push: ForkPush,
}

/// What a fork's push of a new, unapproved commit does to its approved preview.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum ForkPush {
    /// The preview keeps running the approved commit until the new one is approved.
    #[default]
    Keep,
    /// The preview is torn down until the new commit is approved.
    Teardown,
}

/// A validated environment-name template such as `pr-{number}`.
///
/// Validation renders it with the largest possible PR number, so [`EnvTemplate::render`]
/// always yields a valid environment name and needs no error path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EnvTemplate {
    // Validated: its only braces are `{number}` placeholders, so rendering is a replace.
    source: String,
}

impl Default for EnvTemplate {
    fn default() -> Self {
        Self {
            source: "pr-{number}".to_owned(),
        }
    }
}

impl EnvTemplate {
    /// The template as the maintainer wrote it.
    pub fn as_str(&self) -> &str {
        &self.source
    }

    /// Whether every preview shares this one environment name (no `{number}`): each
    /// deployment is still per commit, and nothing maps the name back to a pull request.
    pub fn shared(&self) -> bool {
        !self.source.contains("{number}")
    }

    /// The environment name for pull request `pr_number`.
    pub fn render(&self, pr_number: u64) -> String {
        self.source.replace("{number}", &pr_number.to_string())
    }

    /// The pull request whose environment `name` is, if it is one: the number that renders to
    /// exactly `name` (so `pr-007` is nobody's: `pr-7` is PR 7's).
    pub fn number_in(&self, name: &str) -> Option<u64> {
        let (prefix, _) = self.source.split_once("{number}")?;
        let rest = name.strip_prefix(prefix)?;
        let digits = rest.len() - rest.trim_start_matches(|c: char| c.is_ascii_digit()).len();
        let n: u64 = rest[..digits].parse().ok()?;
        (self.render(n) == name).then_some(n)
    }

    /// Parses and validates a template; the error says what is wrong and what is allowed.
    fn parse(source: &str) -> Result<Self, String> {
        const ONLY: &str = "the only placeholder is `{number}`";
        let mut rest = source;
        while let Some(pos) = rest.find(['{', '}']) {
            if rest[pos..].starts_with('}') {
                return Err(format!("`}}` without a matching `{{`; {ONLY}"));
            }
            let after = &rest[pos + 1..];
            let close = after.find('}').filter(|&end| !after[..end].contains('{'));
            let Some(end) = close else {
                return Err(format!("`{{` without a matching `}}`; {ONLY}"));
            };
            if &after[..end] != "number" {
                return Err(format!(
                    "unknown placeholder `{{{}}}`; {ONLY}",
                    &after[..end]
                ));
            }
            rest = &after[end + 1..];
        }
        // Without `{number}` every preview shares one environment name (each deployment is
        // still per commit); `delete_environment` is then refused (see `RawPreview::validate`).
        if source.trim().is_empty() {
            return Err("is empty; write a name such as \"pr-{number}\" or \"preview\"".to_owned());
        }
        let template = Self {
            source: source.to_owned(),
        };
        // The longest number renders the longest name: if that one is valid, all are.
        check_env_name(&template.render(u64::MAX))?;
        Ok(template)
    }
}

/// GitHub's rules for an environment name, as one sentence for the maintainer.
fn check_env_name(name: &str) -> Result<(), String> {
    let problem = if name.chars().count() > MAX_NAME_CHARS {
        format!("is longer than {MAX_NAME_CHARS} characters for large PR numbers")
    } else if name.chars().any(char::is_control) {
        "contains a control character (such as a newline or tab)".to_owned()
    } else if name.starts_with('/') || name.ends_with('/') {
        "starts or ends with `/`".to_owned()
    } else {
        return Ok(());
    };
    Err(format!(
        "renders to an environment name that {problem}; a name must be 1 to {MAX_NAME_CHARS} \
         characters, without control characters or a leading or trailing `/`"
    ))
}

/// Parses the policy file's bytes. Empty input, or only comments, gives the defaults.
pub fn parse(text: &[u8]) -> Result<Policy, PolicyError> {
    if text.len() > MAX_POLICY_BYTES {
        return Err(PolicyError::TooLarge { bytes: text.len() });
    }
    let text = std::str::from_utf8(text).map_err(|_| PolicyError::NotUtf8)?;
    let mut failed_at: Option<Path> = None;
    // `Option`: an empty or comment-only document is YAML null, which means "no settings".
    let raw = serde_saphyr::with_deserializer_from_str_with_options(text, yaml_options(), |de| {
        serde_path_to_error::deserialize::<_, Option<RawPolicy>>(de).map_err(|err| {
            failed_at = Some(err.path().clone());
            err.into_inner()
        })
    })
    .map_err(|err| yaml_error(&err, failed_at.as_ref()))?;
    raw.map_or_else(|| Ok(Policy::default()), RawPolicy::validate)
}

/// The parser's limits, far below its defaults: a valid policy nests three levels deep and
/// has no reason for more than a handful of aliases, so anything beyond is refused early.
fn yaml_options() -> serde_saphyr::Options {
    serde_saphyr::options! {
        budget: serde_saphyr::budget! {
            max_reader_input_bytes: Some(MAX_POLICY_BYTES),
            max_depth: 16,
            flow_nesting_limit: 16,
            max_aliases: 256,
            max_anchors: 256,
            max_nodes: 20_000,
            max_total_scalar_bytes: MAX_POLICY_BYTES,
            // A second document is refused with a clearer message than a budget breach.
            max_documents: 2,
        },
        alias_limits: serde_saphyr::alias_limits! {
            max_total_replayed_events: 10_000,
            max_replay_stack_depth: 8,
        },
        duplicate_keys: serde_saphyr::options::DuplicateKeyPolicy::Error,
        // YAML 1.1 reads `yes`, `no`, `on` and `off` as booleans, which surprises people;
        // here only `true` and `false` are, and `drafts: yes` is an error that says so.
        strict_booleans: true,
        // Our messages carry their own line and column; a snippet would clutter a PR comment.
        with_snippet: false,
    }
}

/// Why a policy file was refused; `Display` is written for a maintainer.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PolicyError {
    #[error("{POLICY_PATH} is {bytes} bytes; the limit is {MAX_POLICY_BYTES} bytes")]
    TooLarge { bytes: usize },
    #[error("{POLICY_PATH} is not valid UTF-8 text")]
    NotUtf8,
    #[error("{POLICY_PATH}: {message}")]
    Invalid { message: String },
}

/// One error message: `<key path> at line L column C: <what is wrong and what is allowed>`.
fn invalid(path: &str, at: Option<&Location>, what: &str) -> PolicyError {
    let place = if path.is_empty() { "the file" } else { path };
    let message = match at {
        Some(at) => format!(
            "{place} at line {} column {}: {what}",
            at.line(),
            at.column()
        ),
        None => format!("{place}: {what}"),
    };
    PolicyError::Invalid { message }
}

/// Allowed values, each in backticks: `a` or `b` for two, `one of a, b, c` for more.
fn values(names: &[&str]) -> String {
    match names {
        [_, _, _, ..] => format!("one of `{}`", names.join("`, `")),
        _ => one_of(names),
    }
}

/// `a`, `a` or `b`, `a`, `b` or `c`: each name in backticks.
fn one_of(names: &[&str]) -> String {
    let quoted: Vec<String> = names.iter().map(|name| format!("`{name}`")).collect();
    match quoted.split_last() {
        Some((last, rest)) if !rest.is_empty() => format!("{} or {last}", rest.join(", ")),
        _ => quoted.concat(),
    }
}

/// What a value at `shape` (a key path with list indices as `[]`) must be.
fn expected_at(shape: &str) -> Option<String> {
    Some(match shape {
        "" => format!(
            "a mapping of sections; allowed sections: {}",
            one_of(SECTIONS)
        ),
        "preview" => format!("a mapping; allowed keys: {}", one_of(PREVIEW_KEYS)),
        "preview.trigger" => "`checks` or `on_open`".to_owned(),
        "preview.required_checks" => {
            "a list of check names, e.g. [\"build\", \"github-actions/test\"]".to_owned()
        }
        "preview.required_checks[]" => {
            "a check name, or an App's slug and a check name (a string)".to_owned()
        }
        "preview.drafts" | "preview.delete_environment" => "`true` or `false`".to_owned(),
        "preview.ttl" | "preview.superseded_grace" => {
            "a duration such as `30m`, `72h` or `7d`".to_owned()
        }
        "preview.max_previews" => "a whole number from 1 to 1000".to_owned(),
        "preview.adopt" => "`off`, `people` or `people_and_apps`".to_owned(),
        "preview.bots" => "`approve` or `auto`".to_owned(),
        "preview.slots" => {
            format!("a number of slots from 1 to {MAX_SLOTS}, or a list of slot names")
        }
        "preview.max_keep" => "a duration such as `14d`".to_owned(),
        "preview.routes" | "preview.routes[]" => format!(
            "a list of at most {MAX_ROUTES} mappings, each with `source` (a regular expression) \
             and `public` (a page path, `$1` for a capture)"
        ),
        "preview.environment" => "a string such as \"pr-{number}\" (quoted: YAML reads a bare \
                                  `{…}` as a mapping)"
            .to_owned(),
        "permissions" => format!("a mapping; allowed keys: {}", one_of(PERMISSIONS_KEYS)),
        command
            if command
                .strip_prefix("permissions.")
                .is_some_and(|key| PERMISSIONS_KEYS.contains(&key)) =>
        {
            values(&Permission::ALL.map(Permission::as_str))
        }
        "forks" => format!("a mapping; allowed keys: {}", one_of(FORKS_KEYS)),
        "forks.on_push" => "`keep` or `teardown`".to_owned(),
        _ => {
            return promotion::expected_at(shape).or_else(|| verification::expected_at(shape));
        }
    })
}

/// Turns a YAML or schema error into a message naming the key path, position and rule.
fn yaml_error(err: &YamlError, failed_at: Option<&Path>) -> PolicyError {
    let mut core = err;
    while let YamlError::WithSnippet { error, .. } | YamlError::AliasError { error, .. } = core {
        core = error;
    }
    // serde_path_to_error leaves a key it did not get to read as unknown; for a duplicate
    // the error itself knows the key, otherwise (a syntax error) the parent path is shown.
    let unknown_key = match core {
        YamlError::DuplicateMappingKey { key: Some(key), .. } => format!(".{key}"),
        _ => String::new(),
    };
    // `path` is shown to the maintainer; `shape` (list indices as `[]`) finds the rule.
    let (mut path, mut shape) = (String::new(), String::new());
    for segment in failed_at.into_iter().flat_map(Path::iter) {
        match segment {
            Segment::Seq { index } => {
                path.push_str(&format!("[{index}]"));
                shape.push_str("[]");
            }
            // `Spanned<T>` reads through an inner field `value` (no policy key has that name);
            // policy enums are unit-only, so `trigger: {checks: 1}` is an error at `trigger`.
            Segment::Map { key } if key == "value" => {}
            Segment::Enum { .. } => {}
            Segment::Map { key } => {
                path.push_str(&format!(".{key}"));
                shape.push_str(&format!(".{key}"));
            }
            Segment::Unknown => {
                path.push_str(&unknown_key);
                shape.push_str(&unknown_key);
            }
        }
    }
    let (path, shape) = (path.trim_start_matches('.'), shape.trim_start_matches('.'));
    let library_message = || UserMessageFormatter.format_message(core).into_owned();
    let what = match core {
        YamlError::SerdeUnknownField {
            field, expected, ..
        } => {
            let kind = if path.contains('.') { "key" } else { "section" };
            format!(
                "unknown {kind} `{field}`; allowed {kind}s: {}",
                one_of(expected)
            )
        }
        YamlError::SerdeUnknownVariant {
            variant, expected, ..
        } => {
            format!("unknown value `{variant}`, expected {}", values(expected))
        }
        YamlError::DuplicateMappingKey { .. } => {
            let key = unknown_key.trim_start_matches('.');
            format!("`{key}` is set more than once; each key may appear only once")
        }
        YamlError::Unexpected { .. }
        | YamlError::InvalidScalar { .. }
        | YamlError::InvalidBooleanStrict { .. }
        | YamlError::NullIntoString { .. }
        | YamlError::ExternallyTaggedEnumExpectedScalarOrMapping { .. }
        | YamlError::UnexpectedValueForUnitEnumVariant { .. }
        | YamlError::SerdeInvalidType { .. }
        | YamlError::SerdeInvalidValue { .. }
        | YamlError::SerdeInvalidLength { .. } => expected_at(shape)
            .map_or_else(library_message, |expected| {
                format!("wrong type: expected {expected}")
            }),
        _ => library_message(),
    };
    invalid(path, err.location().as_ref(), &what)
}

// ---- The file as written: private, strict, converted into the types above. ----

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawPolicy {
    preview: Option<RawPreview>,
    permissions: Option<permissions::RawPermissions>,
    forks: Option<RawForks>,
    environments: Option<promotion::RawEnvironments>,
    targets: Option<promotion::RawTargets>,
    promotion: Option<promotion::RawPromotion>,
    train: Option<promotion::RawTrain>,
    verify: Option<verification::RawVerify>,
}

/// Every field is optional, and YAML null (`drafts:` with nothing after it) means "unset",
/// so commenting out the last key under a section leaves the defaults rather than an error.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawPreview {
    trigger: Option<RawTrigger>,
    required_checks: Option<Vec<Spanned<String>>>,
    drafts: Option<bool>,
    delete_environment: Option<bool>,
    environment: Option<Spanned<String>>,
    ttl: Option<Spanned<String>>,
    superseded_grace: Option<Spanned<String>>,
    max_previews: Option<Spanned<u32>>,
    adopt: Option<RawAdopt>,
    bots: Option<RawBots>,
    slots: Option<Spanned<team::RawSlots>>,
    max_keep: Option<Spanned<String>>,
    routes: Option<Spanned<Vec<team::RawRoute>>>,
}

#[derive(Deserialize)]
#[serde(rename_all = "snake_case")]
enum RawAdopt {
    Off,
    People,
    PeopleAndApps,
}

#[derive(Deserialize)]
#[serde(rename_all = "snake_case")]
enum RawBots {
    Approve,
    Auto,
}

#[derive(Deserialize)]
#[serde(rename_all = "snake_case")]
enum RawTrigger {
    Checks,
    OnOpen,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawForks {
    on_push: Option<RawForkPush>,
}

#[derive(Deserialize)]
#[serde(rename_all = "snake_case")]
enum RawForkPush {
    Keep,
    Teardown,
}

impl RawPolicy {
    fn validate(self) -> Result<Policy, PolicyError> {
        let preview = match self.preview {
            Some(raw) => raw.validate()?,
            None => PreviewPolicy::default(),
        };
        let on_push = match self.forks.unwrap_or_default().on_push {
            None => ForkPush::default(),
            Some(RawForkPush::Keep) => ForkPush::Keep,
            Some(RawForkPush::Teardown) => ForkPush::Teardown,
        };
        // After `preview`: no long-lived environment may have a preview's name.
        let environments = match self.environments {
            Some(raw) => promotion::validate_environments(raw, &preview.environment)?,
            None => Environments::default(),
        };
        let environments = match self.targets {
            Some(raw) => promotion::validate_targets(raw, environments, &preview.environment)?,
            None => environments,
        };
        let verify = match self.verify {
            Some(raw) => verification::validate_verify(raw, &environments)?,
            None => VerifyPolicy::default(),
        };
        Ok(Policy {
            preview,
            permissions: self.permissions.unwrap_or_default().validate(),
            forks: ForkPolicy { on_push },
            environments,
            promotion: self.promotion.unwrap_or_default().validate()?,
            train: self.train.map(promotion::RawTrain::validate).transpose()?,
            verify,
        })
    }
}

impl RawPreview {
    fn validate(self) -> Result<PreviewPolicy, PolicyError> {
        let defaults = PreviewPolicy::default();
        let environment = match self.environment {
            None => defaults.environment,
            Some(spanned) => EnvTemplate::parse(&spanned.value)
                .map_err(|what| invalid("preview.environment", Some(&spanned.referenced), &what))?,
        };
        if environment.shared() && self.delete_environment == Some(true) {
            return Err(invalid(
                "preview.delete_environment",
                None,
                "cannot be true while `preview.environment` has no `{number}`: every preview \
                 shares that environment, and closing one pull request would delete it for all",
            ));
        }
        Ok(PreviewPolicy {
            trigger: match self.trigger {
                None => defaults.trigger,
                Some(RawTrigger::Checks) => Trigger::Checks,
                Some(RawTrigger::OnOpen) => Trigger::OnOpen,
            },
            required_checks: validate_checks(self.required_checks.unwrap_or_default())?,
            drafts: self.drafts.unwrap_or(defaults.drafts),
            delete_environment: self
                .delete_environment
                .unwrap_or(defaults.delete_environment),
            environment,
            ttl: duration("preview.ttl", self.ttl, defaults.ttl)?,
            superseded_grace: duration(
                "preview.superseded_grace",
                self.superseded_grace,
                defaults.superseded_grace,
            )?,
            max_previews: match self.max_previews {
                None => defaults.max_previews,
                Some(m) if (1..=1000).contains(&m.value) => m.value,
                Some(m) => {
                    return Err(invalid(
                        "preview.max_previews",
                        Some(&m.referenced),
                        "must be 1 to 1000",
                    ));
                }
            },
            adopt: match self.adopt {
                None => defaults.adopt,
                Some(RawAdopt::Off) => AdoptPolicy::Off,
                Some(RawAdopt::People) => AdoptPolicy::People,
                Some(RawAdopt::PeopleAndApps) => AdoptPolicy::PeopleAndApps,
            },
            bots: match self.bots {
                None => defaults.bots,
                Some(RawBots::Approve) => BotPolicy::Approve,
                Some(RawBots::Auto) => BotPolicy::Auto,
            },
            slots: self
                .slots
                .map(team::validate_slots)
                .transpose()?
                .unwrap_or_default(),
            max_keep: duration("preview.max_keep", self.max_keep, defaults.max_keep)?,
            routes: self
                .routes
                .map(team::validate_routes)
                .transpose()?
                .unwrap_or_default(),
        })
    }
}

fn duration(
    path: &str,
    raw: Option<Spanned<String>>,
    default: std::time::Duration,
) -> Result<std::time::Duration, PolicyError> {
    match raw {
        None => Ok(default),
        Some(s) => {
            parse_duration(&s.value).map_err(|what| invalid(path, Some(&s.referenced), &what))
        }
    }
}

/// Check names are matched exactly against GitHub's, so a blank, overlong or repeated one
/// is a mistake the maintainer should hear about rather than a rule that can never match.
fn validate_checks(entries: Vec<Spanned<String>>) -> Result<Vec<RequiredCheck>, PolicyError> {
    validate_checks_at("preview.required_checks", entries)
}

/// As [`validate_checks`], for the list at `path` (also `verify.<environment>.checks`).
fn validate_checks_at(
    path: &str,
    entries: Vec<Spanned<String>>,
) -> Result<Vec<RequiredCheck>, PolicyError> {
    let mut names: Vec<RequiredCheck> = Vec::with_capacity(entries.len().min(MAX_REQUIRED_CHECKS));
    for (
        index,
        Spanned {
            value: name,
            referenced: at,
            ..
        },
    ) in entries.into_iter().enumerate()
    {
        let problem = if index == MAX_REQUIRED_CHECKS {
            format!("too many required checks; at most {MAX_REQUIRED_CHECKS} are allowed")
        } else if name.trim().is_empty() {
            "check name is empty; write the check's name as shown on the pull request".to_owned()
        } else if name.chars().count() > MAX_NAME_CHARS {
            format!("check name is longer than {MAX_NAME_CHARS} characters")
        } else {
            match RequiredCheck::parse(&name) {
                Err(problem) => problem,
                Ok(check) => match names.iter().position(|seen| *seen == check) {
                    Some(first) => format!(
                        "`{name}` is listed twice (first at index {first}); list each check once"
                    ),
                    None => {
                        names.push(check);
                        continue;
                    }
                },
            }
        };
        return Err(invalid(&format!("{path}[{index}]"), Some(&at), &problem));
    }
    Ok(names)
}

#[cfg(test)]
#[path = "policy_tests.rs"]
mod tests;
