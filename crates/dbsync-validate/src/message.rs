//! How values are described in violation messages, and which field names hold secrets.

use std::fmt::{self, Write as _};

use serde_json::Value;

/// Longest value excerpt (in characters) quoted in a message.
const MAX_QUOTED_CHARS: usize = 40;

/// Parts that mark a secret wherever they appear in a field name (case-insensitive): distinctive
/// enough that a name holding one is about a credential (`api_key`, `privateKey`,
/// `access_token`, `client_secret`, `db_passwd`, `Set-Cookie`, `session_id`...).
const SECRET_PARTS: [&str; 13] = [
    "password",
    "passwd",
    "passphrase",
    "passcode",
    "pwd",
    "token",
    "secret",
    "key",
    "credential",
    "authorization",
    "authorisation",
    "cookie",
    "session",
];

/// Words that mark a secret only as a whole word of the name (see [`is_secret_name`]): inside
/// other words they are common (`business` holds `ssn`, `shipping` holds `pin`, `author` holds
/// `auth`, `passport` holds `pass`).
const SECRET_WORDS: [&str; 7] = ["ssn", "pin", "pass", "auth", "cvv", "cvc", "otp"];

/// Whether a field name suggests a secret (case-insensitive). Values of such fields are never
/// quoted in messages, nor their lengths.
///
/// A name is secret when it contains `password`, `passwd`, `passphrase`, `passcode`, `pwd`,
/// `token`, `secret`, `key`, `credential`, `authorization` (or `authorisation`), `cookie` or
/// `session` anywhere (so `password_hint`, `apikey` and `refreshToken` are secret too), or
/// when one of its words is `ssn`, `pin`, `pass`, `auth`, `cvv`, `cvc` or `otp`. Words are split
/// at every character that is not a letter or digit (`_`, `-`, `.`, spaces...), at camelCase
/// humps (`cardPin`, `userSSN`, `SSNLast4`) and between letters and digits (`cvv2`).
///
/// ```
/// use dbsync_validate::is_secret_name;
/// assert!(is_secret_name("client_secret") && is_secret_name("userSSN"));
/// assert!(!is_secret_name("business_name") && !is_secret_name("country"));
/// ```
pub fn is_secret_name(name: &str) -> bool {
    let lower = name.to_lowercase();
    SECRET_PARTS.iter().any(|part| lower.contains(part))
        || words(name)
            .iter()
            .any(|word| SECRET_WORDS.contains(&word.as_str()))
}

/// The words of a name, lowercase: split at non-alphanumeric characters, at camelCase humps
/// (`cardPin`; `SSNLast` before its last capital) and where letters and digits meet.
fn words(name: &str) -> Vec<String> {
    let chars: Vec<char> = name.chars().collect();
    let mut words = Vec::new();
    let mut word = String::new();
    for (i, &c) in chars.iter().enumerate() {
        if !c.is_alphanumeric() {
            if !word.is_empty() {
                words.push(std::mem::take(&mut word));
            }
            continue;
        }
        let prev = i.checked_sub(1).and_then(|j| chars.get(j)).copied();
        let next = chars.get(i + 1).copied();
        let starts_word = prev.is_some_and(|p| {
            p.is_numeric() != c.is_numeric()
                || (c.is_uppercase() && p.is_lowercase())
                || (c.is_uppercase() && p.is_uppercase() && next.is_some_and(char::is_lowercase))
        });
        if starts_word && !word.is_empty() {
            words.push(std::mem::take(&mut word));
        }
        word.extend(c.to_lowercase());
    }
    if !word.is_empty() {
        words.push(word);
    }
    words
}

/// The JSON kind of a value with an article: "a string", "an object", "null".
pub(crate) fn kind(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(n) if n.is_f64() => "a number",
        Value::Number(_) => "an integer",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

/// What was found, for a message: the kind, and for non-secret scalars the value itself
/// (strings shortened to a few dozen characters). Written straight into the message, without an
/// intermediate `String`.
pub(crate) fn found(value: &Value, secret: bool) -> Found<'_> {
    Found { value, secret }
}

/// See [`found`].
pub(crate) struct Found<'a> {
    value: &'a Value,
    secret: bool,
}

impl fmt::Display for Found<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.secret {
            return f.write_str(kind(self.value));
        }
        match self.value {
            Value::String(s) => write!(f, "the string {}", quote(s)),
            Value::Number(n) if n.is_f64() => write!(f, "the number {n}"),
            Value::Number(n) => write!(f, "the integer {n}"),
            Value::Bool(b) => write!(f, "{b}"),
            Value::Null => f.write_str("null"),
            Value::Array(a) => write!(f, "an array of {} items", a.len()),
            Value::Object(_) => f.write_str("an object"),
        }
    }
}

/// A string in double quotes with JSON escaping, shortened to [`MAX_QUOTED_CHARS`] characters.
pub(crate) fn quote(s: &str) -> Quoted<'_> {
    Quoted(s)
}

/// See [`quote`].
pub(crate) struct Quoted<'a>(&'a str);

impl fmt::Display for Quoted<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_char('"')?;
        for (i, c) in self.0.chars().enumerate() {
            if i == MAX_QUOTED_CHARS {
                f.write_char('…')?;
                break;
            }
            match c {
                '"' => f.write_str("\\\"")?,
                '\\' => f.write_str("\\\\")?,
                '\n' => f.write_str("\\n")?,
                '\r' => f.write_str("\\r")?,
                '\t' => f.write_str("\\t")?,
                c if c.is_control() => write!(f, "\\u{:04x}", u32::from(c))?,
                c => f.write_char(c)?,
            }
        }
        f.write_char('"')
    }
}

/// A list of allowed values for an `enum` message: `"a", "b" or "c"` (at most ten shown).
pub(crate) fn list_values(values: &[Value]) -> ValueList<'_> {
    ValueList(values)
}

/// See [`list_values`].
pub(crate) struct ValueList<'a>(&'a [Value]);

impl fmt::Display for ValueList<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        const SHOWN: usize = 10;
        let shown = self.0.len().min(SHOWN);
        for (i, value) in self.0.iter().take(SHOWN).enumerate() {
            if i > 0 {
                f.write_str(if i + 1 == shown { " or " } else { ", " })?;
            }
            match value {
                Value::String(s) => write!(f, "{}", quote(s))?,
                other => write!(f, "{other}")?,
            }
        }
        if self.0.len() > SHOWN {
            write!(f, " (and {} more)", self.0.len() - SHOWN)?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn common_secret_names_are_secret() {
        for name in [
            // The original four words, anywhere in the name.
            "password",
            "Passwords",
            "api_token",
            "clientSecret",
            "API_KEY",
            // Widened.
            "passphrase",
            "key_passphrase",
            "pwd",
            "dbPwd",
            "passwd",
            "passcode",
            "cookie",
            "Set-Cookie",
            "session",
            "session_id",
            "sessionId",
            "private_key",
            "privateKey",
            "api_key",
            "apikey",
            "api-key",
            "access_token",
            "refreshToken",
            "client_secret",
            "authorization",
            "Authorization",
            "proxy-authorization",
            "authorisation_header",
            "credential",
            "credentials",
            "AWS_CREDENTIALS",
            "ssn",
            "SSN",
            "user_ssn",
            "userSSN",
            "SSNLast4",
            "pin",
            "card-pin",
            "cardPin",
            "PIN_CODE",
            "cvv2",
            "card.cvc",
            "otp",
            "db_pass",
            "auth",
            "x-auth",
            // Deliberately secret: a hint can give the password away.
            "password_hint",
        ] {
            assert!(is_secret_name(name), "{name} should be secret");
        }
    }

    #[test]
    fn ordinary_names_are_not_secret() {
        for name in [
            "country",
            "email",
            "name",
            "first_name",
            "business_name",
            "businessName",
            "addressNumber",
            "shipping_address",
            "spin_rate",
            "pinned",
            "author",
            "authored_at",
            "passport_number",
            "compass",
            "passenger_count",
            "status",
            "",
        ] {
            assert!(!is_secret_name(name), "{name} should not be secret");
        }
    }

    #[test]
    fn words_split_at_separators_humps_and_digits() {
        assert_eq!(words("card_pin"), ["card", "pin"]);
        assert_eq!(words("cardPin"), ["card", "pin"]);
        assert_eq!(words("userSSN"), ["user", "ssn"]);
        assert_eq!(words("SSNLast4"), ["ssn", "last", "4"]);
        assert_eq!(words("cvv2"), ["cvv", "2"]);
        assert_eq!(words("--a..B c--"), ["a", "b", "c"]);
        assert!(words("").is_empty());
        assert!(words("_-.").is_empty());
    }
}
