//! The `environments:`, `promotion:` and `train:` sections: the long-lived environments a
//! merged commit is promoted through, what happens around the production deployment, and the
//! release train that promotes the default branch's head on its own.
//!
//! ```yaml
//! environments: [production]  # in promotion order; the last one is production
//! promotion:
//!   merge: false              # merge the PR once its production deployment succeeds
//!   merge_method: merge       # merge | squash | rebase
//!   auto_rollback: false      # a failed production deployment rolls back to the last good commit
//!   on_target_failure: continue  # or halt: a failing target stops the targets not yet started
//!   max_parallel_targets: 3   # how many targets of one environment deploy at the same time
//! targets:                    # an environment deployed to several servers, each its own target
//!   production: [au, uk, ca]  # GitHub environments production-au, production-uk, production-ca
//! train:                      # absent or null: no train; `train: {}` runs it with these defaults
//!   delay: 30m                # quiet period after the default branch's head goes green
//!   bake: 60m                 # how long a commit runs in one environment before the next
//!   signoff: off              # off | authors: each author of a carried PR signs off first
//!   signoff_timeout: 4h       # how long production waits for every /good
//!   signoff_on_timeout: proceed  # proceed | stop: what the train does once that wait is over
//! ```
//!
//! Unlike every other section, YAML null is not the same as an empty mapping for `train:`:
//! `train:` with nothing after it (or every key commented out) means "unset", so no train,
//! while `train: {}` turns the train on with the defaults.
//!
//! Adding a key is a field in the public struct with its default, the same field in its raw
//! struct and in its `validate`, its key in the section's `*_KEYS` list (in field order), and
//! its entry in this module's `expected_at`.

use super::{EnvTemplate, MAX_NAME_CHARS, PolicyError, duration, invalid, one_of, values};
use serde::Deserialize;
use serde_saphyr::Spanned;
use std::time::Duration;

/// The keys of `promotion:`, named in error messages (a test keeps this in step with serde).
pub const PROMOTION_KEYS: &[&str] = &[
    "merge",
    "merge_method",
    "auto_rollback",
    "on_target_failure",
    "max_parallel_targets",
];
/// The keys of `train:`, named in error messages (a test keeps this in step with serde).
pub const TRAIN_KEYS: &[&str] = &[
    "delay",
    "bake",
    "signoff",
    "signoff_timeout",
    "signoff_on_timeout",
];
/// Most entries allowed in `environments:`.
pub const MAX_ENVIRONMENTS: usize = 5;

/// Most targets one environment may have in `targets:`.
pub const MAX_TARGETS: usize = 20;
/// Most targets of one environment deployed at the same time (`promotion.max_parallel_targets`).
pub const MAX_PARALLEL_TARGETS: u32 = 20;

/// The name `environments:` defaults to: a single environment, production.
const DEFAULT_ENVIRONMENT: &str = "production";

/// The long-lived environments, in promotion order; the last one is production.
///
/// Validated: 1 to [`MAX_ENVIRONMENTS`] names, each a valid GitHub environment name that is
/// one word (so it can follow a command, as in `/promote staging`), none a name a preview
/// could have, no two the same. GitHub does not tell environment names apart by case, so
/// neither do the lookups here: `contains("Staging")` is true when `staging` is listed.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Environments {
    // Never empty (validation and `Default` both ensure it).
    names: Vec<String>,
    /// `targets:`: an environment (spelt as in `names`) and its targets, in the order written.
    targets: Vec<(String, Vec<String>)>,
}

impl Default for Environments {
    fn default() -> Self {
        Self {
            names: vec![DEFAULT_ENVIRONMENT.to_owned()],
            targets: Vec::new(),
        }
    }
}

/// What a name in a command means: an environment, or one target of an environment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unit {
    /// The environment, spelt as the policy spells it.
    pub environment: String,
    /// The target, spelt as the policy spells it; `None`: the environment itself.
    pub target: Option<String>,
}

impl Unit {
    /// The GitHub environment (and Gangway's record) of this unit: the environment's name, or
    /// for a target, `{environment}-{target}` ([`target_environment`]).
    pub fn name(&self) -> String {
        match &self.target {
            Some(t) => target_environment(&self.environment, t),
            None => self.environment.clone(),
        }
    }
}

/// The GitHub environment of a target: `production` and `au` give `production-au`.
pub fn target_environment(environment: &str, target: &str) -> String {
    format!("{environment}-{target}")
}

impl Environments {
    /// Every environment, in promotion order (production last), as the maintainer wrote them.
    pub fn names(&self) -> &[String] {
        &self.names
    }

    /// The first environment a commit is promoted to (production when it is the only one).
    pub fn first(&self) -> &str {
        // The list is never empty; the fallback only keeps this free of a panic path.
        self.names
            .first()
            .map_or(DEFAULT_ENVIRONMENT, String::as_str)
    }

    /// The production environment: the last one.
    pub fn production(&self) -> &str {
        self.names
            .last()
            .map_or(DEFAULT_ENVIRONMENT, String::as_str)
    }

    /// Whether `name` is one of the environments (ignoring case, as GitHub does).
    pub fn contains(&self, name: &str) -> bool {
        self.position(name).is_some()
    }

    /// Where `name` is in promotion order, from 0 (ignoring case, as GitHub does).
    pub fn position(&self, name: &str) -> Option<usize> {
        self.names.iter().position(|listed| same_name(listed, name))
    }

    /// The environment after `name` in promotion order; `None` after production, or when
    /// `name` is not listed.
    pub fn next_after(&self, name: &str) -> Option<&str> {
        let next = self.position(name)? + 1;
        self.names.get(next).map(String::as_str)
    }

    /// Whether `name` is the production environment (ignoring case, as GitHub does).
    pub fn is_production(&self, name: &str) -> bool {
        same_name(self.production(), name)
    }

    /// Whether `name` is production or one of its targets (`production-au`): its GitHub
    /// deployments are `production_environment`, and `auto_rollback` applies to it.
    pub fn in_production(&self, name: &str) -> bool {
        self.resolve(name)
            .is_some_and(|u| self.is_production(&u.environment))
    }

    /// The targets of environment `name` (none when it deploys as one).
    pub fn targets_of(&self, name: &str) -> &[String] {
        self.targets
            .iter()
            .find(|(env, _)| same_name(env, name))
            .map_or(&[], |(_, t)| t.as_slice())
    }

    /// What `name` names: a listed environment, or a target's derived name
    /// (`production-au`); ignoring case, as GitHub does. `None`: neither.
    pub fn resolve(&self, name: &str) -> Option<Unit> {
        if let Some(i) = self.position(name) {
            return Some(Unit {
                environment: self.names[i].clone(),
                target: None,
            });
        }
        self.targets.iter().find_map(|(env, targets)| {
            targets
                .iter()
                .find(|t| same_name(&target_environment(env, t), name))
                .map(|t| Unit {
                    environment: env.clone(),
                    target: Some(t.clone()),
                })
        })
    }

    /// What a deployment to `name` deploys: each target of an environment that has targets,
    /// the environment itself when it has none, the one target a derived name names.
    pub fn units(&self, name: &str) -> Vec<Unit> {
        match self.resolve(name) {
            Some(u) if u.target.is_none() => {
                let targets = self.targets_of(&u.environment);
                if targets.is_empty() {
                    vec![u]
                } else {
                    targets
                        .iter()
                        .map(|t| Unit {
                            environment: u.environment.clone(),
                            target: Some(t.clone()),
                        })
                        .collect()
                }
            }
            Some(u) => vec![u],
            None => Vec::new(),
        }
    }

    /// Every name a command may use: each environment, then each target's derived name.
    pub fn all_names(&self) -> Vec<String> {
        let mut all = self.names.clone();
        for (env, targets) in &self.targets {
            all.extend(targets.iter().map(|t| target_environment(env, t)));
        }
        all
    }
}

/// GitHub environment names are not case sensitive.
fn same_name(a: &str, b: &str) -> bool {
    a.chars()
        .flat_map(char::to_lowercase)
        .eq(b.chars().flat_map(char::to_lowercase))
}

/// What happens around a merged commit's production deployment. `Default` is the defaults.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct PromotionPolicy {
    /// Whether the pull request is merged once its production deployment succeeds.
    pub merge: bool,
    /// How that merge is done.
    pub merge_method: MergeMethod,
    /// Whether a failed production deployment rolls back to the last good commit.
    pub auto_rollback: bool,
    /// What one failing target of an environment does to its other targets.
    pub on_target_failure: OnTargetFailure,
    /// How many targets of one environment deploy at the same time (1 to
    /// [`MAX_PARALLEL_TARGETS`]).
    pub max_parallel_targets: u32,
}

impl Default for PromotionPolicy {
    fn default() -> Self {
        Self {
            merge: false,
            merge_method: MergeMethod::default(),
            auto_rollback: false,
            on_target_failure: OnTargetFailure::default(),
            max_parallel_targets: 3,
        }
    }
}

/// What one failing target does to the other targets of the same deployment.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum OnTargetFailure {
    /// The others go on (started or not); nothing is undone.
    #[default]
    Continue,
    /// Targets not started yet are not started; the ones already running finish.
    Halt,
}

impl OnTargetFailure {
    pub fn as_str(self) -> &'static str {
        match self {
            OnTargetFailure::Continue => "continue",
            OnTargetFailure::Halt => "halt",
        }
    }
}

/// How a pull request is merged: the values GitHub's merge API takes as `merge_method`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum MergeMethod {
    /// A merge commit.
    #[default]
    Merge,
    /// The pull request's commits squashed into one.
    Squash,
    /// The pull request's commits rebased onto the base branch.
    Rebase,
}

impl MergeMethod {
    /// Every method, in the order the policy file's messages name them.
    pub const ALL: [MergeMethod; 3] =
        [MergeMethod::Merge, MergeMethod::Squash, MergeMethod::Rebase];

    /// The method's name, as written in the policy file and sent to GitHub's merge API.
    pub fn as_str(self) -> &'static str {
        match self {
            MergeMethod::Merge => "merge",
            MergeMethod::Squash => "squash",
            MergeMethod::Rebase => "rebase",
        }
    }
}

impl std::fmt::Display for MergeMethod {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The release train's timing. `Default` is the defaults (what `train: {}` gives).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct TrainPolicy {
    /// Quiet period after the default branch's head goes green before the train leaves.
    pub delay: Duration,
    /// How long a commit must run in one environment before it moves to the next.
    pub bake: Duration,
    /// Whether the authors of the pull requests a commit carries sign off before production.
    pub signoff: SignoffMode,
    /// How long production waits for every author's `/good`.
    pub signoff_timeout: Duration,
    /// What the train does once that wait is over without every `/good`.
    pub signoff_on_timeout: SignoffTimeout,
}

impl Default for TrainPolicy {
    fn default() -> Self {
        Self {
            delay: Duration::from_secs(30 * 60),
            bake: Duration::from_secs(60 * 60),
            signoff: SignoffMode::Off,
            signoff_timeout: Duration::from_secs(4 * 3600),
            signoff_on_timeout: SignoffTimeout::Proceed,
        }
    }
}

/// `train.signoff`: who is asked before the train promotes to production.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum SignoffMode {
    /// Nobody: the train goes on its timetable.
    #[default]
    Off,
    /// Every author of a pull request merged since production's commit, on their PR.
    Authors,
}

/// `train.signoff_on_timeout`: what an unanswered sign-off round ends in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum SignoffTimeout {
    /// Silence is consent: production goes ahead.
    #[default]
    Proceed,
    /// Silence stops the train for this commit.
    Stop,
}

/// What a value at `shape` (a key path with list indices as `[]`) must be, for this module's
/// sections; `policy.rs`'s `expected_at` falls back to it.
pub(super) fn expected_at(shape: &str) -> Option<String> {
    Some(match shape {
        "environments" => "a list of environment names in promotion order, production last, \
                           e.g. [staging, production]"
            .to_owned(),
        "environments[]" => "an environment name (a string)".to_owned(),
        "promotion" => format!("a mapping; allowed keys: {}", one_of(PROMOTION_KEYS)),
        "promotion.merge" | "promotion.auto_rollback" => "`true` or `false`".to_owned(),
        "promotion.merge_method" => values(&MergeMethod::ALL.map(MergeMethod::as_str)),
        "promotion.on_target_failure" => "`continue` or `halt`".to_owned(),
        "promotion.max_parallel_targets" => {
            format!("a whole number from 1 to {MAX_PARALLEL_TARGETS}")
        }
        "targets" => "a mapping of environment names to lists of target names, e.g. \
                      {production: [au, uk, ca]}"
            .to_owned(),
        shape if shape.starts_with("targets.") && shape.ends_with("[]") => {
            "a target name (a string)".to_owned()
        }
        shape if shape.starts_with("targets.") => {
            "a list of target names, e.g. [au, uk, ca]".to_owned()
        }
        "train" => format!(
            "a mapping; allowed keys: {} (write `train: {{}}` to run the train with the defaults)",
            one_of(TRAIN_KEYS)
        ),
        "train.delay" | "train.bake" | "train.signoff_timeout" => {
            "a duration such as `30m`, `72h` or `7d`".to_owned()
        }
        "train.signoff" => "`off` or `authors`".to_owned(),
        "train.signoff_on_timeout" => "`proceed` or `stop`".to_owned(),
        _ => return None,
    })
}

// ---- The sections as written: private, strict, converted into the types above. ----

/// `environments:`; the outer span locates an empty list, the inner ones each name.
pub(super) type RawEnvironments = Spanned<Vec<Spanned<String>>>;

/// Every key is optional and YAML null means "unset", as in `preview:`.
#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub(super) struct RawPromotion {
    merge: Option<bool>,
    merge_method: Option<RawMergeMethod>,
    auto_rollback: Option<bool>,
    on_target_failure: Option<RawOnTargetFailure>,
    max_parallel_targets: Option<Spanned<u32>>,
}

#[derive(Deserialize)]
#[serde(rename_all = "lowercase")]
enum RawOnTargetFailure {
    Continue,
    Halt,
}

/// `targets:`: environment name → its target names.
pub(super) type RawTargets =
    Spanned<std::collections::BTreeMap<String, Spanned<Vec<Spanned<String>>>>>;

#[derive(Deserialize)]
#[serde(rename_all = "lowercase")]
enum RawMergeMethod {
    Merge,
    Squash,
    Rebase,
}

/// Every key is optional and YAML null means "unset"; the section itself being null is
/// "no train" (see the module docs).
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawTrain {
    delay: Option<Spanned<String>>,
    bake: Option<Spanned<String>>,
    signoff: Option<RawSignoff>,
    signoff_timeout: Option<Spanned<String>>,
    signoff_on_timeout: Option<RawSignoffTimeout>,
}

#[derive(Deserialize)]
#[serde(rename_all = "lowercase")]
enum RawSignoff {
    Off,
    Authors,
}

#[derive(Deserialize)]
#[serde(rename_all = "lowercase")]
enum RawSignoffTimeout {
    Proceed,
    Stop,
}

impl RawPromotion {
    pub(super) fn validate(self) -> Result<PromotionPolicy, PolicyError> {
        let defaults = PromotionPolicy::default();
        let max_parallel_targets = match self.max_parallel_targets {
            None => defaults.max_parallel_targets,
            Some(n) if (1..=MAX_PARALLEL_TARGETS).contains(&n.value) => n.value,
            Some(n) => {
                return Err(invalid(
                    "promotion.max_parallel_targets",
                    Some(&n.referenced),
                    &format!(
                        "{} is out of range; it must be from 1 to {MAX_PARALLEL_TARGETS}",
                        n.value
                    ),
                ));
            }
        };
        Ok(PromotionPolicy {
            merge: self.merge.unwrap_or(defaults.merge),
            merge_method: match self.merge_method {
                None => defaults.merge_method,
                Some(RawMergeMethod::Merge) => MergeMethod::Merge,
                Some(RawMergeMethod::Squash) => MergeMethod::Squash,
                Some(RawMergeMethod::Rebase) => MergeMethod::Rebase,
            },
            auto_rollback: self.auto_rollback.unwrap_or(defaults.auto_rollback),
            on_target_failure: match self.on_target_failure {
                None => defaults.on_target_failure,
                Some(RawOnTargetFailure::Continue) => OnTargetFailure::Continue,
                Some(RawOnTargetFailure::Halt) => OnTargetFailure::Halt,
            },
            max_parallel_targets,
        })
    }
}

impl RawTrain {
    pub(super) fn validate(self) -> Result<TrainPolicy, PolicyError> {
        let defaults = TrainPolicy::default();
        Ok(TrainPolicy {
            delay: duration("train.delay", self.delay, defaults.delay)?,
            bake: duration("train.bake", self.bake, defaults.bake)?,
            signoff: match self.signoff {
                None => defaults.signoff,
                Some(RawSignoff::Off) => SignoffMode::Off,
                Some(RawSignoff::Authors) => SignoffMode::Authors,
            },
            signoff_timeout: duration(
                "train.signoff_timeout",
                self.signoff_timeout,
                defaults.signoff_timeout,
            )?,
            signoff_on_timeout: match self.signoff_on_timeout {
                None => defaults.signoff_on_timeout,
                Some(RawSignoffTimeout::Proceed) => SignoffTimeout::Proceed,
                Some(RawSignoffTimeout::Stop) => SignoffTimeout::Stop,
            },
        })
    }
}

/// Checks `environments:` against GitHub's naming rules, our command syntax and the preview
/// template (`previews`, already validated), and says which entry is wrong and why.
pub(super) fn validate_environments(
    raw: RawEnvironments,
    previews: &EnvTemplate,
) -> Result<Environments, PolicyError> {
    let Spanned {
        value: entries,
        referenced: list_at,
        ..
    } = raw;
    if entries.is_empty() {
        return Err(invalid(
            "environments",
            Some(&list_at),
            "the list is empty; list at least one environment (the last one is production), \
             or leave `environments` out for [production]",
        ));
    }
    let mut names: Vec<String> = Vec::with_capacity(entries.len().min(MAX_ENVIRONMENTS));
    for (
        index,
        Spanned {
            value: name,
            referenced: at,
            ..
        },
    ) in entries.into_iter().enumerate()
    {
        let problem = if index == MAX_ENVIRONMENTS {
            format!("too many environments; at most {MAX_ENVIRONMENTS} are allowed")
        } else if let Some(problem) = name_problem(&name) {
            format!(
                "environment name {problem}; a name must be 1 to {MAX_NAME_CHARS} characters, \
                 without whitespace, control characters, a leading `-`, or a leading or \
                 trailing `/`"
            )
        } else if let Some(first) = names.iter().position(|seen| same_name(seen, &name)) {
            format!(
                "`{name}` is listed twice (first at index {first}, as `{}`; GitHub does not \
                 tell environment names apart by case); list each environment once",
                names[first]
            )
        } else if let Some(number) = preview_number(previews, &name) {
            format!(
                "`{name}` is the name of pull request {number}'s preview (`preview.environment` \
                 is \"{}\"); a long-lived environment needs a name no preview can have",
                previews.as_str()
            )
        } else {
            names.push(name);
            continue;
        };
        return Err(invalid(
            &format!("environments[{index}]"),
            Some(&at),
            &problem,
        ));
    }
    Ok(Environments {
        names,
        targets: Vec::new(),
    })
}

/// Checks `targets:` against `environments` (already validated) and the preview template:
/// each key a listed environment, 1 to [`MAX_TARGETS`] targets each, each target a name whose
/// derived GitHub environment (`{environment}-{target}`) is valid, one word, and no other
/// environment's, target's or preview's name.
pub(super) fn validate_targets(
    raw: RawTargets,
    mut environments: Environments,
    previews: &EnvTemplate,
) -> Result<Environments, PolicyError> {
    let mut taken: Vec<String> = environments.names.clone();
    let mut all = Vec::new();
    for (
        key,
        Spanned {
            value: entries,
            referenced: list_at,
            ..
        },
    ) in raw.value
    {
        let path = format!("targets.{key}");
        let Some(i) = environments.position(&key) else {
            return Err(invalid(
                &path,
                Some(&list_at),
                &format!(
                    "`{key}` is not one of `environments:` ({}); targets belong to a listed \
                     environment",
                    environments.names.join(", ")
                ),
            ));
        };
        let environment = environments.names[i].clone();
        if all
            .iter()
            .any(|(e, _): &(String, Vec<String>)| *e == environment)
        {
            return Err(invalid(
                &path,
                Some(&list_at),
                &format!("`{environment}` has targets listed twice; list them once"),
            ));
        }
        if entries.is_empty() {
            return Err(invalid(
                &path,
                Some(&list_at),
                "the list is empty; list at least one target, or leave the environment out",
            ));
        }
        let mut targets: Vec<String> = Vec::new();
        for (
            index,
            Spanned {
                value: target,
                referenced: at,
                ..
            },
        ) in entries.into_iter().enumerate()
        {
            let derived = target_environment(&environment, &target);
            let problem = if index == MAX_TARGETS {
                format!("too many targets; at most {MAX_TARGETS} are allowed")
            } else if let Some(problem) = name_problem(&target) {
                format!(
                    "target name {problem}; a target must be one word, without control \
                     characters, a leading `-`, or a leading or trailing `/`"
                )
            } else if let Some(problem) = name_problem(&derived) {
                format!(
                    "its GitHub environment `{}` {problem}",
                    derived.chars().take(40).collect::<String>()
                )
            } else if let Some(seen) = taken.iter().find(|seen| same_name(seen, &derived)) {
                format!(
                    "its GitHub environment `{derived}` is already the name of `{seen}`; \
                     each environment and target needs a name of its own"
                )
            } else if let Some(number) = preview_number(previews, &derived) {
                format!(
                    "its GitHub environment `{derived}` is the name of pull request {number}'s \
                     preview; rename the target"
                )
            } else {
                taken.push(derived);
                targets.push(target);
                continue;
            };
            return Err(invalid(&format!("{path}[{index}]"), Some(&at), &problem));
        }
        all.push((environment, targets));
    }
    // In promotion order, whatever order the mapping was read in.
    all.sort_by_key(|(e, _)| environments.position(e));
    environments.targets = all;
    Ok(environments)
}

/// GitHub's rules for an environment name, plus ours: one word that does not look like an
/// option, so it can be a command's argument (`/promote staging`).
fn name_problem(name: &str) -> Option<String> {
    Some(if name.is_empty() {
        "is empty".to_owned()
    } else if name.chars().count() > MAX_NAME_CHARS {
        format!("is longer than {MAX_NAME_CHARS} characters")
    } else if name.chars().any(char::is_control) {
        "contains a control character (such as a newline or tab)".to_owned()
    } else if name.chars().any(char::is_whitespace) {
        "contains whitespace (it must be one word to follow a command such as \
         `/promote staging`)"
            .to_owned()
    } else if name.starts_with('-') {
        "starts with `-`".to_owned()
    } else if name.starts_with('/') || name.ends_with('/') {
        "starts or ends with `/`".to_owned()
    } else {
        return None;
    })
}

/// The digits that, put in place of `{number}` in the preview template, render `name`
/// (ignoring case, as GitHub does), if any do: such a name belongs to a preview.
fn preview_number(previews: &EnvTemplate, name: &str) -> Option<String> {
    let (template, name) = (previews.as_str().to_lowercase(), name.to_lowercase());
    let (prefix, _) = template.split_once("{number}")?;
    let rest = name.strip_prefix(prefix)?;
    // The template's text after `{number}` may itself start with digits, so each length of
    // the leading run is tried; every `{number}` renders the same digits.
    let digits = rest.bytes().take_while(u8::is_ascii_digit).count();
    (1..=digits)
        .map(|len| &rest[..len])
        .find(|number| template.replace("{number}", number) == name)
        .map(str::to_owned)
}

#[cfg(test)]
#[path = "promotion_tests.rs"]
mod tests;
