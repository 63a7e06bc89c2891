//! Authors sign off before production (`train.signoff: authors`): the round of questions the
//! train asks before it promotes a commit to production, who may answer `/good` and `/bad`, and
//! what each answer, and silence, does.
//!
//! Owns: whether the train may deploy to production now ([`gate`]: ask every author of a
//! carried pull request once, then wait for each one's `/good` until `signoff_timeout` after
//! the first question; any `/bad` stops it; at the timeout `signoff_on_timeout` says proceed or
//! stop), who may answer ([`may_answer`]: `/good` only the pull request's author, `/bad` its
//! author or anyone with the `bad` permission), where a `/bad` marks the commit ([`found_in`]),
//! and the words: the question ([`question`]), the answers ([`good_answer`], [`bad_notice`]).
//! A round is keyed on the commit going to production; each row is one pull request it
//! carries. Pure: the executor (`executor/signoff.rs`) reads the rows, the pull requests and
//! the clock, asks here, and acts.

use super::promotion::utc;
use super::sticky::defuse;
use super::text;
use crate::model::{Signoff, SignoffAnswer};
use crate::policy::{Permission, SignoffMode, SignoffTimeout, TrainPolicy};
use crate::types::{CommitSha, PrNumber};

/// A pull request the commit going to production carries, and its author.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Carried {
    pub number: PrNumber,
    pub author: String,
    /// Bots are never asked: nobody would answer.
    pub bot: bool,
}

/// What the train does about production now.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Gate {
    /// Deploy to production.
    Go,
    /// Ask these authors first (each once, on their pull request), then ask the gate again.
    Ask(Vec<Carried>),
    /// Wait for answers; look again at this time (the round's timeout) at the latest.
    WaitUntil(i64),
    /// Stop carrying the commit, for this reason.
    Stop(String),
}

/// The gate before production for commit `sha`, carrying `carried`, with the round's `rows`
/// (every answer so far) at `now_ms`.
pub fn gate(policy: &TrainPolicy, carried: &[Carried], rows: &[Signoff], now_ms: i64) -> Gate {
    if policy.signoff == SignoffMode::Off {
        return Gate::Go;
    }
    if let Some(bad) = rows.iter().find(|r| r.answer == Some(SignoffAnswer::Bad)) {
        return Gate::Stop(bad_reason(bad));
    }
    let unasked: Vec<Carried> = carried
        .iter()
        .filter(|c| !c.bot && !rows.iter().any(|r| r.pr_number == c.number))
        .cloned()
        .collect();
    if !unasked.is_empty() {
        return Gate::Ask(unasked);
    }
    let waiting: Vec<&Signoff> = rows
        .iter()
        .filter(|r| r.answer != Some(SignoffAnswer::Good))
        .collect();
    let Some(deadline) = deadline(policy, rows) else {
        // Nobody to ask.
        return Gate::Go;
    };
    if waiting.is_empty() {
        return Gate::Go;
    }
    if now_ms < deadline {
        return Gate::WaitUntil(deadline);
    }
    match policy.signoff_on_timeout {
        SignoffTimeout::Proceed => Gate::Go,
        SignoffTimeout::Stop => Gate::Stop(format!(
            "sign-off timed out: no **/good** from {}",
            text::some_of(&waiting.iter().map(|r| who(r)).collect::<Vec<_>>())
        )),
    }
}

/// When the round of `rows` times out: `signoff_timeout` after its first question.
pub fn deadline(policy: &TrainPolicy, rows: &[Signoff]) -> Option<i64> {
    let first = rows.iter().map(|r| r.asked_at).min()?;
    Some(
        first.saturating_add(
            i64::try_from(policy.signoff_timeout.as_millis()).unwrap_or(i64::MAX / 4),
        ),
    )
}

/// Why a `/bad` stopped the train.
fn bad_reason(r: &Signoff) -> String {
    format!(
        "{} said **/bad** on #{}{}",
        text::login(r.answered_by.as_deref().unwrap_or(&r.author)),
        r.pr_number.0,
        r.reason
            .as_deref()
            .map(|why| format!(": {}", text::prose(why)))
            .unwrap_or_default()
    )
}

/// `@alice (#12)`.
fn who(r: &Signoff) -> String {
    format!("{} (#{})", text::login(&r.author), r.pr_number.0)
}

/// Whether `commenter` (with `has` on the repository) may answer `answer` on the pull request
/// whose row is `row`: `/good` counts only from its author; `/bad` from its author or anyone
/// with `bad_needs` (the policy's `permissions.bad`). `Err` is the reply. GitHub logins are
/// not case sensitive.
pub fn may_answer(
    answer: SignoffAnswer,
    commenter: &str,
    row: &Signoff,
    has: Permission,
    bad_needs: Permission,
) -> Result<(), String> {
    let author = row.author.eq_ignore_ascii_case(commenter);
    match answer {
        SignoffAnswer::Good if author => Ok(()),
        SignoffAnswer::Good => Err(format!(
            "only the author of this pull request ({}) can sign it off with `/good`; nothing was recorded.",
            text::login(&row.author)
        )),
        SignoffAnswer::Bad if author || has >= bad_needs => Ok(()),
        SignoffAnswer::Bad => Err(format!(
            "`/bad` is for the author of this pull request ({}) or someone with {} permission or more; you have {}. Nothing was marked.",
            text::login(&row.author),
            bad_needs.as_str(),
            has.as_str()
        )),
    }
}

/// The row a `/good` or `/bad` on pull request `number` answers: the newest round that asks it
/// and is not over (no `/bad` in it yet). `rounds`: every row of `number`, any commit.
pub fn open_row(
    rows_of_pr: &[Signoff],
    bad_in_round: impl Fn(&CommitSha) -> bool,
) -> Option<&Signoff> {
    rows_of_pr
        .iter()
        .filter(|r| !bad_in_round(&r.sha))
        .max_by_key(|r| r.asked_at)
}

/// `row` answered `answer` by `by` at `now_ms`, with the reason given (a `/bad`'s).
pub fn answered(
    row: &Signoff,
    answer: SignoffAnswer,
    by: &str,
    reason: Option<&str>,
    now_ms: i64,
) -> Signoff {
    Signoff {
        answer: Some(answer),
        answered_by: Some(by.to_owned()),
        reason: reason.map(str::to_owned),
        answered_at: Some(now_ms),
        ..row.clone()
    }
}

/// Where a `/bad` marks the commit: the environment it runs in before production (where the
/// authors tried it), or production when that is the only one.
pub fn found_in(environments: &[String]) -> &str {
    let n = environments.len();
    environments
        .get(n.saturating_sub(2))
        .map_or("production", String::as_str)
}

/// The question on a carried pull request: its author is asked once.
pub fn question(
    author: &str,
    sha: &CommitSha,
    production: &str,
    deadline: i64,
    policy: &TrainPolicy,
) -> String {
    let then = match policy.signoff_on_timeout {
        SignoffTimeout::Proceed => "it goes ahead without them",
        SignoffTimeout::Stop => "the train stops for this commit",
    };
    let body = format!(
        "🚦 {}, commit `{}` carries this change and goes to {} next. Does your change work where it runs now? Comment **/good** if it does, or **/bad** and a reason if it does not: that marks the commit bad and stops the train. {} waits for every author's **/good** until about {}; then {then}.",
        text::login(author),
        sha.short(),
        text::prose_capped(production, text::NAME_CHARS),
        capitalised(&text::prose_capped(production, text::NAME_CHARS)),
        utc(deadline)
    );
    body.lines().map(defuse).collect::<Vec<_>>().join("\n")
}

fn capitalised(s: &str) -> String {
    let mut c = s.chars();
    match c.next() {
        Some(first) => first.to_uppercase().collect::<String>() + c.as_str(),
        None => String::new(),
    }
}

/// The reply to an accepted `/good`: `waiting` authors have not signed off yet.
pub fn good_answer(sha: &CommitSha, waiting: usize) -> String {
    match waiting {
        0 => format!(
            "your sign-off of commit `{}` is recorded; every author has signed off, so the train goes on.",
            sha.short()
        ),
        n => format!(
            "your sign-off of commit `{}` is recorded; the train waits for {n} more.",
            sha.short()
        ),
    }
}

/// What every pull request of the round is told after a `/bad` on `row`.
pub fn bad_notice(row: &Signoff, environment: &str) -> String {
    let body = format!(
        "🛑 {}. Commit `{}` is marked bad in {} and the train stops for it: it will not go to production. Fix forward with a new commit.",
        bad_reason(row),
        row.sha.short(),
        text::prose_capped(environment, text::NAME_CHARS)
    );
    body.lines().map(defuse).collect::<Vec<_>>().join("\n")
}

/// What every pull request of the round is told when it timed out under
/// `signoff_on_timeout: stop` (`why`: the gate's reason, which names who did not answer).
pub fn timeout_notice(sha: &CommitSha, why: &str) -> String {
    let body = format!(
        "⏱️ The train stops for commit `{}`: {why}. A newer commit on the default branch starts a new round; a maintainer may still **/promote**.",
        sha.short()
    );
    body.lines().map(defuse).collect::<Vec<_>>().join("\n")
}

/// Whether `rows` hold a `/bad` (its notice was sent when it was said).
pub fn has_bad(rows: &[Signoff]) -> bool {
    rows.iter().any(|r| r.answer == Some(SignoffAnswer::Bad))
}

/// A sign-off in one phrase, for `gangway envs` and the history: `@alice good`, `@bob waiting`.
pub fn summary(r: &Signoff) -> String {
    format!(
        "#{} @{} {}",
        r.pr_number.0,
        r.author,
        r.answer.map_or("waiting", SignoffAnswer::as_str)
    )
}

#[cfg(test)]
#[path = "signoff_tests.rs"]
mod tests;
