//! Pinning: `/keep [duration]` exempts a pull request's preview from the idle TTL and from
//! eviction (capacity and slots) for that long, capped by the policy's `preview.max_keep`;
//! `/keep off` ends it.
//!
//! Owns what `/keep`'s argument means ([`request`]), until when a pin holds ([`until`]),
//! whether a pin holds now ([`holds`]) and what `/keep` answers ([`answer`]). The pin itself is
//! kept by the store (`store/slots.rs`); the TTL reads it through
//! [`super::expires_at`], the reaper's and the slots' eviction through [`holds`]. Pure.

use std::time::Duration;

use crate::policy::parse_duration;

/// What a `/keep` asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KeepRequest {
    /// Pin for this long (none named: the policy's `max_keep`).
    For(Option<Duration>),
    /// `/keep off`: end the pin.
    Off,
}

/// Reads `/keep`'s argument: nothing, a duration (`3d`, `12h`) or `off`.
pub fn request(text: Option<&str>) -> Result<KeepRequest, String> {
    match text.map(str::trim).filter(|t| !t.is_empty()) {
        None => Ok(KeepRequest::For(None)),
        Some(t) if t.eq_ignore_ascii_case("off") => Ok(KeepRequest::Off),
        Some(t) => parse_duration(t)
            .map(|d| KeepRequest::For(Some(d)))
            .map_err(|e| format!("/keep takes a duration such as `3d` or `12h`, or `off`: {e}")),
    }
}

/// Until when a pin asked for `asked` at `now_ms` holds, and whether it was cut to `max`.
pub fn until(now_ms: i64, asked: Option<Duration>, max: Duration) -> (i64, bool) {
    let asked_or_max = asked.unwrap_or(max);
    let capped = asked_or_max > max;
    let d = asked_or_max.min(max);
    let ms = i64::try_from(d.as_millis()).unwrap_or(i64::MAX / 4);
    (now_ms.saturating_add(ms), capped)
}

/// Whether a pin until `until_ms` holds at `now_ms`.
pub fn holds(until_ms: Option<i64>, now_ms: i64) -> bool {
    until_ms.is_some_and(|u| u > now_ms)
}

/// `/keep`'s reply.
pub fn answer(until_ms: i64, capped: bool, max: Duration) -> String {
    let at = chrono::DateTime::from_timestamp_millis(until_ms)
        .map(|t| t.format("%Y-%m-%d %H:%M UTC").to_string())
        .unwrap_or_default();
    let cut = if capped {
        format!(
            " (cut to the policy's `preview.max_keep`, {} h)",
            max.as_secs() / 3600
        )
    } else {
        String::new()
    };
    format!(
        "Pinned until {at}{cut}: this preview is neither torn down for being idle nor evicted \
         until then. **/keep off** ends it sooner."
    )
}

#[cfg(test)]
#[path = "pinning_tests.rs"]
mod tests;
