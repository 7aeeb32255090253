//! A candidate valid value for one field: every type, format and constraint, with the record
//! count mixed into the values of `unique` fields. Candidates are checked by the caller.

use rand::Rng;
use rand::seq::IndexedRandom;
use serde_json::{Map, Number, Value};

use super::{MAX_GENERATED_LEN, Samples, pattern};
use crate::schema::{Field, FieldType, Format};

/// Characters of generated free text: ASCII mostly, some non-ASCII (2, 3 and 4 UTF-8 bytes).
const TEXT: &[char] = &[
    'a', 'b', 'c', 'd', 'e', 'k', 'm', 'x', 'z', 'A', 'Q', 'Z', '0', '1', '7', '9', ' ', '-', '_',
    '.', 'é', 'ß', 'ж', '日', '🙂',
];
const ALNUM: &[u8] = b"abcdefghijklmnopqrstuvwxyz0123456789";

/// One candidate for `field` (`attempt` counts the tries for this value).
pub(super) fn candidate(
    s: &mut Samples<'_>,
    field: &Field,
    index: usize,
    attempt: usize,
) -> Option<Value> {
    let k = s.count;
    if let Some(values) = field.allowed_values() {
        // Unique: the k-th value first, so every one is used once before trying at random.
        if field.is_unique() && attempt == 0 {
            return values.get(usize::try_from(k).ok()?).cloned();
        }
        return values.choose(&mut s.rng).cloned();
    }
    let unique = field.is_unique() && attempt == 0;
    Some(match field.field_type() {
        FieldType::Boolean => Value::Bool(s.rng.random()),
        FieldType::Integer => integer(s, field, unique.then_some(k))?,
        FieldType::Number => number(s, field),
        FieldType::Date => {
            let day = if unique {
                k as i64
            } else {
                s.rng.random_range(0..60_000)
            };
            Value::String(date(day))
        }
        FieldType::DateTime => Value::String(datetime(s, unique.then_some(k))),
        FieldType::Object => object(s),
        FieldType::Array => {
            let len = length(s, field)?;
            Value::Array((0..len).map(|_| scalar(s)).collect())
        }
        FieldType::String => Value::String(string(s, field, index, attempt)?),
    })
}

/// A length within the field's `min_length`/`max_length` (at most [`MAX_GENERATED_LEN`]).
fn length(s: &mut Samples<'_>, field: &Field) -> Option<u64> {
    let min = field.min_length_value().unwrap_or(0);
    let max = field
        .max_length_value()
        .unwrap_or(min.saturating_add(12))
        .min(min.saturating_add(40));
    if min > MAX_GENERATED_LEN || min > max {
        return None;
    }
    Some(s.rng.random_range(min..=max.min(MAX_GENERATED_LEN)))
}

fn integer(s: &mut Samples<'_>, field: &Field, k: Option<u64>) -> Option<Value> {
    let bound = |n: Option<&Number>, up: bool| -> Option<i128> {
        let n = n?;
        if let Some(i) = n.as_i64() {
            return Some(i128::from(i));
        }
        if let Some(u) = n.as_u64() {
            return Some(i128::from(u));
        }
        let f = n.as_f64()?;
        let f = if up { f.ceil() } else { f.floor() };
        Some(f.clamp(-1e30, 1e30) as i128)
    };
    let lo = bound(field.min_value(), true);
    let hi = bound(field.max_value(), false);
    let (lo, hi) = match (lo, hi) {
        (Some(lo), Some(hi)) => (lo, hi),
        (Some(lo), None) => (lo, lo + (1 << 40)),
        (None, Some(hi)) => (hi - (1 << 40), hi),
        (None, None) => (-(1 << 40), 1 << 40),
    };
    let lo = lo.max(i128::from(i64::MIN));
    let hi = hi.min(i128::from(i64::MAX));
    if lo > hi {
        return None;
    }
    let n = match k {
        Some(k) if lo + i128::from(k) <= hi => lo + i128::from(k),
        _ if s.rng.random_ratio(1, 4) => lo.max(hi.min(s.rng.random_range(-100..=100))),
        _ => s.rng.random_range(lo..=hi),
    };
    i64::try_from(n).ok().map(Value::from)
}

fn number(s: &mut Samples<'_>, field: &Field) -> Value {
    let lo = field.min_value().and_then(Number::as_f64);
    let hi = field.max_value().and_then(Number::as_f64);
    if let (Some(min), Some(_)) = (field.min_value(), field.max_value())
        && lo == hi
    {
        return Value::Number(min.clone());
    }
    let (lo, hi) = match (lo, hi) {
        (Some(lo), Some(hi)) => (lo, hi),
        (Some(lo), None) => (lo, lo + 1e6),
        (None, Some(hi)) => (hi - 1e6, hi),
        (None, None) => (-1e6, 1e6),
    };
    let x = lo + (hi - lo) * s.rng.random::<f64>();
    let x = if s.rng.random_ratio(1, 3) {
        x.round()
    } else {
        x
    };
    // Within the bounds, also where `hi - lo` overflowed to infinity.
    let x = if x.is_finite() { x.max(lo).min(hi) } else { lo };
    if x.fract() == 0.0 && x.abs() < 9.0e15 {
        Value::from(x as i64)
    } else {
        Number::from_f64(x).map_or(Value::from(0), Value::Number)
    }
}

/// `YYYY-MM-DD` of the day `day` after 1970-01-01 (days to civil date, proleptic Gregorian).
pub(super) fn date(day: i64) -> String {
    let z = day + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!("{y:04}-{m:02}-{d:02}")
}

fn datetime(s: &mut Samples<'_>, k: Option<u64>) -> String {
    let second = match k {
        Some(k) => 1_700_000_000 + k as i64,
        None => s.rng.random_range(0..4_000_000_000),
    };
    let day = date(second.div_euclid(86_400));
    let t = second.rem_euclid(86_400);
    let mut out = format!("{day}T{:02}:{:02}:{:02}", t / 3600, t / 60 % 60, t % 60);
    if s.rng.random_ratio(1, 3) {
        out.push_str(&format!(".{}", s.rng.random_range(0..1_000_000)));
    }
    match s.rng.random_range(0..4) {
        0 => out.push('Z'),
        1 => out.push_str("+05:30"),
        2 => out.push_str("-08:00"),
        _ => out.push_str("+00:00"),
    }
    out
}

fn scalar(s: &mut Samples<'_>) -> Value {
    match s.rng.random_range(0..4) {
        0 => Value::from(s.rng.random_range(-1000..1000)),
        1 => Value::Bool(s.rng.random()),
        2 => Value::Null,
        _ => Value::String(text(s, 6)),
    }
}

fn object(s: &mut Samples<'_>) -> Value {
    let mut map = Map::new();
    for i in 0..s.rng.random_range(0..4) {
        let value = scalar(s);
        map.insert(format!("k{i}"), value);
    }
    Value::Object(map)
}

fn text(s: &mut Samples<'_>, len: u64) -> String {
    (0..len)
        .map(|_| *TEXT.choose(&mut s.rng).unwrap_or(&'a'))
        .collect()
}

fn alnum(s: &mut Samples<'_>, len: usize) -> String {
    (0..len)
        .map(|_| char::from(*ALNUM.choose(&mut s.rng).unwrap_or(&b'a')))
        .collect()
}

/// `k` in base 36: short, and distinct for distinct `k`.
fn base36(mut k: u64) -> String {
    let mut digits = Vec::new();
    loop {
        let d = (k % 36) as usize;
        digits.push(char::from(if d < 10 {
            ALNUM[26 + d]
        } else {
            ALNUM[d - 10]
        }));
        k /= 36;
        if k == 0 {
            break;
        }
    }
    digits.iter().rev().collect()
}

fn string(s: &mut Samples<'_>, field: &Field, index: usize, attempt: usize) -> Option<String> {
    // With both a pattern and a format, alternate which one the candidate is drawn from.
    if field.pattern_source().is_some()
        && let Some(Some(hir)) = s.patterns.get(index)
        && (field.format_value().is_none() || attempt % 2 == 1)
    {
        let hir = hir.clone();
        let extra = if attempt % 3 == 2 {
            field.min_length_value().unwrap_or(8).min(MAX_GENERATED_LEN) as usize
        } else {
            s.rng.random_range(0..8)
        };
        let matched = pattern::matching(&hir, &mut s.rng, extra)?;
        // A pattern is searched anywhere: where it is not anchored, text around the match
        // brings the string to a drawn length.
        let (front, back) = pattern::open_ends(&hir);
        let target = length(s, field).unwrap_or(0);
        let missing = target.saturating_sub(matched.chars().count() as u64);
        if missing == 0 || !(front || back) {
            return Some(matched);
        }
        let before = if front && back {
            s.rng.random_range(0..=missing)
        } else if front {
            missing
        } else {
            0
        };
        let (head, tail) = (text(s, before), text(s, missing - before));
        return Some(format!("{head}{matched}{tail}"));
    }
    let len = length(s, field)? as usize;
    let tag = if field.is_unique() {
        base36(s.count)
    } else {
        String::new()
    };
    Some(match field.format_value() {
        Some(Format::Uuid) => {
            let bits: u128 = s.rng.random::<u128>() ^ u128::from(s.count);
            let hex = format!("{bits:032x}");
            let id = format!(
                "{}-{}-{}-{}-{}",
                &hex[..8],
                &hex[8..12],
                &hex[12..16],
                &hex[16..20],
                &hex[20..]
            );
            if s.rng.random_ratio(1, 4) {
                id.to_uppercase()
            } else {
                id
            }
        }
        Some(Format::Email) => {
            // local@domain.tld, grown towards `len` characters.
            let len = len.clamp(5, 254);
            let domain_len = if len >= 16 { 11 } else { 3 };
            let local_len = (len - 1 - domain_len).clamp(1, 64);
            let mut local = tag.clone();
            local.push_str(&alnum(s, local_len.saturating_sub(tag.len()).max(1)));
            let mut domain = if domain_len == 11 {
                "example.com".to_owned()
            } else {
                "b.c".to_owned()
            };
            let mut missing = len.saturating_sub(local.len() + 1 + domain.len());
            while missing > 1 {
                let label = (missing - 1).min(63);
                domain = format!("{}.{domain}", alnum(s, label));
                missing -= label + 1;
            }
            format!("{local}@{domain}")
        }
        Some(Format::Url) => {
            let host = if tag.is_empty() { alnum(s, 3) } else { tag };
            let mut url = format!("https://h{host}.example.com");
            if s.rng.random_ratio(1, 4) {
                url.push_str(":8443");
            }
            url.push('/');
            let missing = (len as u64).saturating_sub(url.chars().count() as u64);
            let path = text(s, missing).replace(' ', "%20");
            url.push_str(&path);
            if s.rng.random_ratio(1, 4) {
                url.push_str("?q=1#top");
            }
            url
        }
        None => {
            let body = text(s, (len as u64).saturating_sub(tag.chars().count() as u64));
            format!("{tag}{body}")
        }
    })
}
