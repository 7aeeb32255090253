//! One page, fetched and decoded in its own task so that pages in flight progress (and decode
//! on another core) while the caller handles the current one.

use std::future::Future;
use std::ops::Range;
use std::pin::Pin;
use std::task::{Context, Poll};

use http::Method;
use serde::Deserialize as _;
use serde::de::{
    DeserializeOwned, DeserializeSeed, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor,
};
use serde_json::Value;
use serde_json::value::RawValue;
use tokio::task::JoinHandle;

use crate::error::Error;
use crate::page::{Meta, PageFormat, parse_raw_page};
use crate::query::Query;
use crate::request::execute;
use crate::resource::Resource;

use super::cursor::Ask;

/// An answered page: its records decoded, their ids (when asked for) and its metadata.
pub(crate) struct Fetched<T> {
    pub(crate) ask: Ask,
    pub(crate) records: Vec<T>,
    /// One entry per record the server returned (`None` when ids were not asked for).
    pub(crate) ids: Vec<Option<String>>,
    pub(crate) meta: Option<Meta>,
}

/// A page being fetched; dropping it cancels the fetch.
pub(crate) struct PageTask<T>(JoinHandle<Result<Fetched<T>, Error>>);

impl<T> Future for PageTask<T> {
    type Output = Result<Fetched<T>, Error>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        Pin::new(&mut self.0).poll(cx).map(|joined| {
            joined.unwrap_or_else(|e| {
                Err(Error::config(format!(
                    "a page fetch of the scan did not complete ({e}); resume from the scan's \
                     checkpoint"
                )))
            })
        })
    }
}

impl<T> Drop for PageTask<T> {
    fn drop(&mut self) {
        self.0.abort();
    }
}

impl<T> Resource<T> {
    /// One page as JSON values, exactly as many as the server returned.
    pub(crate) async fn list_raw(
        &self,
        query: &Query,
    ) -> Result<(Vec<Value>, Option<Meta>), Error> {
        crate::resource::check_query(query)?;
        let mut call = self.collection_call(Method::GET)?;
        query.apply(&mut call.url);
        let reply = execute(&self.connection, call).await?;
        parse_raw_page(&reply.body, reply.status, &self.format)
    }
}

/// Starts fetching the page `ask` of `query` in a task of the current tokio runtime.
pub(crate) fn spawn_page<T: DeserializeOwned + Send + 'static>(
    resource: &Resource<T>,
    query: &Query,
    ask: Ask,
    want_ids: bool,
) -> Result<PageTask<T>, Error> {
    let runtime = tokio::runtime::Handle::try_current().map_err(|_| {
        Error::config("a scan must be polled inside a tokio runtime (it fetches pages in tasks)")
    })?;
    let resource = resource.clone();
    let query = query.clone().offset(ask.offset).limit(ask.limit);
    // The page is read in the task: parsed once, records straight into `T`.
    Ok(PageTask(runtime.spawn(async move {
        crate::resource::check_query(&query)?;
        let mut call = resource
            .collection_call(Method::GET)?
            .page_body(resource.format.clone());
        query.apply(&mut call.url);
        let reply = execute(&resource.connection, call).await?;
        // The layout read while the request path checked the body, so the page is not parsed
        // again; without one (JSON of another shape), the full parse says what is wrong.
        let (raw, meta) = match reply
            .page
            .as_ref()
            .and_then(|page| page.records(&reply.body))
        {
            Some(laid_out) => laid_out,
            None => parse_borrowed_page(&reply.body, reply.status, &resource.format)?,
        };
        let ids = if want_ids {
            raw.iter().map(|record| raw_record_id(record)).collect()
        } else {
            vec![None; raw.len()]
        };
        let records = raw
            .iter()
            .enumerate()
            .map(|(i, record)| {
                serde_json::from_str::<T>(record).map_err(|e| {
                    Error::decode(
                        Some(reply.status),
                        format!(
                            "record {i} of the page at offset {} does not fit the expected \
                             type ({e})",
                            ask.offset
                        ),
                        record.as_bytes(),
                    )
                })
            })
            .collect::<Result<Vec<T>, Error>>()?;
        Ok(Fetched {
            ask,
            records,
            ids,
            meta,
        })
    })))
}

/// The id of a record given as JSON text (a number or a string), if it has one.
fn raw_record_id(record: &str) -> Option<String> {
    #[derive(serde::Deserialize)]
    struct IdOnly {
        #[serde(default)]
        id: Option<Value>,
    }
    let only: IdOnly = serde_json::from_str(record).ok()?;
    match only.id? {
        Value::String(id) => Some(id),
        Value::Number(id) => Some(id.to_string()),
        _ => None,
    }
}

/// Where a page's records are in its body, and its metadata: what the request path keeps of a
/// page body it has checked, so that the page is parsed once.
#[derive(Debug)]
pub(crate) struct PageLayout {
    /// The byte range of each record's JSON text, in order.
    records: Vec<Range<usize>>,
    meta: Option<Meta>,
}

impl PageLayout {
    /// Each record's JSON text in `body` (the body the layout was read from), and the metadata;
    /// `None` if the layout does not fit `body` (then the caller parses the page afresh rather
    /// than lose a record).
    fn records<'a>(&self, body: &'a [u8]) -> Option<(Vec<&'a str>, Option<Meta>)> {
        let text = std::str::from_utf8(body).ok()?;
        let records = self
            .records
            .iter()
            .map(|range| text.get(range.clone()))
            .collect::<Option<Vec<&str>>>()?;
        Some((records, self.meta))
    }
}

/// A body that is not JSON (truncated, garbled, HTML...).
#[derive(Debug)]
pub(crate) struct NotJson;

/// The layout of a page body in `format`: `Ok(Some)` for a page, `Ok(None)` for JSON of another
/// shape (the scan's own parse then reports what is wrong), `Err` for a body that is not JSON.
pub(crate) fn page_layout(body: &[u8], format: &PageFormat) -> Result<Option<PageLayout>, NotJson> {
    let (records, meta) = match borrowed_page(body, format) {
        Ok(BorrowedPage::Records(records, meta)) => (records, meta),
        Ok(BorrowedPage::Missing(_)) => return Ok(None),
        Err(e) if e.is_data() => return Ok(None),
        Err(_) => return Err(NotJson),
    };
    // Each record's text is a slice of `body` (the deserializer borrows it), so its position
    // is its address less the body's.
    let start = body.as_ptr() as usize;
    let records = records
        .iter()
        .map(|record| {
            let text = record.get();
            let offset = (text.as_ptr() as usize).wrapping_sub(start);
            offset..offset.saturating_add(text.len())
        })
        .collect();
    Ok(Some(PageLayout { records, meta }))
}

fn borrowed_page<'a>(
    body: &'a [u8],
    format: &PageFormat,
) -> Result<BorrowedPage<'a>, serde_json::Error> {
    let key = match format {
        PageFormat::Envelope { records_key } => records_key.as_str(),
        _ => "",
    };
    EnvelopeSeed { key }.deserialize(&mut serde_json::Deserializer::from_slice(body))
}

/// Parses a page without decoding its records: each record stays JSON text borrowed from the
/// body, so it is parsed once, straight into the caller's type.
fn parse_borrowed_page<'a>(
    body: &'a [u8],
    status: u16,
    format: &PageFormat,
) -> Result<(Vec<&'a str>, Option<Meta>), Error> {
    let not_json = |e: serde_json::Error| {
        Error::decode(Some(status), format!("the page is not JSON ({e})"), body)
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
                let value = map.next_value::<Value>()?;
                meta = Meta::deserialize(&value).ok();
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
        assert_eq!(records.len(), 2);
        assert_eq!(meta.unwrap().total, Some(9));
        assert_eq!(raw_record_id(records[0]).as_deref(), Some("1"));
        assert_eq!(raw_record_id(records[1]).as_deref(), Some("x"));
        let items = br#"{"items":[{"id":1}],"meta":"not an object"}"#;
        let (records, meta) =
            parse_borrowed_page(items, 200, &PageFormat::records_under("items")).unwrap();
        assert_eq!((records.len(), meta), (1, None));
        for format in [PageFormat::default(), PageFormat::BareArray] {
            let (records, meta) = parse_borrowed_page(b"[{}, {}]", 200, &format).unwrap();
            assert_eq!((records.len(), meta), (2, None));
            assert_eq!(raw_record_id(records[0]), None);
        }
    }

    #[test]
    fn a_page_is_laid_out_in_the_parse_that_checks_it() {
        let body = br#"{"meta":{"total":9},"data":[{"id":1,"s":"\u00e9"}, [2] ,{"id":"x"}]}"#;
        let layout = page_layout(body, &PageFormat::default()).unwrap().unwrap();
        let (records, meta) = layout.records(body).unwrap();
        assert_eq!(
            records,
            [r#"{"id":1,"s":"\u00e9"}"#, "[2]", r#"{"id":"x"}"#]
        );
        assert_eq!(meta.unwrap().total, Some(9));
        let bare = b"[{},{}]";
        let layout = page_layout(bare, &PageFormat::BareArray).unwrap().unwrap();
        assert_eq!(layout.records(bare).unwrap().0, ["{}", "{}"]);
        // Laid over a body it was not read from, a layout gives nothing rather than fewer
        // records.
        assert!(layout.records(b"[{}").is_none());
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
        for body in [&br#"{"items":[]}"#[..], br#"{"data":5}"#, br#""text""#] {
            assert!(matches!(
                page_layout(body, &PageFormat::default()),
                Ok(None)
            ));
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
