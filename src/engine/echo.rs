//! Who made what a webhook reports: Gangway itself, other automation, or a person.
//!
//! Owns the one rule behind "is this our own echo" (ingress stores such a delivery without a
//! job), "can this comment run a command" (only a person's can) and "is this deployment
//! Gangway's" (never adopted). Pure: the caller reads the facts off the payload; this never
//! looks at a payload, a clock or the network.

/// What kind of object a webhook reports.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Subject {
    Comment,
    Deployment,
    DeploymentStatus,
}

/// The facts about one reported object's maker.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Maker {
    pub subject: Subject,
    /// `performed_via_github_app.id`: the App GitHub says made it, if any.
    pub via_app: Option<u64>,
    /// The account is a bot (GitHub's `type: Bot`, or a login ending in `[bot]`). Where the
    /// account is not read (ingress), `false`: it never makes something Gangway's own.
    pub bot_account: bool,
    /// A deployment whose payload carries Gangway's marker (`payload.gangway`).
    pub marked: bool,
}

/// Who made it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Origin {
    /// This App made it through the API (a deployment also carries Gangway's marker): GitHub
    /// reporting back a call whose result Gangway recorded when it made it.
    Echo,
    /// A deployment with Gangway's marker that GitHub does not attribute to this App (or the
    /// App's id was not known where asked): Gangway's all the same, already being run.
    Marked,
    /// Another App, a bot account, or this App's credentials without Gangway's marker (someone
    /// scripted a deployment with them).
    Automation,
    /// A person.
    Person,
}

impl Origin {
    /// Nothing to do: ingress stores the delivery without a job.
    pub fn is_echo(self) -> bool {
        self == Origin::Echo
    }

    /// Gangway made it: a deployment that is never adopted.
    pub fn is_gangways(self) -> bool {
        matches!(self, Origin::Echo | Origin::Marked)
    }

    /// Only a person's comment can run a command: never a bot's, nor one posted through any
    /// App (Gangway's own included), so no automation can approve or promote.
    pub fn runs_commands(self) -> bool {
        self == Origin::Person
    }
}

/// Who made the object. `app_id`: this App's id, where it is known (ingress); without it
/// nothing is an [`Origin::Echo`].
pub fn origin(m: &Maker, app_id: Option<u64>) -> Origin {
    let by_this_app = app_id.is_some() && m.via_app == app_id;
    let marked = m.subject == Subject::Deployment && m.marked;
    if by_this_app && (m.subject != Subject::Deployment || marked) {
        Origin::Echo
    } else if marked {
        Origin::Marked
    } else if m.via_app.is_some() || m.bot_account {
        Origin::Automation
    } else {
        Origin::Person
    }
}

/// GitHub's bot accounts: `type: Bot`, and logins such as `dependabot[bot]`.
pub fn is_bot_login(login: &str) -> bool {
    login.ends_with("[bot]")
}

#[cfg(test)]
#[path = "echo_tests.rs"]
mod tests;
