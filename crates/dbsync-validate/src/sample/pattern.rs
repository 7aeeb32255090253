//! A string that matches a `pattern`, drawn from the pattern's parsed form (`regex-syntax`'s
//! HIR, the form `regex` compiles): literals, classes, repetitions and alternations are
//! followed; anchors and word boundaries are not (the caller checks every candidate).

use rand::Rng;
use rand::rngs::StdRng;
use regex_syntax::hir::{Class, Hir, HirKind, Look};

use super::MAX_GENERATED_LEN;

/// The parsed pattern, with the flags `regex` uses by default; `None` if it does not parse
/// (it compiled when the schema was built, so that does not happen).
pub(super) fn parse(pattern: &str) -> Option<Hir> {
    regex_syntax::Parser::new().parse(pattern).ok()
}

/// Most parts of a pattern visited for one string (nested repetitions of empty parts would
/// otherwise multiply without bound).
pub(super) const MAX_STEPS: usize = 100_000;

/// A string matched by `hir`; unbounded repetitions repeat up to `extra` times more than their
/// minimum. `None` when the draw would pass [`MAX_GENERATED_LEN`] characters or
/// [`MAX_STEPS`], or needs bytes that are not UTF-8.
pub(super) fn matching(hir: &Hir, rng: &mut StdRng, extra: usize) -> Option<String> {
    let mut out = String::new();
    let mut steps = MAX_STEPS;
    draw(hir, rng, extra, &mut out, &mut steps)?;
    Some(out)
}

/// Whether text may go before and after a match of `hir` (it is not anchored at that end).
pub(super) fn open_ends(hir: &Hir) -> (bool, bool) {
    let properties = hir.properties();
    (
        !properties.look_set_prefix().contains(Look::Start),
        !properties.look_set_suffix().contains(Look::End),
    )
}

fn draw(
    hir: &Hir,
    rng: &mut StdRng,
    extra: usize,
    out: &mut String,
    steps: &mut usize,
) -> Option<()> {
    *steps = steps.checked_sub(1)?;
    if out.len() as u64 > MAX_GENERATED_LEN * 4 {
        return None;
    }
    match hir.kind() {
        HirKind::Empty | HirKind::Look(_) => {}
        HirKind::Literal(literal) => out.push_str(std::str::from_utf8(&literal.0).ok()?),
        HirKind::Class(Class::Unicode(class)) => {
            let ranges = class.ranges();
            if ranges.is_empty() {
                return None;
            }
            let range = ranges[rng.random_range(0..ranges.len())];
            let code = rng.random_range(u32::from(range.start())..=u32::from(range.end()));
            out.push(char::from_u32(code).unwrap_or(range.start()));
        }
        HirKind::Class(Class::Bytes(class)) => {
            let ascii: Vec<_> = class.ranges().iter().filter(|r| r.start() < 0x80).collect();
            if ascii.is_empty() {
                return None;
            }
            let range = ascii[rng.random_range(0..ascii.len())];
            out.push(char::from(
                rng.random_range(range.start()..=range.end().min(0x7f)),
            ));
        }
        HirKind::Repetition(rep) => {
            let max = match rep.max {
                Some(max) => max.min(rep.min.saturating_add(extra.max(8) as u32)),
                None => rep.min.saturating_add(extra as u32),
            };
            let count = rng.random_range(rep.min..=max.max(rep.min));
            if u64::from(count) > MAX_GENERATED_LEN {
                return None;
            }
            for _ in 0..count {
                draw(&rep.sub, rng, extra, out, steps)?;
            }
        }
        HirKind::Capture(capture) => draw(&capture.sub, rng, extra, out, steps)?,
        HirKind::Concat(parts) => {
            for part in parts {
                draw(part, rng, extra, out, steps)?;
            }
        }
        HirKind::Alternation(branches) => {
            let branch = branches.get(rng.random_range(0..branches.len().max(1)))?;
            draw(branch, rng, extra, out, steps)?;
        }
    }
    Some(())
}
