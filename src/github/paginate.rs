//! The one paginator every list GitHub answers in pages goes through.
//!
//! Owns: asking for the largest page (`per_page=100`), following GitHub's
//! `Link: <…>; rel="next"` header (relative or absolute) to the end of the list, and refusing
//! what would make a partial list look whole. Never follows a link off the API (the
//! installation's token goes with every request), never guesses page numbers, and never ends a
//! list early: past [`MAX_PAGES`] or on a `Link` header it cannot read it fails with a
//! [`PageError`], because a caller that takes a truncated list for the whole one acts on the
//! missing part (the reconciler would tear down previews in repositories it did not read).

use http::{HeaderMap, Uri};

/// Items per page: GitHub's maximum.
pub const PER_PAGE: usize = 100;

/// The most pages one list may take (10 000 items at 100 a page). Past it the list fails
/// instead of being cut short.
pub const MAX_PAGES: usize = 100;

/// Why a list could not be read to its end.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PageError {
    /// The `Link` header is not in GitHub's form, so whether more pages follow is unknown.
    #[error("unreadable Link header: {0}")]
    MalformedLink(String),
    /// The next page is not on the API Gangway talks to: refused, the token would go along.
    #[error("the next page is outside the API ({0}); not followed")]
    OffApi(String),
    /// The list goes on past the cap.
    #[error("the list goes on past {max} pages; refused rather than read in part")]
    TooManyPages { max: usize },
}

/// Where a list stands: the route of the next page to fetch, if any.
#[derive(Debug, Clone)]
pub struct Pages {
    api: Uri,
    next: Option<String>,
    fetched: usize,
    max: usize,
}

impl Pages {
    /// A list starting at `first` (a route relative to the API, e.g. `/installation/repositories`
    /// or `/repos/o/r/pulls?state=open`), on the API at `api`. Asks for 100 a page unless the
    /// route says otherwise.
    pub fn new(api: &Uri, first: &str) -> Pages {
        Self::with_cap(api, first, MAX_PAGES)
    }

    pub fn with_cap(api: &Uri, first: &str, max: usize) -> Pages {
        let first = if first.contains("per_page=") {
            first.to_owned()
        } else {
            let sep = if first.contains('?') { '&' } else { '?' };
            format!("{first}{sep}per_page={PER_PAGE}")
        };
        Pages {
            api: api.clone(),
            next: Some(first),
            fetched: 0,
            max,
        }
    }

    /// The route of the next page to fetch; `None` once the last page was read.
    pub fn next_route(&mut self) -> Result<Option<String>, PageError> {
        if self.next.is_some() && self.fetched >= self.max {
            return Err(PageError::TooManyPages { max: self.max });
        }
        Ok(self.next.take())
    }

    /// Records the answer to the page just fetched: its `Link` header says what comes next.
    pub fn advance(&mut self, headers: &HeaderMap) -> Result<(), PageError> {
        self.advance_to(next_link(headers)?.as_deref())
    }

    /// As [`Pages::advance`], with the page's next link already read (a cached page's).
    pub fn advance_to(&mut self, next: Option<&str>) -> Result<(), PageError> {
        self.fetched += 1;
        self.next = match next {
            Some(url) => Some(route_of(url, &self.api)?),
            None => None,
        };
        Ok(())
    }

    /// Pages fetched so far.
    pub fn fetched(&self) -> usize {
        self.fetched
    }
}

/// The `rel="next"` URL of a `Link` header; `None` when there is no header or no next page.
pub fn next_link(headers: &HeaderMap) -> Result<Option<String>, PageError> {
    let mut next = None;
    for value in headers.get_all(http::header::LINK) {
        let text = value
            .to_str()
            .map_err(|_| PageError::MalformedLink("not ASCII".into()))?;
        for (url, rels) in parse_link(text)? {
            if rels.iter().any(|r| r.eq_ignore_ascii_case("next")) {
                if next.is_some() {
                    return Err(PageError::MalformedLink("two next pages".into()));
                }
                next = Some(url);
            }
        }
    }
    Ok(next)
}

/// The links of one `Link` header value (RFC 8288): each `<url>` with its `rel` values.
fn parse_link(text: &str) -> Result<Vec<(String, Vec<String>)>, PageError> {
    let bad = || PageError::MalformedLink(crate::types::truncate_long(text, 200));
    let mut links = Vec::new();
    let mut rest = text.trim();
    while !rest.is_empty() {
        let inner = rest.strip_prefix('<').ok_or_else(bad)?;
        let end = inner.find('>').ok_or_else(bad)?;
        let url = inner[..end].trim().to_owned();
        if url.is_empty() {
            return Err(bad());
        }
        rest = inner[end + 1..].trim_start();
        // The parameters run to the next link (a `,` outside quotes) or the end.
        let params_end = unquoted(rest, ',').next().unwrap_or(rest.len());
        let params = &rest[..params_end];
        rest = rest[params_end..].trim_start_matches(',').trim_start();
        let mut rels = Vec::new();
        let mut start = 0;
        let ends = unquoted(params, ';').chain(std::iter::once(params.len()));
        for end in ends {
            let param = params[start..end].trim();
            start = (end + 1).min(params.len());
            if param.is_empty() {
                continue;
            }
            let (name, value) = param.split_once('=').ok_or_else(bad)?;
            if name.trim().eq_ignore_ascii_case("rel") {
                let value = value.trim().trim_matches('"');
                rels.extend(value.split_whitespace().map(str::to_owned));
            }
        }
        links.push((url, rels));
    }
    Ok(links)
}

/// Where `sep` occurs in `text` outside double quotes.
fn unquoted(text: &str, sep: char) -> impl Iterator<Item = usize> + '_ {
    let mut in_quotes = false;
    text.char_indices().filter_map(move |(i, c)| {
        if c == '"' {
            in_quotes = !in_quotes;
        }
        (c == sep && !in_quotes).then_some(i)
    })
}

/// The route (path and query, relative to the API) of a link GitHub gave, if it points into the
/// API at `api`: the same scheme, host and port, under the API's path. A relative link is taken
/// as a path on the API's host.
pub fn route_of(link: &str, api: &Uri) -> Result<String, PageError> {
    let off = || PageError::OffApi(crate::types::truncate_long(link, 200));
    let bad = || PageError::MalformedLink(crate::types::truncate_long(link, 200));
    if link.starts_with("//") || link.contains('\\') {
        // Scheme-relative (another host) or a path some clients read as one.
        return Err(off());
    }
    let uri: Uri = link.parse().map_err(|_| bad())?;
    if let Some(authority) = uri.authority() {
        let scheme = uri.scheme_str().unwrap_or("");
        let same_scheme = api
            .scheme_str()
            .is_some_and(|s| s.eq_ignore_ascii_case(scheme));
        let api_authority = api.authority().ok_or_else(off)?;
        let same_host = authority.host().eq_ignore_ascii_case(api_authority.host())
            && port_of(authority.port_u16(), scheme) == port_of(api_authority.port_u16(), scheme);
        // `user@host` names another host to some readers and this one to others.
        if !same_scheme || !same_host || authority.as_str().contains('@') {
            return Err(off());
        }
    } else if uri.scheme().is_some() || !link.starts_with('/') {
        return Err(bad());
    }
    let path_and_query = uri.path_and_query().ok_or_else(bad)?.as_str();
    let base = api.path().trim_end_matches('/');
    if base.is_empty() {
        return Ok(path_and_query.to_owned());
    }
    match path_and_query.strip_prefix(base) {
        Some(route) if route.starts_with('/') => Ok(route.to_owned()),
        // A relative link outside the API's path, or an absolute one beside it.
        _ => Err(off()),
    }
}

fn port_of(port: Option<u16>, scheme: &str) -> Option<u16> {
    port.or(match scheme.to_ascii_lowercase().as_str() {
        "https" => Some(443),
        "http" => Some(80),
        _ => None,
    })
}

#[cfg(test)]
#[path = "paginate_tests.rs"]
mod tests;
