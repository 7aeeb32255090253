//! One page of a list, and how pages are shaped on the wire.

use serde::Deserialize;
use serde::de::DeserializeOwned;
use serde_json::Value;

use crate::error::Error;

/// One page of records.
#[derive(Debug, Clone, PartialEq)]
pub struct Page<T> {
    /// The records, in the server's order.
    pub data: Vec<T>,
    /// The paging metadata, when the server sent it (a bare-array page has none).
    pub meta: Option<Meta>,
}

/// The `meta` object of a page. Every field is optional so that servers that send less still
/// work.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
pub struct Meta {
    /// The page size the server used.
    #[serde(default)]
    pub limit: Option<u64>,
    /// The offset of the first record of the page.
    #[serde(default)]
    pub offset: Option<u64>,
    /// How many records match the query in all.
    #[serde(default)]
    pub total: Option<u64>,
}

/// How list pages are shaped: the contract's `{"data":[...],"meta":{...}}` (default), the
/// records under another key, or a bare JSON array. A bare array is accepted whatever the
/// format, since it cannot be mistaken for anything else.
///
/// ```
/// use dbsync_client::PageFormat;
/// assert_eq!(PageFormat::default(), PageFormat::records_under("data"));
/// let _items = PageFormat::records_under("items");
/// let _bare = PageFormat::BareArray;
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum PageFormat {
    /// An object with the records under `records_key` and paging data under `meta`.
    Envelope {
        /// The key of the records array (`data` in the contract).
        records_key: String,
    },
    /// A bare JSON array of records, without metadata.
    BareArray,
}

impl Default for PageFormat {
    fn default() -> Self {
        Self::records_under("data")
    }
}

impl PageFormat {
    /// An envelope with the records under `key`.
    pub fn records_under(key: impl Into<String>) -> Self {
        Self::Envelope {
            records_key: key.into(),
        }
    }
}

/// Parses a page body per `format`, decoding each record as `T`.
pub(crate) fn parse_page<T: DeserializeOwned>(
    body: &[u8],
    status: u16,
    format: &PageFormat,
) -> Result<Page<T>, Error> {
    let value: Value = serde_json::from_slice(body)
        .map_err(|e| Error::decode(Some(status), format!("the page is not JSON ({e})"), body))?;
    let (records, meta) = match (value, format) {
        (Value::Array(records), _) => (records, None),
        (Value::Object(mut object), PageFormat::Envelope { records_key }) => {
            let meta = object
                .get("meta")
                .and_then(|meta| Meta::deserialize(meta).ok());
            match object.remove(records_key) {
                Some(Value::Array(records)) => (records, meta),
                _ => {
                    let keys: Vec<&str> = object.keys().map(String::as_str).collect();
                    return Err(Error::decode(
                        Some(status),
                        format!(
                            "the page has no `{records_key}` array (its keys: {}); configure \
                             the records key with PageFormat::records_under(..) or \
                             PageFormat::BareArray",
                            keys.join(", ")
                        ),
                        body,
                    ));
                }
            }
        }
        (_, PageFormat::BareArray) => {
            return Err(Error::decode(
                Some(status),
                "expected a bare JSON array page (PageFormat::BareArray)",
                body,
            ));
        }
        (_, PageFormat::Envelope { .. }) => {
            return Err(Error::decode(
                Some(status),
                "the page is neither an object nor an array",
                body,
            ));
        }
    };
    let data = records
        .into_iter()
        .enumerate()
        .map(|(i, record)| decode_record(record, status, &format!("record {i} of the page")))
        .collect::<Result<Vec<T>, Error>>()?;
    Ok(Page { data, meta })
}

/// Decodes one record, quoting it on failure.
pub(crate) fn decode_record<T: DeserializeOwned>(
    record: Value,
    status: u16,
    what: &str,
) -> Result<T, Error> {
    T::deserialize(&record).map_err(|e| {
        Error::decode(
            Some(status),
            format!("{what} does not fit the expected type ({e})"),
            record.to_string().as_bytes(),
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_envelopes_custom_keys_and_bare_arrays() {
        let envelope = br#"{"data":[{"id":1}],"meta":{"limit":10,"offset":0,"total":1}}"#;
        let page: Page<Value> = parse_page(envelope, 200, &PageFormat::default()).unwrap();
        assert_eq!(page.data.len(), 1);
        assert_eq!(page.meta.unwrap().total, Some(1));
        let items = br#"{"items":[{"id":1},{"id":2}]}"#;
        let page: Page<Value> =
            parse_page(items, 200, &PageFormat::records_under("items")).unwrap();
        assert_eq!((page.data.len(), page.meta), (2, None));
        let bare = br#"[{"id":1}]"#;
        for format in [PageFormat::default(), PageFormat::BareArray] {
            let page: Page<Value> = parse_page(bare, 200, &format).unwrap();
            assert_eq!(page.data.len(), 1);
        }
    }

    #[test]
    fn a_wrong_shape_says_how_to_configure_it() {
        let err = parse_page::<Value>(br#"{"items":[]}"#, 200, &PageFormat::default()).unwrap_err();
        let text = err.to_string();
        assert!(
            text.contains("no `data` array") && text.contains("items"),
            "{text}"
        );
        assert!(parse_page::<Value>(br#"{"data":[]}"#, 200, &PageFormat::BareArray).is_err());
        assert!(parse_page::<Value>(b"<html>", 200, &PageFormat::default()).is_err());
    }

    #[test]
    fn a_record_of_the_wrong_type_names_its_position() {
        #[derive(Debug, Deserialize)]
        #[allow(dead_code)]
        struct Contact {
            email: String,
        }
        let err = parse_page::<Contact>(
            br#"{"data":[{"email":"a"},{"email":3}]}"#,
            200,
            &PageFormat::default(),
        )
        .unwrap_err();
        assert!(err.to_string().contains("record 1"), "{err}");
    }
}
