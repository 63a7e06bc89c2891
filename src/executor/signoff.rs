//! Authors sign off before production (`train.signoff: authors`): the train's round of
//! questions, and the `/good` and `/bad` answers.
//!
//! Owns carrying the round out: the pull requests the commit carries beyond production's
//! commit and their authors (read from the store, GitHub when unknown), each asked once on
//! their pull request (the row recorded before the comment, the comment's id after, so a
//! rerun asks only those not asked), the train told to wait, go or stop; and the commands:
//! an answer recorded on the round that asks its pull request, a `/bad` marking the commit
//! bad and telling every pull request of the round, the train woken. Whether the train may go,
//! who may answer and every word are `engine::signoff`'s.

use tracing::info;

use super::Executor;
use crate::engine::PolicyStatus;
use crate::engine::commands::{Command, Invocation};
use crate::engine::signoff::{self, Carried, Gate};
use crate::jobs::CommandPayload;
use crate::model::{RepoRef, SignoffAnswer};
use crate::policy::{Permission, Policy, TrainPolicy};
use crate::queue::JobError;
use crate::types::CommitSha;

impl Executor {
    /// Whether the train may deploy `head` to production now (`production`: the commit
    /// production runs), asking the authors who were not asked yet.
    pub(crate) async fn signoff_gate(
        &self,
        repo: &RepoRef,
        policy: &Policy,
        timetable: &TrainPolicy,
        head: &CommitSha,
        production: Option<&CommitSha>,
    ) -> Result<Gate, JobError> {
        if timetable.signoff == crate::policy::SignoffMode::Off {
            return Ok(Gate::Go);
        }
        let mut carried = Vec::new();
        for number in self.carried_pulls(repo, production, head).await? {
            let known = self.store.pull(repo.id, number).await?.map(|(pr, _)| pr);
            let pr = match known {
                Some(pr) => Some(pr),
                None => self.fetch_pull(repo, number).await?,
            };
            if let Some(pr) = pr {
                carried.push(Carried {
                    number,
                    author: pr.author,
                    bot: pr.author_bot,
                });
            }
        }
        let now = self.clock.now_ms();
        let mut rows = self.store.signoffs_for(repo.id, head).await?;
        if let Gate::Ask(asking) = signoff::gate(timetable, &carried, &rows, now) {
            for c in &asking {
                self.store
                    .ask_signoff(repo.id, head, c.number, &c.author, now)
                    .await?;
            }
            rows = self.store.signoffs_for(repo.id, head).await?;
        }
        // Each author asked once: the question goes out for every row without its comment.
        if let Some(deadline) = signoff::deadline(timetable, &rows) {
            for row in rows.iter().filter(|r| r.comment_id.is_none()) {
                let text = signoff::question(
                    &row.author,
                    head,
                    policy.environments.production(),
                    deadline,
                    timetable,
                );
                let id = self.comment(repo, row.pr_number, &text).await?;
                self.store
                    .signoff_asked(repo.id, head, row.pr_number, id)
                    .await?;
                info!(pr = row.pr_number.0, author = %row.author, sha = %head, "sign-off asked");
            }
        }
        Ok(match signoff::gate(timetable, &carried, &rows, now) {
            // Asked just now; nothing more to ask.
            Gate::Ask(_) => Gate::WaitUntil(now),
            // Timed out under `stop`: every pull request of the round hears it, once: each
            // notice is claimed before it is posted, so two runs of the train (a lapsed lease)
            // never both tell (a notice GitHub refused is given back for the retry; a crash in
            // between loses it, the stop itself is in the train's record). A `/bad` was told
            // when it was said.
            Gate::Stop(why) if !signoff::has_bad(&rows) => {
                let notice = signoff::timeout_notice(head, &why);
                for row in rows.iter().filter(|r| !r.stop_told) {
                    if self
                        .store
                        .signoff_stop_told(repo.id, head, row.pr_number)
                        .await?
                        && let Err(e) = self.comment(repo, row.pr_number, &notice).await
                    {
                        // Not posted: the claim goes back, and the retry tells.
                        self.store
                            .signoff_stop_untold(repo.id, head, row.pr_number)
                            .await?;
                        return Err(e);
                    }
                }
                Gate::Stop(why)
            }
            other => other,
        })
    }

    /// `/good` and `/bad` on a pull request: an answer to the sign-off round that asks it.
    /// Authorship, not only permission, decides who may (`engine::signoff::may_answer`).
    pub(super) async fn signoff_command(
        &self,
        job: &CommandPayload,
        repo: &RepoRef,
        policy: &PolicyStatus,
        invocation: &Invocation,
        has: Permission,
    ) -> Result<(), JobError> {
        let answer = if invocation.command == Command::Good {
            SignoffAnswer::Good
        } else {
            SignoffAnswer::Bad
        };
        let Some(policy) = policy.valid() else {
            let why = "nothing can be signed off while `.github/gangway.yml` is invalid";
            return self
                .finish(job, repo, "refused", why, Some(why), false)
                .await;
        };
        let rows = self.store.signoffs_of_pull(repo.id, job.number).await?;
        let mut over = Vec::new();
        for r in &rows {
            if self
                .store
                .signoffs_for(repo.id, &r.sha)
                .await?
                .iter()
                .any(|o| o.answer == Some(SignoffAnswer::Bad))
            {
                over.push(r.sha.clone());
            }
        }
        let Some(row) = signoff::open_row(&rows, |sha| over.contains(sha)).cloned() else {
            let why = "no sign-off round asks this pull request: Gangway asks its author here \
                       before the train takes its change to production.";
            return self
                .finish(job, repo, "refused", why, Some(why), false)
                .await;
        };
        if let Err(why) =
            signoff::may_answer(answer, &job.author, &row, has, policy.permissions.bad)
        {
            return self
                .finish(job, repo, "refused", &why, Some(&why), false)
                .await;
        }
        let now = self.clock.now_ms();
        let reason = invocation.text.as_deref();
        let answered = signoff::answered(&row, answer, &job.author, reason, now);
        self.store.answer_signoff(repo.id, &answered).await?;
        let round = self.store.signoffs_for(repo.id, &row.sha).await?;
        match answer {
            SignoffAnswer::Good => {
                let waiting = round
                    .iter()
                    .filter(|r| r.answer != Some(SignoffAnswer::Good))
                    .count();
                self.wake_train(repo, policy).await?;
                let reply = signoff::good_answer(&row.sha, waiting);
                self.finish(job, repo, "accepted", "signed off", Some(&reply), true)
                    .await
            }
            SignoffAnswer::Bad => {
                let answered = round
                    .iter()
                    .find(|r| r.pr_number == row.pr_number)
                    .cloned()
                    .unwrap_or(row);
                let environment = signoff::found_in(policy.environments.names());
                let why = format!(
                    "/bad by @{} on #{}{}",
                    job.author,
                    answered.pr_number.0,
                    reason.map(|r| format!(": {r}")).unwrap_or_default()
                );
                self.store
                    .mark_bad(
                        repo.id,
                        &answered.sha,
                        environment,
                        &job.author,
                        Some(&why),
                        now,
                    )
                    .await?;
                let notice = signoff::bad_notice(&answered, environment);
                for other in round.iter().filter(|r| r.pr_number != answered.pr_number) {
                    self.comment(repo, other.pr_number, &notice).await?;
                }
                self.wake_train(repo, policy).await?;
                self.finish(job, repo, "accepted", &why, Some(&notice), true)
                    .await
            }
        }
    }
}
