//! Small, allocation-free checkers for the string formats and the date types.

/// `YYYY-MM-DD`, a real calendar date (leap years included).
pub(crate) fn is_date(s: &str) -> bool {
    parse_date(s.as_bytes()).is_some()
}

fn parse_date(b: &[u8]) -> Option<()> {
    if b.len() != 10 || b[4] != b'-' || b[7] != b'-' {
        return None;
    }
    let year = digits(&b[0..4])?;
    let month = digits(&b[5..7])?;
    let day = digits(&b[8..10])?;
    if !(1..=12).contains(&month) || day < 1 || day > days_in_month(year, month) {
        return None;
    }
    Some(())
}

fn digits(b: &[u8]) -> Option<u32> {
    let mut n: u32 = 0;
    for &c in b {
        if !c.is_ascii_digit() {
            return None;
        }
        n = n * 10 + u32::from(c - b'0');
    }
    Some(n)
}

fn days_in_month(year: u32, month: u32) -> u32 {
    match month {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        _ if year.is_multiple_of(4) && (!year.is_multiple_of(100) || year.is_multiple_of(400)) => {
            29
        }
        _ => 28,
    }
}

/// RFC 3339 `date-time`: `YYYY-MM-DDThh:mm:ss[.frac](Z|±hh:mm)`; `T` and `Z` may be lower case.
/// A leap second (`:60`) is accepted only at minute 59.
pub(crate) fn is_datetime(s: &str) -> bool {
    let b = s.as_bytes();
    if b.len() < 20 || parse_date(&b[..10]).is_none() || !matches!(b[10], b'T' | b't') {
        return false;
    }
    let Some(rest) = parse_time(&b[11..]) else {
        return false;
    };
    match rest {
        [b'Z' | b'z'] => true,
        [b'+' | b'-', h1, h2, b':', m1, m2] => matches!(
            (digits(&[*h1, *h2]), digits(&[*m1, *m2])),
            (Some(h), Some(m)) if h <= 23 && m <= 59
        ),
        _ => false,
    }
}

/// Parses `hh:mm:ss[.frac]` and returns what follows.
fn parse_time(b: &[u8]) -> Option<&[u8]> {
    if b.len() < 8 || b[2] != b':' || b[5] != b':' {
        return None;
    }
    let (h, m, s) = (digits(&b[0..2])?, digits(&b[3..5])?, digits(&b[6..8])?);
    if h > 23 || m > 59 || s > 60 || (s == 60 && m != 59) {
        return None;
    }
    let mut rest = &b[8..];
    if let [b'.', tail @ ..] = rest {
        let n = tail.iter().take_while(|c| c.is_ascii_digit()).count();
        if n == 0 {
            return None;
        }
        rest = &tail[n..];
    }
    Some(rest)
}

/// A UUID in hyphenated form: 8-4-4-4-12 hex digits.
pub(crate) fn is_uuid(s: &str) -> bool {
    let b = s.as_bytes();
    b.len() == 36
        && b.iter().enumerate().all(|(i, c)| match i {
            8 | 13 | 18 | 23 => *c == b'-',
            _ => c.is_ascii_hexdigit(),
        })
}

/// `local@domain`: a dot-atom local part of at most 64 bytes, a domain of at least two labels
/// (letters, digits, hyphens; no label starting or ending with a hyphen), at most 254 bytes in all.
/// Non-ASCII letters and digits are accepted (internationalised addresses).
pub(crate) fn is_email(s: &str) -> bool {
    if s.len() > 254 {
        return false;
    }
    let Some((local, domain)) = s.rsplit_once('@') else {
        return false;
    };
    local.len() <= 64 && is_dot_atom(local) && is_domain(domain, true)
}

/// Bytes allowed in a dot-atom besides letters and digits (RFC 5322 `atext`).
const ATEXT_SPECIALS: &[u8] = b"!#$%&'*+-/=?^_`{|}~";

fn is_dot_atom(local: &str) -> bool {
    if local.is_ascii() {
        // Fast path: one pass over the bytes.
        let mut previous_dot = true; // no leading dot
        for &b in local.as_bytes() {
            if b == b'.' {
                if previous_dot {
                    return false;
                }
                previous_dot = true;
            } else if b.is_ascii_alphanumeric() || ATEXT_SPECIALS.contains(&b) {
                previous_dot = false;
            } else {
                return false;
            }
        }
        return !previous_dot; // not empty, no trailing dot
    }
    !local.is_empty()
        && local.split('.').all(|atom| {
            !atom.is_empty()
                && atom.chars().all(|c| {
                    c.is_alphanumeric() || (c.is_ascii() && ATEXT_SPECIALS.contains(&(c as u8)))
                })
        })
}

/// A host name of dot-separated labels; `need_dot` asks for at least two labels.
fn is_domain(domain: &str, need_dot: bool) -> bool {
    if domain.is_empty() || domain.len() > 253 {
        return false;
    }
    if domain.is_ascii() {
        // Fast path: one pass over the bytes.
        let bytes = domain.as_bytes();
        let mut label_len = 0usize;
        let mut dots = 0usize;
        let mut previous = b'.';
        for &b in bytes {
            if b == b'.' {
                if label_len == 0 || previous == b'-' {
                    return false;
                }
                dots += 1;
                label_len = 0;
            } else if b.is_ascii_alphanumeric() || (b == b'-' && label_len > 0) {
                label_len += 1;
                if label_len > 63 {
                    return false;
                }
            } else {
                return false;
            }
            previous = b;
        }
        return label_len > 0 && previous != b'-' && (!need_dot || dots > 0);
    }
    if need_dot && !domain.contains('.') {
        return false;
    }
    domain.split('.').all(|label| {
        !label.is_empty()
            && label.chars().count() <= 63
            && !label.starts_with('-')
            && !label.ends_with('-')
            && label.chars().all(|c| c.is_alphanumeric() || c == '-')
    })
}

/// An absolute URL with an authority: `scheme://[userinfo@]host[:port][/path][?query][#fragment]`.
/// The host is a domain name, an IPv4 address or a bracketed IPv6 address; no whitespace or
/// control characters anywhere.
pub(crate) fn is_url(s: &str) -> bool {
    let Some((scheme, rest)) = s.split_once("://") else {
        return false;
    };
    let mut scheme_chars = scheme.chars();
    let scheme_ok = scheme_chars.next().is_some_and(|c| c.is_ascii_alphabetic())
        && scheme_chars.all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '.'));
    if !scheme_ok
        || s.chars().any(|c| {
            c.is_whitespace()
                || c.is_control()
                || matches!(c, '<' | '>' | '"' | '\\' | '^' | '`' | '{' | '|' | '}')
        })
    {
        return false;
    }
    let authority = rest.split(['/', '?', '#']).next().unwrap_or("");
    let host_port = authority.rsplit_once('@').map_or(authority, |(_, hp)| hp);
    let (host, port) = if let Some(v6) = host_port.strip_prefix('[') {
        let Some((addr, after)) = v6.split_once(']') else {
            return false;
        };
        if addr.is_empty()
            || !addr
                .chars()
                .all(|c| c.is_ascii_hexdigit() || c == ':' || c == '.')
        {
            return false;
        }
        match after {
            "" => return true,
            p => match p.strip_prefix(':') {
                Some(port) => ("v6", port),
                None => return false,
            },
        }
    } else {
        match host_port.rsplit_once(':') {
            Some((h, p)) => (h, p),
            None => (host_port, ""),
        }
    };
    let port_ok = port.len() <= 5 && port.bytes().all(|c| c.is_ascii_digit());
    port_ok && is_domain(host, false)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates() {
        for ok in [
            "2026-02-28",
            "2024-02-29",
            "2000-02-29",
            "0001-01-01",
            "9999-12-31",
        ] {
            assert!(is_date(ok), "{ok}");
        }
        for bad in [
            "2026-02-29",
            "1900-02-29",
            "2026-02-30",
            "2026-13-01",
            "2026-00-10",
            "2026-01-00",
            "2026-04-31",
            "2026-1-01",
            "2026/01/01",
            "20260101",
            "2026-01-01T00:00:00Z",
            "",
            "２０２６-01-01",
        ] {
            assert!(!is_date(bad), "{bad}");
        }
    }

    #[test]
    fn datetimes() {
        for ok in [
            "2026-11-27T20:52:28Z",
            "2026-11-27t20:52:28z",
            "2026-11-27T20:52:28.123456+01:00",
            "2026-11-27T20:52:28-05:30",
            "2016-12-31T23:59:60Z",
        ] {
            assert!(is_datetime(ok), "{ok}");
        }
        for bad in [
            "2026-11-27T20:52:28",
            "2026-11-27 20:52:28Z",
            "2026-11-27T24:00:00Z",
            "2026-11-27T20:60:00Z",
            "2026-11-27T20:52:60Z",
            "2026-11-27T20:52:28.Z",
            "2026-11-27T20:52:28+0100",
            "2026-11-27T20:52:28+24:00",
            "2026-02-30T20:52:28Z",
            "2026-11-27T20:52Z",
            "2026-11-27",
        ] {
            assert!(!is_datetime(bad), "{bad}");
        }
    }

    #[test]
    fn uuids() {
        assert!(is_uuid("123e4567-e89b-12d3-a456-426614174000"));
        assert!(is_uuid("123E4567-E89B-12D3-A456-426614174000"));
        for bad in [
            "123e4567e89b12d3a456426614174000",
            "123e4567-e89b-12d3-a456-42661417400",
            "123e4567-e89b-12d3-a456-42661417400g",
            "{123e4567-e89b-12d3-a456-426614174000}",
        ] {
            assert!(!is_uuid(bad), "{bad}");
        }
    }

    #[test]
    fn emails() {
        for ok in [
            "ada@example.com",
            "first.last+tag@sub.example.co.uk",
            "o'neil@example.org",
            "jörg@exämple.de",
        ] {
            assert!(is_email(ok), "{ok}");
        }
        for bad in [
            "",
            "ada",
            "ada@",
            "@example.com",
            "ada@example",
            "ada@@example.com",
            "a..b@example.com",
            ".ada@example.com",
            "ada.@example.com",
            "ada@-example.com",
            "ada@example-.com",
            "ada@exa mple.com",
            "ada lovelace@example.com",
            "ada@example..com",
        ] {
            assert!(!is_email(bad), "{bad}");
        }
        let long_local = format!("{}@example.com", "a".repeat(65));
        assert!(!is_email(&long_local));
    }

    #[test]
    fn urls() {
        for ok in [
            "https://example.com",
            "http://example.com:8080/path?q=1#top",
            "https://user:pw@example.com/",
            "http://127.0.0.1:3000",
            "http://[::1]:8080/x",
            "ftp://files.example.org/a%20b",
            "http://localhost",
        ] {
            assert!(is_url(ok), "{ok}");
        }
        for bad in [
            "example.com",
            "https://",
            "https:///path",
            "https://exa mple.com",
            "://example.com",
            "1http://example.com",
            "https://example.com:port",
            "https://example.com:123456",
            "https://[::1",
            "https://-bad.com",
            "mailto:ada@example.com",
            "https://exa<mple.com",
        ] {
            assert!(!is_url(bad), "{bad}");
        }
    }
}
