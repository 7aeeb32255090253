//! Output shaping: `--fields a,b,c` keeps some fields of each record, `--jq EXPR` runs a jq
//! filter (jaq, pure Rust) on each; both are checked before any request is sent.
//!
//! The shape applies to every record or document a command prints (after `--fields`, the jq
//! filter sees the fields kept). A jq filter can print 0, 1 or many values for one record; each
//! is printed as one record of the chosen `--format`.

use std::fmt;
use std::sync::OnceLock;

use jaq_core::load::{Arena, File, Loader};
use jaq_core::{Compiler, Ctx, Vars, data, unwrap_valr};
use jaq_json::Val;
use serde::Deserialize as _;
use serde_json::{Map, Value};

use crate::exit::CliError;
use crate::terminal_text;

/// The longest `--jq` expression taken, in bytes.
pub const MAX_JQ_BYTES: usize = 64 * 1024;
/// The most fields `--fields` names.
pub const MAX_FIELDS: usize = 1_000;
/// The most values a jq filter may print for one record (a filter such as `range(1e9)` fails at
/// this instead of running on).
pub const MAX_JQ_OUTPUTS: usize = 100_000;

type Filter = jaq_core::compile::Filter<jaq_core::Native<data::JustLut<Val>>>;

/// `--fields` and `--jq`, global flags.
#[derive(Debug, Clone, Default, clap::Args)]
pub struct ShapeArgs {
    /// Print only these fields of each record, in this order (comma-separated; a field a record
    /// lacks is null; a list naming no field is a usage error).
    #[arg(long, global = true, value_name = "A,B,C")]
    pub fields: Option<String>,
    /// Run this jq expression on each record (after --fields) and print what it yields, 0, 1 or
    /// many values per record (jaq: jq's core and standard filters; a bad expression is a usage
    /// error, exit 2, before any request).
    #[arg(long, global = true, value_name = "EXPR")]
    pub jq: Option<String>,
}

/// The shape of the command's output: the fields kept and the jq filter.
#[derive(Default)]
pub struct Shape {
    fields: Option<Vec<String>>,
    jq: Option<Filter>,
}

impl fmt::Debug for Shape {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Shape")
            .field("fields", &self.fields)
            .field("jq", &self.jq.is_some())
            .finish()
    }
}

/// A jq filter that failed on a record (a runtime error, not a parse error): the command stops
/// with exit 1. Carried inside the `io::Error` of a write (see [`crate::exit::CliError::io`]).
#[derive(Debug)]
pub struct ShapeError(pub String);

impl fmt::Display for ShapeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for ShapeError {}

impl Shape {
    /// The shape the flags ask for.
    pub fn from_args(args: &ShapeArgs) -> Result<Self, CliError> {
        Self::new(args.fields.as_deref(), args.jq.as_deref())
    }

    /// The shape of `--fields` and `--jq`; a bad list or expression is a usage error (exit 2).
    pub fn new(fields: Option<&str>, jq: Option<&str>) -> Result<Self, CliError> {
        let fields = fields.map(parse_fields).transpose()?;
        let jq = jq.map(compile).transpose()?;
        Ok(Self { fields, jq })
    }

    /// Whether the shape changes nothing.
    pub fn is_identity(&self) -> bool {
        self.fields.is_none() && self.jq.is_none()
    }

    /// The values to print for `record`: the record itself, its fields kept, or what the jq
    /// filter made of it.
    pub fn apply(&self, record: &Value) -> Result<Vec<Value>, ShapeError> {
        let kept = match &self.fields {
            Some(fields) => keep_fields(record, fields),
            None => record.clone(),
        };
        match &self.jq {
            Some(filter) => run(filter, kept),
            None => Ok(vec![kept]),
        }
    }
}

static SHAPE: OnceLock<Shape> = OnceLock::new();

/// Sets the shape of this process's output (once, in `main`; later calls change nothing).
pub fn install(shape: Shape) {
    let _ = SHAPE.set(shape);
}

/// The shape set with [`install`], if any and if it changes something.
pub fn current() -> Option<&'static Shape> {
    SHAPE.get().filter(|s| !s.is_identity())
}

/// `a,b, c` as field names: trimmed, empty names dropped, duplicates once. A list naming no
/// field at all (`--fields ,`) is a usage error.
fn parse_fields(list: &str) -> Result<Vec<String>, CliError> {
    let mut fields: Vec<String> = Vec::new();
    for name in list.split(',').map(str::trim).filter(|n| !n.is_empty()) {
        if !fields.iter().any(|f| f == name) {
            fields.push(name.to_owned());
        }
    }
    if fields.is_empty() {
        return Err(CliError::usage(
            "--fields names no field: give a comma-separated list such as --fields id,email",
        ));
    }
    if fields.len() > MAX_FIELDS {
        return Err(CliError::usage(format!(
            "--fields names {} fields, more than {MAX_FIELDS}",
            fields.len()
        )));
    }
    Ok(fields)
}

/// The fields of `record` named in `fields`, in that order; a field the record lacks is `null`
/// (so every row has every column). A value that is not an object passes unchanged.
fn keep_fields(record: &Value, fields: &[String]) -> Value {
    let Value::Object(map) = record else {
        return record.clone();
    };
    let kept: Map<String, Value> = fields
        .iter()
        .map(|f| (f.clone(), map.get(f).cloned().unwrap_or(Value::Null)))
        .collect();
    Value::Object(kept)
}

/// Parses and compiles a jq expression with jaq's core and standard definitions.
fn compile(code: &str) -> Result<Filter, CliError> {
    if code.len() > MAX_JQ_BYTES {
        return Err(CliError::usage(format!(
            "--jq: the expression has {} bytes, more than {MAX_JQ_BYTES}",
            code.len()
        )));
    }
    let defs = jaq_core::defs()
        .chain(jaq_std::defs())
        .chain(jaq_json::defs());
    let funs = jaq_core::funs()
        .chain(jaq_std::funs())
        .chain(jaq_json::funs());
    let loader = Loader::new(defs);
    let arena = Arena::default();
    let modules = loader
        .load(&arena, File { code, path: () })
        .map_err(|errors| {
            let at = errors.first().map(|(_, e)| load_error_offset(code, e));
            let why = match errors.first().map(|(_, e)| e) {
                Some(jaq_core::load::Error::Lex(_)) => {
                    "it does not lex (an unknown token, escape or unclosed delimiter)"
                }
                Some(jaq_core::load::Error::Parse(_)) => "it does not parse",
                _ => "it cannot be loaded",
            };
            jq_usage(code, why, at.flatten())
        })?;
    Compiler::default()
        .with_funs(funs)
        .compile(modules)
        .map_err(|errors| {
            let first = errors.first().and_then(|(_, e)| e.first());
            let why = match first {
                Some((name, kind)) => format!("{kind:?} `{}` is not defined", name).to_lowercase(),
                None => "it does not compile".to_owned(),
            };
            let at = first.map(|(name, _)| offset_in(code, name));
            jq_usage(code, &why, at.flatten())
        })
}

/// The byte offset of the first error of a load, from the slice of the code it points at.
fn load_error_offset(code: &str, error: &jaq_core::load::Error<&str>) -> Option<usize> {
    use jaq_core::load::Error;
    match error {
        Error::Lex(errors) => errors.first().and_then(|(_, rest)| offset_in(code, rest)),
        Error::Parse(errors) => errors.first().and_then(|(_, found)| offset_in(code, found)),
        Error::Io(_) => None,
    }
}

/// Where `part`, a slice of `code`, starts in it.
fn offset_in(code: &str, part: &str) -> Option<usize> {
    let start = (part.as_ptr() as usize).checked_sub(code.as_ptr() as usize)?;
    (start <= code.len()).then_some(start)
}

/// The one-line usage error of a bad `--jq` expression.
fn jq_usage(code: &str, why: &str, at: Option<usize>) -> CliError {
    let expr = terminal_text::escape_controls(&terminal_text::cut(code, 200)).into_owned();
    let position = at
        .map(|at| format!(" at character {}", code[..at].chars().count() + 1))
        .unwrap_or_default();
    CliError::usage(format!(
        "--jq `{expr}` is not a valid jq expression: {why}{position}"
    ))
}

/// Runs `filter` on `input`: every value it yields, at most [`MAX_JQ_OUTPUTS`].
fn run(filter: &Filter, input: Value) -> Result<Vec<Value>, ShapeError> {
    let input = Val::deserialize(input)
        .map_err(|e| ShapeError(format!("--jq: cannot read the record: {e}")))?;
    let ctx = Ctx::<data::JustLut<Val>>::new(&filter.lut, Vars::new([]));
    let mut out = Vec::new();
    for value in filter.id.run((ctx, input)).map(unwrap_valr) {
        let value = value.map_err(|e| {
            ShapeError(format!(
                "--jq failed on a record: {}",
                terminal_text::server_message(&e.to_string())
            ))
        })?;
        if out.len() == MAX_JQ_OUTPUTS {
            return Err(ShapeError(format!(
                "--jq printed more than {MAX_JQ_OUTPUTS} values for one record"
            )));
        }
        out.push(to_json(&value)?);
    }
    Ok(out)
}

/// A jq value as a JSON value (through its JSON text; a value JSON cannot hold, such as NaN
/// or a byte string, is an error).
fn to_json(value: &Val) -> Result<Value, ShapeError> {
    let mut text = Vec::new();
    jaq_json::write::write(&mut text, &jaq_json::write::Pp::default(), 0, value)
        .map_err(|e| ShapeError(format!("--jq: cannot write a value: {e}")))?;
    serde_json::from_slice(&text).map_err(|_| {
        ShapeError(format!(
            "--jq made a value JSON cannot hold: {}",
            terminal_text::server_message(&String::from_utf8_lossy(&text))
        ))
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn shape(fields: Option<&str>, jq: Option<&str>) -> Shape {
        Shape::new(fields, jq).unwrap_or_else(|e| panic!("{}", e.message))
    }

    #[test]
    fn fields_keep_the_named_fields_in_order_and_null_for_missing_ones() {
        let s = shape(Some(" email, id ,,nope,id"), None);
        let out = s
            .apply(&json!({"id": 1, "email": "a@x", "other": 2}))
            .unwrap();
        assert_eq!(out, vec![json!({"email": "a@x", "id": 1, "nope": null})]);
        let keys: Vec<&String> = out[0].as_object().unwrap().keys().collect();
        assert_eq!(keys, ["email", "id", "nope"]);
        assert_eq!(s.apply(&json!(5)).unwrap(), vec![json!(5)]);
    }

    #[test]
    fn fields_naming_nothing_is_a_usage_error() {
        for list in ["", ",", " , ,"] {
            let error = Shape::new(Some(list), None).unwrap_err();
            assert_eq!(error.exit, crate::exit::Exit::Usage, "{list:?}");
            assert!(
                error.message.contains("--fields names no field"),
                "{list:?}"
            );
        }
        let many = (0..=MAX_FIELDS)
            .map(|i| format!("f{i}"))
            .collect::<Vec<_>>();
        assert!(Shape::new(Some(&many.join(",")), None).is_err());
    }

    #[test]
    fn jq_maps_filters_and_multiplies_records() {
        let s = shape(None, Some("select(.n > 1) | {id, twice: (.n * 2)}"));
        assert!(s.apply(&json!({"id": "a", "n": 1})).unwrap().is_empty());
        assert_eq!(
            s.apply(&json!({"id": "b", "n": 3})).unwrap(),
            vec![json!({"id": "b", "twice": 6})]
        );
        let s = shape(Some("tags"), Some(".tags[]"));
        assert_eq!(
            s.apply(&json!({"id": 1, "tags": ["x", "y"]})).unwrap(),
            vec![json!("x"), json!("y")]
        );
        let s = shape(None, Some("keys | map(ascii_upcase) | join(\",\")"));
        assert_eq!(
            s.apply(&json!({"b": 1, "a": 2})).unwrap(),
            vec![json!("A,B")]
        );
    }

    #[test]
    fn a_bad_expression_is_a_one_line_usage_error_with_its_place() {
        for (code, expect) in [
            (".a |", "does not parse"),
            ("{a:", "at character 4"),
            (".a | nosuchfn", "`nosuchfn` is not defined"),
            ("\"\\q\"", "does not lex"),
            ("$undefined", "`$undefined` is not defined"),
        ] {
            let error = Shape::new(None, Some(code)).unwrap_err();
            assert_eq!(error.exit, crate::exit::Exit::Usage, "{code}");
            assert!(error.message.contains(expect), "{code}: {}", error.message);
            assert!(error.message.starts_with("--jq `"), "{}", error.message);
            assert_eq!(error.message.lines().count(), 1, "{}", error.message);
        }
        let error = Shape::new(None, Some(".a | nosuchfn")).unwrap_err();
        assert!(
            error.message.ends_with("at character 6"),
            "{}",
            error.message
        );
        let error = Shape::new(None, Some("\u{1b}]0;x\u{7}")).unwrap_err();
        assert!(!error.message.contains('\u{1b}'), "{}", error.message);
        let long = ".".repeat(MAX_JQ_BYTES + 1);
        assert!(
            Shape::new(None, Some(&long))
                .unwrap_err()
                .message
                .contains("bytes")
        );
    }

    #[test]
    fn a_runtime_error_or_a_flood_is_an_error_not_a_panic() {
        let s = shape(None, Some(".a.b"));
        let error = s.apply(&json!({"a": "text"})).unwrap_err();
        assert!(error.0.starts_with("--jq failed on a record"), "{error}");
        let s = shape(None, Some("range(1000000000)"));
        let error = s.apply(&json!(null)).unwrap_err();
        assert!(error.0.contains("more than"), "{error}");
        for code in ["nan", "infinite", "\"a\" | tobytes"] {
            let error = shape(None, Some(code)).apply(&json!(null)).unwrap_err();
            assert!(error.0.contains("JSON cannot hold"), "{code}: {error}");
        }
    }
}
