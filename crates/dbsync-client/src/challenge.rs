//! Reading a server's `WWW-Authenticate` challenge (RFC 6750 section 3): the missing scope of a
//! `403 insufficient_scope`, and whether a `401` says the credentials expired.
//!
//! The header is server text, not trusted: only its first [`MAX_CHALLENGE_CHARS`] are read, a
//! scope is taken only when it is short ([`MAX_SCOPE_CHARS`]) and made of RFC 6749 scope
//! characters, and nothing here panics or allocates more than the bounded input.

/// How much of a challenge is read; the rest is ignored.
pub(crate) const MAX_CHALLENGE_CHARS: usize = 4096;

/// The longest scope value taken from a challenge; a longer one is not named at all (a cut scope
/// name would mislead).
pub(crate) const MAX_SCOPE_CHARS: usize = 256;

/// The value of auth-param `name` in a `Bearer` challenge (`error`, `scope`,
/// `error_description`), quoted or bare, first occurrence, unescaped; `None` when the challenge
/// is not `Bearer` or has no such parameter.
pub(crate) fn bearer_param(challenge: &str, name: &str) -> Option<String> {
    let text = bounded(challenge);
    let rest = strip_scheme(text.trim_start(), "Bearer")?;
    let mut params = Params { rest };
    params
        .find(|(key, _)| key.eq_ignore_ascii_case(name))
        .map(|(_, value)| value)
}

/// The scope a `403` names as missing: `scope` of `Bearer error="insufficient_scope"` when it is
/// well formed (RFC 6749 scope tokens, space separated, at most [`MAX_SCOPE_CHARS`]).
pub(crate) fn missing_scope(challenge: &str) -> Option<String> {
    let error = bearer_param(challenge, "error")?;
    if error != dbsync_contract::scopes::INSUFFICIENT_SCOPE {
        return None;
    }
    let scope = bearer_param(challenge, "scope")?;
    let scope = scope.trim();
    let well_formed =
        scope.len() <= MAX_SCOPE_CHARS && dbsync_contract::scopes::is_scope_list(scope);
    well_formed.then(|| scope.to_owned())
}

/// Whether a `401` says the credentials expired: its challenge is `Bearer
/// error="invalid_token"` with an `error_description` that mentions expiry, or its message does.
pub(crate) fn says_expired(challenge: Option<&str>, message: &str) -> bool {
    let described = challenge.is_some_and(|challenge| {
        bearer_param(challenge, "error").as_deref() == Some("invalid_token")
            && bearer_param(challenge, "error_description").is_some_and(|d| mentions_expiry(&d))
    });
    described || mentions_expiry(message)
}

/// Whether a `401` that [`says_expired`] is about an API key (rather than an access token).
pub(crate) fn says_api_key(challenge: Option<&str>, message: &str) -> bool {
    let mentions_key = |text: &str| bounded(text).to_ascii_lowercase().contains("api key");
    let described = challenge
        .and_then(|c| bearer_param(c, "error_description"))
        .is_some_and(|d| mentions_key(&d));
    described || mentions_key(message)
}

fn mentions_expiry(text: &str) -> bool {
    let text = bounded(text).to_ascii_lowercase();
    text.contains("expired")
}

/// The first [`MAX_CHALLENGE_CHARS`] bytes of `text`, cut at a character boundary.
fn bounded(text: &str) -> &str {
    if text.len() <= MAX_CHALLENGE_CHARS {
        return text;
    }
    let mut end = MAX_CHALLENGE_CHARS;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    &text[..end]
}

/// `text` after `scheme` (case-insensitive) and the space after it; `Some("")` for the bare
/// scheme.
fn strip_scheme<'a>(text: &'a str, scheme: &str) -> Option<&'a str> {
    let head = text.get(..scheme.len())?;
    if !head.eq_ignore_ascii_case(scheme) {
        return None;
    }
    let rest = &text[scheme.len()..];
    match rest.chars().next() {
        None => Some(""),
        Some(c) if c.is_ascii_whitespace() => Some(rest),
        Some(_) => None,
    }
}

/// The `key=value` pairs of a challenge, comma separated; stops at the first thing that is not
/// one (another challenge, garbage).
struct Params<'a> {
    rest: &'a str,
}

impl Iterator for Params<'_> {
    type Item = (String, String);

    fn next(&mut self) -> Option<(String, String)> {
        let text = self
            .rest
            .trim_start_matches(|c: char| c == ',' || c.is_whitespace());
        let eq = text.find('=')?;
        let key = text[..eq].trim();
        if key.is_empty() || !key.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_') {
            self.rest = "";
            return None;
        }
        let after = text[eq + 1..].trim_start();
        let (value, rest) = match after.strip_prefix('"') {
            Some(quoted) => read_quoted(quoted)?,
            None => {
                let end = after.find(',').unwrap_or(after.len());
                (after[..end].trim().to_owned(), &after[end..])
            }
        };
        self.rest = rest;
        Some((key.to_owned(), value))
    }
}

/// A quoted string's value (backslash escapes undone) and what follows its closing quote;
/// `None` when it never closes.
fn read_quoted(text: &str) -> Option<(String, &str)> {
    let mut value = String::new();
    let mut chars = text.char_indices();
    while let Some((at, ch)) = chars.next() {
        match ch {
            '"' => return Some((value, &text[at + 1..])),
            '\\' => value.push(chars.next()?.1),
            other => value.push(other),
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_contract_challenges() {
        let forbidden = r#"Bearer error="insufficient_scope", scope="records:write""#;
        assert_eq!(missing_scope(forbidden).as_deref(), Some("records:write"));
        let expired =
            r#"Bearer error="invalid_token", error_description="the API key has expired""#;
        assert!(says_expired(Some(expired), "Unauthorized"));
        assert!(says_api_key(Some(expired), "Unauthorized"));
        assert!(!says_expired(
            Some("Bearer"),
            "Unauthorized: send a valid token"
        ));
        assert!(!says_expired(Some(r#"Basic realm="dbsync""#), "no"));
    }

    #[test]
    fn tolerates_case_spacing_bare_values_and_escapes() {
        let c = r#"bearer  realm="a\"b" ,ERROR=insufficient_scope,scope="logs:read keys:manage""#;
        assert_eq!(bearer_param(c, "realm").as_deref(), Some("a\"b"));
        assert_eq!(missing_scope(c).as_deref(), Some("logs:read keys:manage"));
    }

    #[test]
    fn garbage_is_no_scope_and_never_panics() {
        let huge = format!(
            r#"Bearer error="insufficient_scope", scope="{}""#,
            "a".repeat(10 * 1024)
        );
        for challenge in [
            "",
            "Bearer",
            "Bearerx error=\"insufficient_scope\"",
            "Basic error=\"insufficient_scope\", scope=\"records:read\"",
            "Bearer error=\"insufficient_scope\", scope=\"unterminated",
            "Bearer error=\"insufficient_scope\", scope=\"\"",
            "Bearer error=\"insufficient_scope\", scope=\"a\u{1b}]0;x\u{7}\"",
            "Bearer error=\"insufficient_scope\", scope=\"records:read\\\"",
            "Bearer ===,,,\"\"\\",
            "Bearer error=\"invalid_token\", scope=\"records:read\"",
            "Béarer error=\"insufficient_scope\"",
            "B",
            &huge,
        ] {
            assert_eq!(missing_scope(challenge), None, "{challenge:.80}");
        }
        let long_tail = format!("Bearer {}é", "x".repeat(MAX_CHALLENGE_CHARS));
        assert_eq!(bearer_param(&long_tail, "x"), None);
    }
}
