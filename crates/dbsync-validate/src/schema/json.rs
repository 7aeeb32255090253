//! Reading and writing the contract's schema JSON: [`Schema::from_json`] (strict),
//! [`Schema::from_json_lenient`] (as a server sends it), both also `_with_limits`
//! ([`SchemaLimits`], for a schema from a server), [`Schema::to_json`], and serde.

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_json::{Map, Value};

use super::limits::{PatternBudget, check_field_count};
use super::{Field, FieldType, Format, Schema, SchemaLimits};
use crate::error::SchemaError;

impl Schema {
    /// Reads the contract's schema JSON, strictly: a member this crate does not know is refused
    /// (a typo such as `max_lenght` must not silently drop a constraint). A missing
    /// `additional_fields` means `false`. For a schema fetched from a server, which may carry
    /// descriptive members such as `label`, use [`Schema::from_json_lenient`].
    pub fn from_json(json: &Value) -> Result<Schema, SchemaError> {
        Schema::parse_json(json, false, None)
    }

    /// [`Schema::from_json`] within `limits` (field count, pattern text, compiled pattern size):
    /// for a schema from a source that is not trusted. Over a limit is
    /// [`SchemaError::TooComplex`].
    pub fn from_json_with_limits(
        json: &Value,
        limits: &SchemaLimits,
    ) -> Result<Schema, SchemaError> {
        Schema::parse_json(json, false, Some(limits))
    }

    /// Reads the contract's schema JSON as a server sends it: unknown members that are plainly
    /// not constraints (`label`, `description`, `x-widget`, ...) are ignored, in a field and at
    /// the top level. Members that look like constraints are still refused with
    /// [`SchemaError::UnknownMember`] (a field's) or [`SchemaError::Malformed`] (top level):
    /// a known name in another case or spelling (`maxLength`, `Required`), one or two typos away
    /// from a known name (`max_lenght`, `requird`, `additionalFields`), or another vocabulary's
    /// constraint (`minimum`, `exclusiveMaximum`, `const`, `regex`, ...). Ignoring those would
    /// let a client pass records the server refuses. Unknown types and formats are refused as
    /// in [`Schema::from_json`]: a field that cannot be checked is not silently skipped.
    ///
    /// ```
    /// use dbsync_validate::Schema;
    /// use serde_json::json;
    ///
    /// let served = json!({"fields": [{"name": "email", "type": "string", "label": "E-mail"}],
    ///                     "description": "CRM contacts"});
    /// assert!(Schema::from_json(&served).is_err());
    /// let schema = Schema::from_json_lenient(&served)?;
    /// assert_eq!(schema.fields().len(), 1);
    /// let typo = json!({"fields": [{"name": "email", "type": "string", "max_lenght": 5}]});
    /// assert!(Schema::from_json_lenient(&typo).is_err());
    /// # Ok::<(), dbsync_validate::SchemaError>(())
    /// ```
    pub fn from_json_lenient(json: &Value) -> Result<Schema, SchemaError> {
        Schema::parse_json(json, true, None)
    }

    /// [`Schema::from_json_lenient`] within `limits`, as a client reads a schema fetched from a
    /// server (with [`SchemaLimits::default`]): a server schema of many fields with large
    /// patterns would otherwise compile to gigabytes. Over a limit is
    /// [`SchemaError::TooComplex`].
    pub fn from_json_lenient_with_limits(
        json: &Value,
        limits: &SchemaLimits,
    ) -> Result<Schema, SchemaError> {
        Schema::parse_json(json, true, Some(limits))
    }

    /// Reads schema JSON text leniently, like [`Schema::from_json_lenient`].
    pub fn from_json_str_lenient(text: &str) -> Result<Schema, SchemaError> {
        let value: Value = serde_json::from_str(text).map_err(|e| SchemaError::InvalidJson {
            reason: e.to_string(),
        })?;
        Schema::from_json_lenient(&value)
    }

    fn parse_json(
        json: &Value,
        lenient: bool,
        limits: Option<&SchemaLimits>,
    ) -> Result<Schema, SchemaError> {
        let object = json.as_object().ok_or_else(|| SchemaError::Malformed {
            reason: format!(
                "a schema must be an object like {{\"fields\":[...]}}, found {}",
                crate::message::kind(json)
            ),
        })?;
        let mut builder = Schema::builder();
        for (member, value) in object {
            match member.as_str() {
                "fields" => {
                    let fields = value.as_array().ok_or_else(|| SchemaError::Malformed {
                        reason: format!(
                            "`fields` must be an array, found {}",
                            crate::message::kind(value)
                        ),
                    })?;
                    if let Some(limits) = limits {
                        check_field_count(fields.len(), limits)?;
                    }
                    for (index, field) in fields.iter().enumerate() {
                        builder = builder.field(Field::from_json(index, field, lenient)?);
                    }
                }
                "additional_fields" => {
                    builder = builder.additional_fields(value.as_bool().ok_or_else(|| {
                        SchemaError::Malformed {
                            reason: format!(
                                "`additional_fields` must be true or false, found {}",
                                crate::message::kind(value)
                            ),
                        }
                    })?);
                }
                other if lenient && !crate::lenient::schema_member_is_constraint_like(other) => {}
                other => {
                    return Err(SchemaError::Malformed {
                        reason: format!(
                            "unknown member `{other}`; a schema has `fields` and `additional_fields`"
                        ),
                    });
                }
            }
        }
        if !object.contains_key("fields") {
            return Err(SchemaError::Malformed {
                reason: "a schema needs a `fields` array (it may be empty)".to_owned(),
            });
        }
        match limits {
            Some(limits) => builder.build_within(PatternBudget::new(*limits)),
            None => builder.build(),
        }
    }

    /// Reads the contract's schema JSON from text.
    pub fn from_json_str(text: &str) -> Result<Schema, SchemaError> {
        let value: Value = serde_json::from_str(text).map_err(|e| SchemaError::InvalidJson {
            reason: e.to_string(),
        })?;
        Schema::from_json(&value)
    }

    /// The schema as contract JSON; [`Schema::from_json`] of it gives back an equal schema.
    /// Constraints that are not set (and `false` flags) are left out; `additional_fields` is
    /// always written.
    pub fn to_json(&self) -> Value {
        let mut object = Map::new();
        object.insert(
            "fields".into(),
            Value::Array(self.fields.iter().map(Field::to_json).collect()),
        );
        object.insert(
            "additional_fields".into(),
            Value::Bool(self.additional_fields),
        );
        Value::Object(object)
    }
}

impl Serialize for Schema {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        self.to_json().serialize(serializer)
    }
}

impl<'de> Deserialize<'de> for Schema {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Schema, D::Error> {
        let value = Value::deserialize(deserializer)?;
        Schema::from_json(&value).map_err(serde::de::Error::custom)
    }
}

impl Field {
    fn from_json(index: usize, value: &Value, lenient: bool) -> Result<Field, SchemaError> {
        let object = value.as_object().ok_or_else(|| SchemaError::Malformed {
            reason: format!(
                "fields[{index}] must be an object like {{\"name\":\"email\",\"type\":\"string\"}}, found {}",
                crate::message::kind(value)
            ),
        })?;
        let name = match object.get("name") {
            Some(Value::String(name)) => name.clone(),
            Some(other) => {
                return Err(SchemaError::Malformed {
                    reason: format!(
                        "fields[{index}].name must be a string, found {}",
                        crate::message::kind(other)
                    ),
                });
            }
            None => {
                return Err(SchemaError::Malformed {
                    reason: format!("fields[{index}] has no `name`"),
                });
            }
        };
        let field_type = match object.get("type") {
            Some(Value::String(ty)) => {
                FieldType::parse(ty).ok_or_else(|| SchemaError::UnknownType {
                    field: name.clone(),
                    found: ty.clone(),
                })?
            }
            Some(other) => {
                return Err(SchemaError::InvalidConstraint {
                    field: name,
                    constraint: "type",
                    reason: format!("must be a string, found {}", crate::message::kind(other)),
                });
            }
            None => {
                return Err(SchemaError::Malformed {
                    reason: format!("field `{name}` has no `type`"),
                });
            }
        };
        let mut field = Field::new(name, field_type);
        for (member, value) in object {
            let bad = |constraint: &'static str, expected: &str| SchemaError::InvalidConstraint {
                field: field.name.clone(),
                constraint,
                reason: format!("must be {expected}, found {}", crate::message::kind(value)),
            };
            let flag = |c: &'static str| value.as_bool().ok_or_else(|| bad(c, "true or false"));
            let number =
                |c: &'static str| value.as_number().cloned().ok_or_else(|| bad(c, "a number"));
            let count = |c: &'static str| {
                value
                    .as_u64()
                    .ok_or_else(|| bad(c, "a non-negative integer"))
            };
            match member.as_str() {
                "name" | "type" => {}
                "required" => field.required = flag("required")?,
                "nullable" => field.nullable = flag("nullable")?,
                "unique" => field.unique = flag("unique")?,
                "min" => field.min = Some(number("min")?),
                "max" => field.max = Some(number("max")?),
                "min_length" => field.min_length = Some(count("min_length")?),
                "max_length" => field.max_length = Some(count("max_length")?),
                "pattern" => {
                    let pattern = value.as_str().ok_or_else(|| bad("pattern", "a string"))?;
                    field.pattern = Some(pattern.to_owned());
                }
                "enum" => {
                    let values = value.as_array().ok_or_else(|| bad("enum", "an array"))?;
                    field.enum_values = Some(values.clone());
                }
                "format" => {
                    let name = value.as_str().ok_or_else(|| bad("format", "a string"))?;
                    field.format =
                        Some(
                            Format::parse(name).ok_or_else(|| SchemaError::UnknownFormat {
                                field: field.name.clone(),
                                found: name.to_owned(),
                            })?,
                        );
                }
                other if lenient && !crate::lenient::field_member_is_constraint_like(other) => {}
                _ => {
                    return Err(SchemaError::UnknownMember {
                        field: field.name.clone(),
                        member: member.clone(),
                    });
                }
            }
        }
        Ok(field)
    }

    fn to_json(&self) -> Value {
        let mut object = Map::new();
        object.insert("name".into(), Value::String(self.name.clone()));
        object.insert(
            "type".into(),
            Value::String(self.field_type.as_str().into()),
        );
        if self.required {
            object.insert("required".into(), Value::Bool(true));
        }
        if self.nullable {
            object.insert("nullable".into(), Value::Bool(true));
        }
        if self.unique {
            object.insert("unique".into(), Value::Bool(true));
        }
        if let Some(min) = &self.min {
            object.insert("min".into(), Value::Number(min.clone()));
        }
        if let Some(max) = &self.max {
            object.insert("max".into(), Value::Number(max.clone()));
        }
        if let Some(n) = self.min_length {
            object.insert("min_length".into(), Value::from(n));
        }
        if let Some(n) = self.max_length {
            object.insert("max_length".into(), Value::from(n));
        }
        if let Some(pattern) = &self.pattern {
            object.insert("pattern".into(), Value::String(pattern.clone()));
        }
        if let Some(values) = &self.enum_values {
            object.insert("enum".into(), Value::Array(values.clone()));
        }
        if let Some(format) = self.format {
            object.insert("format".into(), Value::String(format.as_str().into()));
        }
        Value::Object(object)
    }
}
