//! One page of a list, and how pages are shaped on the wire.

use std::fmt::Display;
use std::ops::Range;

use bytes::Bytes;
use serde::Deserialize;
use serde::de::{
    DeserializeOwned, DeserializeSeed, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor,
};
use serde_json::value::RawValue;

use crate::error::Error;

/// One page of records.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct Page<T> {
    /// The records, in the server's order.
    pub data: Vec<T>,
    /// The paging metadata, when the server sent it (a bare-array page has none).
    pub meta: Option<Meta>,
}

/// The `meta` object of a page. Every field is optional so that servers that send less still
/// work.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[non_exhaustive]
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

impl<T> Page<T> {
    /// A page of `data` with `meta` (for tests and fakes of code that takes pages).
    pub fn new(data: Vec<T>, meta: Option<Meta>) -> Self {
        Self { data, meta }
    }
}

impl Meta {
    /// Paging metadata: the page size, the offset of its first record and the total, each
    /// optional as on the wire.
    pub fn new(limit: Option<u64>, offset: Option<u64>, total: Option<u64>) -> Self {
        Self {
            limit,
            offset,
            total,
        }
    }
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

/// A page as the server sent it, checked and laid out; its records are decoded one at a time,
/// when they are read.
#[derive(Debug)]
pub(crate) struct PageBody {
    pub(crate) status: u16,
    pub(crate) body: Bytes,
    /// Where each record is in the body, and the page's metadata.
    pub(crate) layout: PageLayout,
}

impl PageBody {
    /// Decodes record `index` as `T`; `place` names the page in errors.
    pub(crate) fn decode<T: DeserializeOwned>(
        &self,
        index: usize,
        place: impl Display,
    ) -> Result<T, Error> {
        self.layout.decode(&self.body, index, self.status, place)
    }

    /// How many records the page holds.
    pub(crate) fn len(&self) -> usize {
        self.layout.records.len()
    }
}

/// Where a page's records are in its body, and its metadata: what the request path keeps of a
/// page body it has checked, so that the page is parsed once.
#[derive(Debug)]
pub(crate) struct PageLayout {
    /// The byte range of each record's JSON text, in order.
    pub(crate) records: Vec<Range<usize>>,
    pub(crate) meta: Option<Meta>,
}

impl PageLayout {
    /// The layout of a page `body` in `format`: `checked`, the one the request path read while
    /// it checked the body, or (without one: JSON of another shape) a fresh parse, whose error
    /// says what is wrong with the page.
    pub(crate) fn of_reply(
        body: &[u8],
        status: u16,
        format: &PageFormat,
        checked: Option<PageLayout>,
    ) -> Result<Self, Error> {
        match checked {
            Some(layout) if layout.fits(body) => Ok(layout),
            _ => {
                let (records, meta) = parse_borrowed_page(body, status, format)?;
                Ok(Self::of(body, &records, meta))
            }
        }
    }

    /// Decodes record `index` of `body` (the body this layout was read from) as `T`; `place`
    /// names the page in errors.
    pub(crate) fn decode<T: DeserializeOwned>(
        &self,
        body: &[u8],
        index: usize,
        status: u16,
        place: impl Display,
    ) -> Result<T, Error> {
        let text = self
            .records
            .get(index)
            .and_then(|range| body.get(range.clone()))
            .ok_or_else(|| {
                Error::config(format!(
                    "internal: record {index} of {place} is outside the page; read the page again"
                ))
            })?;
        serde_json::from_slice(text).map_err(|e| {
            Error::decode(
                Some(status),
                format!("record {index} of {place} does not fit the expected type ({e})"),
                text,
            )
        })
    }

    /// The layout of `records`, JSON texts borrowed from `body` (as the page's deserializer
    /// gives them): each one's position is its address less the body's.
    fn of(body: &[u8], records: &[&str], meta: Option<Meta>) -> Self {
        let start = body.as_ptr() as usize;
        let records = records
            .iter()
            .map(|text| {
                let offset = (text.as_ptr() as usize).wrapping_sub(start);
                offset..offset.saturating_add(text.len())
            })
            .collect();
        Self { records, meta }
    }

    /// Whether every record lies within `body` (a layout is only ever laid over the body it was
    /// read from; if it did not fit, the page is parsed afresh rather than a record lost).
    fn fits(&self, body: &[u8]) -> bool {
        self.records
            .iter()
            .all(|range| range.start <= range.end && range.end <= body.len())
    }
}

/// A body that is not JSON (truncated, garbled, HTML...).
#[derive(Debug)]
pub(crate) struct NotJson;

/// The layout of a page body in `format`: `Ok(Some)` for a page, `Ok(None)` for JSON of another
/// shape (the scan's own parse then reports what is wrong), `Err` for a body that is not JSON.
pub(crate) fn page_layout(body: &[u8], format: &PageFormat) -> Result<Option<PageLayout>, NotJson> {
    match borrowed_page(body, format) {
        Ok(BorrowedPage::Records(records, meta)) => {
            let texts: Vec<&str> = records.iter().map(|record| record.get()).collect();
            Ok(Some(PageLayout::of(body, &texts, meta)))
        }
        Ok(BorrowedPage::Missing(_)) => Ok(None),
        Err(e) if e.is_eof() => Err(NotJson),
        // A type error can come before the point where a body was cut, and serde_json reports
        // some valid JSON (a number out of range, deep nesting) as syntax: only a plain JSON
        // check tells a page of another shape from a body that is not JSON.
        Err(_) => match serde_json::from_slice::<IgnoredAny>(body) {
            Ok(_) => Ok(None),
            Err(_) => Err(NotJson),
        },
    }
}

fn borrowed_page<'a>(
    body: &'a [u8],
    format: &PageFormat,
) -> Result<BorrowedPage<'a>, serde_json::Error> {
    let key = match format {
        PageFormat::Envelope { records_key } => records_key.as_str(),
        _ => "",
    };
    let mut deserializer = serde_json::Deserializer::from_slice(body);
    let page = EnvelopeSeed { key }.deserialize(&mut deserializer)?;
    // Nothing but whitespace may follow the page.
    deserializer.end()?;
    Ok(page)
}

/// Parses a page without decoding its records: each record stays JSON text borrowed from the
/// body, so it is parsed once, straight into the caller's type.
fn parse_borrowed_page<'a>(
    body: &'a [u8],
    status: u16,
    format: &PageFormat,
) -> Result<(Vec<&'a str>, Option<Meta>), Error> {
    let not_json = |e: serde_json::Error| {
        let message = if e.is_data() {
            // JSON, but not shaped like a page of this format.
            format!(
                "the page is not a page of records ({e}); if the server sends its records \
                 under another key or as a bare array, configure it with \
                 PageFormat::records_under(..) or PageFormat::BareArray"
            )
        } else {
            format!("the page is not JSON ({e})")
        };
        Error::decode(Some(status), message, body)
    };
    let key = match format {
        PageFormat::Envelope { records_key } => records_key.as_str(),
        _ => "",
    };
    let page = borrowed_page(body, format).map_err(not_json)?;
    match page {
        BorrowedPage::Records(records, meta) => {
            Ok((records.iter().map(|record| record.get()).collect(), meta))
        }
        BorrowedPage::Missing(keys) if matches!(format, PageFormat::Envelope { .. }) => {
            Err(Error::decode(
                Some(status),
                format!(
                    "the page has no `{key}` array (its keys: {}); configure the records key \
                     with PageFormat::records_under(..) or PageFormat::BareArray",
                    keys.join(", ")
                ),
                body,
            ))
        }
        BorrowedPage::Missing(_) => Err(Error::decode(
            Some(status),
            "expected a bare JSON array page (PageFormat::BareArray)",
            body,
        )),
    }
}

enum BorrowedPage<'a> {
    Records(Vec<&'a RawValue>, Option<Meta>),
    /// An object without the records key: its keys.
    Missing(Vec<String>),
}

struct EnvelopeSeed<'k> {
    key: &'k str,
}

impl<'de> DeserializeSeed<'de> for EnvelopeSeed<'_> {
    type Value = BorrowedPage<'de>;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Self::Value, D::Error> {
        deserializer.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for EnvelopeSeed<'_> {
    type Value = BorrowedPage<'de>;

    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "a page: an object with `{}` and `meta`, or an array",
            self.key
        )
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
        let mut records = Vec::with_capacity(seq.size_hint().unwrap_or(0));
        while let Some(record) = seq.next_element::<&'de RawValue>()? {
            records.push(record);
        }
        Ok(BorrowedPage::Records(records, None))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let mut records = None;
        let mut meta = None;
        let mut keys = Vec::new();
        while let Some(name) = map.next_key::<std::borrow::Cow<'de, str>>()? {
            if !self.key.is_empty() && name == self.key {
                records = Some(map.next_value::<Vec<&'de RawValue>>()?);
            } else if name == "meta" {
                // Tolerant, like the typed path: a meta that does not fit is no meta.
                let raw = map.next_value::<&'de RawValue>()?;
                meta = serde_json::from_str::<Meta>(raw.get()).ok();
            } else {
                map.next_value::<IgnoredAny>()?;
                keys.push(name.into_owned());
            }
        }
        Ok(match records {
            Some(records) => BorrowedPage::Records(records, meta),
            None => BorrowedPage::Missing(keys),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn borrowed_pages_read_envelopes_custom_keys_and_bare_arrays() {
        let body = br#"{"data":[{"id":1},{"id":"x"}],"meta":{"limit":2,"total":9},"extra":1}"#;
        let (records, meta) = parse_borrowed_page(body, 200, &PageFormat::default()).unwrap();
        assert_eq!(records, [r#"{"id":1}"#, r#"{"id":"x"}"#]);
        assert_eq!(meta.unwrap().total, Some(9));
        let items = br#"{"items":[{"id":1}],"meta":"not an object"}"#;
        let (records, meta) =
            parse_borrowed_page(items, 200, &PageFormat::records_under("items")).unwrap();
        assert_eq!((records.len(), meta), (1, None));
        for format in [PageFormat::default(), PageFormat::BareArray] {
            let (records, meta) = parse_borrowed_page(b"[{}, {}]", 200, &format).unwrap();
            assert_eq!((records.len(), meta), (2, None));
        }
    }

    #[test]
    fn a_record_of_the_wrong_type_names_its_place() {
        #[derive(Debug, Deserialize)]
        #[allow(dead_code)]
        struct Contact {
            email: String,
        }
        let body = br#"{"data":[{"email":"a"},{"email":3}]}"#;
        let layout = PageLayout::of_reply(body, 200, &PageFormat::default(), None).unwrap();
        assert!(layout.decode::<Contact>(body, 0, 200, "the page").is_ok());
        let err = layout
            .decode::<Contact>(body, 1, 200, "the page")
            .unwrap_err();
        assert!(
            err.to_string()
                .contains("record 1 of the page does not fit"),
            "{err}"
        );
        // A layout laid over another body does not lose or invent a record.
        assert!(layout.decode::<Contact>(b"[]", 1, 200, "the page").is_err());
        assert!(layout.decode::<Contact>(body, 2, 200, "the page").is_err());
    }

    /// Each record's text, as the layout places it in `body`.
    fn texts<'a>(layout: &PageLayout, body: &'a [u8]) -> Vec<&'a str> {
        assert!(layout.fits(body));
        layout
            .records
            .iter()
            .map(|range| std::str::from_utf8(&body[range.clone()]).unwrap())
            .collect()
    }

    #[test]
    fn a_page_is_laid_out_in_the_parse_that_checks_it() {
        let body = br#"{"meta":{"total":9},"data":[{"id":1,"s":"\u00e9"}, [2] ,{"id":"x"}]}"#;
        let layout = page_layout(body, &PageFormat::default()).unwrap().unwrap();
        assert_eq!(
            texts(&layout, body),
            [r#"{"id":1,"s":"\u00e9"}"#, "[2]", r#"{"id":"x"}"#]
        );
        assert_eq!(layout.meta.unwrap().total, Some(9));
        let bare = b"[{},{}]";
        let layout = page_layout(bare, &PageFormat::BareArray).unwrap().unwrap();
        assert_eq!(texts(&layout, bare), ["{}", "{}"]);
        // Laid over a shorter body than the one it was read from, a layout does not fit, so
        // the page is parsed afresh instead of losing a record.
        assert!(!layout.fits(b"[{}"));
        // A meta that does not fit (here a total out of range) is no meta, not a bad page.
        let odd_meta = br#"{"data":[{}],"meta":{"total":1e400}}"#;
        let layout = page_layout(odd_meta, &PageFormat::default())
            .unwrap()
            .unwrap();
        assert_eq!((layout.records.len(), layout.meta), (1, None));
    }

    #[test]
    fn a_cut_or_garbled_page_is_not_json_and_another_shape_is_left_to_the_parse() {
        for body in [
            &br#"{"data":[{"id":1},{"id""#[..],
            br#"{"data":[{"id":1}],"meta":{"tot"#,
            b"<html>",
            b"",
        ] {
            assert!(
                page_layout(body, &PageFormat::default()).is_err(),
                "{:?}",
                String::from_utf8_lossy(body)
            );
        }
        // Cut after a type error, or followed by more than whitespace: not JSON either.
        for body in [
            &br#"{"data":5,"meta":{"tot"#[..],
            br#"{"data":[{"id":1}]} x"#,
            br#"{"data":[]}{"data":[]}"#,
        ] {
            assert!(
                page_layout(body, &PageFormat::default()).is_err(),
                "{:?}",
                String::from_utf8_lossy(body)
            );
        }
        for body in [&br#"{"items":[]}"#[..], br#"{"data":5}"#, br#""text""#] {
            assert!(matches!(
                page_layout(body, &PageFormat::default()),
                Ok(None)
            ));
        }
    }

    #[test]
    fn a_page_of_another_shape_says_how_to_configure_it_and_is_not_called_not_json() {
        for body in [
            &br#"{"data":5}"#[..],
            br#"{"data":null}"#,
            br#""text""#,
            b"7",
        ] {
            let err = parse_borrowed_page(body, 200, &PageFormat::default())
                .err()
                .unwrap()
                .to_string();
            assert!(
                err.contains("not a page of records") && err.contains("PageFormat::"),
                "{err}"
            );
            assert!(!err.contains("not JSON"), "{err}");
        }
    }

    #[test]
    fn a_wrong_page_shape_says_how_to_configure_it() {
        let err = parse_borrowed_page(br#"{"items":[]}"#, 200, &PageFormat::default())
            .err()
            .unwrap();
        let text = err.to_string();
        assert!(
            text.contains("no `data` array") && text.contains("items"),
            "{text}"
        );
        assert!(parse_borrowed_page(br#"{"data":[]}"#, 200, &PageFormat::BareArray).is_err());
        assert!(parse_borrowed_page(b"<html>", 200, &PageFormat::default()).is_err());
        assert!(parse_borrowed_page(br#"{"data":[1,"#, 200, &PageFormat::default()).is_err());
    }
}
