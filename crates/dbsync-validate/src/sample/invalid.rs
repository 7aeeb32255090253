//! Breaking one constraint of a field: which violations a schema can carry, and a value that
//! carries exactly one of them.

use serde_json::{Number, Value};

use super::Samples;
use crate::schema::{Field, FieldType, Schema};
use crate::violation::ViolationCode;

/// Every (field index, code) a record of `schema` can be broken with; `None` for an unknown
/// field.
pub(super) fn kinds(schema: &Schema) -> Vec<(Option<usize>, ViolationCode)> {
    let mut out = Vec::new();
    for (index, field) in schema.fields().iter().enumerate() {
        let mut add = |code| out.push((Some(index), code));
        let ty = field.field_type();
        if field.is_required() {
            add(ViolationCode::Required);
        }
        if !field.is_nullable() {
            add(ViolationCode::Null);
        }
        add(ViolationCode::Type);
        if matches!(ty, FieldType::Date | FieldType::DateTime) || field.format_value().is_some() {
            add(ViolationCode::Format);
        }
        if field.min_value().is_some() {
            add(ViolationCode::Min);
        }
        if field.max_value().is_some() {
            add(ViolationCode::Max);
        }
        if field.min_length_value().is_some_and(|n| n > 0) {
            add(ViolationCode::MinLength);
        }
        if field.max_length_value().is_some() {
            add(ViolationCode::MaxLength);
        }
        if field.pattern_source().is_some() {
            add(ViolationCode::Pattern);
        }
        if field.allowed_values().is_some() {
            add(ViolationCode::Enum);
        }
    }
    if !schema.additional_fields() {
        out.push((None, ViolationCode::UnknownField));
    }
    out
}

/// A value for field `index` with exactly the violation `code`, if one is found.
pub(super) fn breaking_value(
    s: &mut Samples<'_>,
    index: usize,
    code: &ViolationCode,
) -> Option<Value> {
    let field = s.schema.fields().get(index)?;
    let carries = |value: &Value| {
        let found = crate::check::check_field_value(field, value);
        found.len() == 1 && found.iter().all(|v| &v.code == code)
    };
    let fixed: Vec<Value> = match code {
        ViolationCode::Null => vec![Value::Null],
        ViolationCode::Type => wrong_types(field.field_type()),
        ViolationCode::Format => match field.field_type() {
            FieldType::Date => vec!["2026-02-30".into(), "2026-1-01".into()],
            FieldType::DateTime => vec![
                "2026-02-30T00:00:00Z".into(),
                "2026-01-01 10:00:00Z".into(),
                "2026-01-01T10:00:00".into(),
            ],
            _ => Vec::new(),
        },
        _ => Vec::new(),
    };
    if !fixed.is_empty() {
        return fixed.into_iter().find(|v| carries(v));
    }
    // Otherwise: values valid for the field with the broken constraint turned around.
    let relaxed = relax(field, code)?;
    for attempt in 0..super::MAX_TRIES {
        let Some(value) = super::values::candidate(s, &relaxed, index, attempt) else {
            continue;
        };
        if carries(&value) {
            return Some(value);
        }
    }
    None
}

/// Values of every type but the field's (and integers with a fraction).
fn wrong_types(ty: FieldType) -> Vec<Value> {
    let all = [
        Value::from(7),
        Value::from(1.5),
        Value::from("7"),
        Value::Bool(true),
        Value::Array(Vec::new()),
        Value::Object(serde_json::Map::new()),
    ];
    all.into_iter()
        .filter(|v| crate::check::check_type(ty, v).is_err())
        .collect()
}

/// The field with the constraint behind `code` turned so that its valid values break it.
fn relax(field: &Field, code: &ViolationCode) -> Option<Field> {
    let mut f = field.clone();
    let integer = field.field_type() == FieldType::Integer;
    match code {
        ViolationCode::Min => {
            let min = field.min_value()?.as_f64()?;
            f.min = None;
            let below = if integer { min.ceil() - 1.0 } else { min - 1.0 };
            f.max = Some(number(below)?);
        }
        ViolationCode::Max => {
            let max = field.max_value()?.as_f64()?;
            f.max = None;
            let above = if integer {
                max.floor() + 1.0
            } else {
                max + 1.0
            };
            f.min = Some(number(above)?);
        }
        ViolationCode::MinLength => {
            let min = field.min_length_value()?;
            f.min_length = None;
            f.max_length = Some(min.checked_sub(1)?);
        }
        ViolationCode::MaxLength => {
            let max = field.max_length_value()?;
            f.max_length = None;
            f.min_length = Some(max.checked_add(1)?);
        }
        ViolationCode::Pattern => {
            f.pattern = None;
            f.regex = None;
        }
        ViolationCode::Enum => f.enum_values = None,
        // Free text rarely has a format by chance; the caller checks.
        ViolationCode::Format if field.format_value().is_some() => f.format = None,
        _ => return None,
    }
    Some(f)
}

/// A finite `f64` as a JSON number, an integer one exactly where it can be.
fn number(x: f64) -> Option<Number> {
    if x.fract() == 0.0 && x.abs() < 9.0e15 {
        Some(Number::from(x as i64))
    } else {
        Number::from_f64(x)
    }
}
