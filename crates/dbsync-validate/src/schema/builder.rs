//! [`SchemaBuilder`]: collects fields and checks them (types, bounds, names, patterns) into a
//! [`Schema`].

use super::limits::PatternBudget;
use super::{Field, FieldType, MAX_FIELD_NAME_CHARS, Schema};
use crate::check::{self, TypeProblem};
use crate::error::SchemaError;

/// Builds a [`Schema`] in code; see [`Schema::builder`].
#[derive(Debug, Clone, Default)]
pub struct SchemaBuilder {
    fields: Vec<Field>,
    additional_fields: bool,
}

impl SchemaBuilder {
    /// Adds a field.
    pub fn field(mut self, field: Field) -> SchemaBuilder {
        self.fields.push(field);
        self
    }

    /// Adds several fields.
    pub fn fields(mut self, fields: impl IntoIterator<Item = Field>) -> SchemaBuilder {
        self.fields.extend(fields);
        self
    }

    /// Whether fields not in the schema are accepted (default `false`).
    pub fn additional_fields(mut self, allowed: bool) -> SchemaBuilder {
        self.additional_fields = allowed;
        self
    }

    /// Checks every field (constraints fit the type, bounds are ordered, names are valid and
    /// distinct, patterns compile) and returns the schema.
    pub fn build(self) -> Result<Schema, SchemaError> {
        self.build_within(PatternBudget::default())
    }

    /// [`SchemaBuilder::build`], compiling the patterns within `budget`.
    pub(super) fn build_within(self, mut budget: PatternBudget) -> Result<Schema, SchemaError> {
        let mut fields = self.fields;
        for field in &mut fields {
            field.finish(&mut budget)?;
        }
        let mut seen = std::collections::HashSet::with_capacity(fields.len());
        for field in &fields {
            if !seen.insert(field.name.as_str()) {
                return Err(SchemaError::DuplicateField {
                    field: field.name.clone(),
                });
            }
        }
        Ok(Schema::from_checked_fields(fields, self.additional_fields))
    }
}

impl Field {
    /// Checks the field on its own and compiles its pattern within `budget`.
    fn finish(&mut self, budget: &mut PatternBudget) -> Result<(), SchemaError> {
        check_field_name(&self.name)?;
        let field = || self.name.clone();
        if let Some((constraint, reason)) = self.invalid.take() {
            return Err(SchemaError::InvalidConstraint {
                field: field(),
                constraint,
                reason,
            });
        }
        let ty = self.field_type;
        let not_applicable = |constraint: &'static str, hint: &'static str| {
            Err(SchemaError::ConstraintNotApplicable {
                field: self.name.clone(),
                constraint,
                field_type: ty,
                hint,
            })
        };
        let numeric = matches!(ty, FieldType::Integer | FieldType::Number);
        let sized = matches!(ty, FieldType::String | FieldType::Array);
        const NUMERIC: &str = "only integer and number fields have min/max";
        const SIZED: &str = "only string and array fields have a length";
        const STRING: &str = "only string fields have it";
        const SCALAR: &str = "object and array fields cannot have it";
        if self.min.is_some() && !numeric {
            return not_applicable("min", NUMERIC);
        }
        if self.max.is_some() && !numeric {
            return not_applicable("max", NUMERIC);
        }
        if self.min_length.is_some() && !sized {
            return not_applicable("min_length", SIZED);
        }
        if self.max_length.is_some() && !sized {
            return not_applicable("max_length", SIZED);
        }
        if self.pattern.is_some() && ty != FieldType::String {
            return not_applicable("pattern", STRING);
        }
        if self.format.is_some() && ty != FieldType::String {
            return not_applicable("format", STRING);
        }
        if self.enum_values.is_some() && !ty.is_scalar() {
            return not_applicable("enum", SCALAR);
        }
        if self.unique && !ty.is_scalar() {
            return not_applicable("unique", SCALAR);
        }
        if let (Some(min), Some(max)) = (&self.min, &self.max)
            && check::compare_numbers(min, max) == std::cmp::Ordering::Greater
        {
            return Err(SchemaError::MinGreaterThanMax {
                field: field(),
                min: min.clone(),
                max: max.clone(),
            });
        }
        if let (Some(min_length), Some(max_length)) = (self.min_length, self.max_length)
            && min_length > max_length
        {
            return Err(SchemaError::MinLengthGreaterThanMaxLength {
                field: field(),
                min_length,
                max_length,
            });
        }
        if let Some(values) = &self.enum_values {
            if values.is_empty() {
                return Err(SchemaError::EmptyEnum { field: field() });
            }
            for (index, value) in values.iter().enumerate() {
                let reason = match check::check_type(ty, value) {
                    Ok(()) => continue,
                    Err(TypeProblem::Null) => "is null; use `nullable` to allow null".to_owned(),
                    Err(problem) => {
                        format!("is not a valid {ty}: {}", problem.describe(value, false))
                    }
                };
                return Err(SchemaError::InvalidEnumValue {
                    field: field(),
                    index,
                    reason,
                });
            }
        }
        self.regex = match &self.pattern {
            None => None,
            Some(pattern) => Some(budget.compile(&self.name, pattern)?),
        };
        Ok(())
    }
}

fn check_field_name(name: &str) -> Result<(), SchemaError> {
    let refuse = |reason: &str| {
        Err(SchemaError::InvalidFieldName {
            name: name.to_owned(),
            reason: reason.to_owned(),
        })
    };
    if name.trim().is_empty() {
        return refuse("a field name must not be empty or blank");
    }
    if name.chars().count() > MAX_FIELD_NAME_CHARS {
        return refuse("a field name must be at most 128 characters");
    }
    if name.chars().any(char::is_control) {
        return refuse("a field name must not contain control characters");
    }
    if name.trim() != name {
        return refuse("a field name must not start or end with whitespace");
    }
    Ok(())
}
