//! How a `2xx` body becomes a call's result: the [`Decode`] trait and its two decoders,
//! [`Expect`] (the whole [`Reply`], its body checked) and [`JsonAs`] (the body decoded as a
//! type, that one parse also being the check that the body is JSON).

use std::marker::PhantomData;

use bytes::Bytes;
use serde::de::{DeserializeOwned, IgnoredAny};

use super::call::Reply;
use crate::error::Error;
use crate::page::{NotJson, PageFormat, page_layout};

/// Turns a `2xx` reply into a call's result. A body that is not JSON is an unreadable body (the
/// server may have acted): the request path classifies it, and retries it where the retry
/// policy allows, like a dropped connection.
pub(crate) trait Decode {
    /// What the call hands back.
    type Output;

    /// Whether the body matters: when not, a body that could not be read counts as empty.
    fn needs_body(&self) -> bool {
        true
    }

    /// Reads `reply` (its `page` is `None`).
    fn decode(&self, reply: Reply) -> Decoded<Self::Output>;
}

/// What [`Decode::decode`] made of a body.
pub(crate) enum Decoded<T> {
    /// The call's result: its value, or a final error (JSON that does not fit the type).
    Done(Result<T, Error>),
    /// Not JSON (cut short, garbled): the body, for the error to quote.
    NotJson(Bytes),
}

/// What a `2xx` body must be; the call's result is the whole [`Reply`].
#[derive(Debug, Clone, Copy)]
pub(crate) enum Expect<'a> {
    /// JSON.
    Json,
    /// Anything, even a body that could not be read: the caller does not use it.
    Nothing,
    /// JSON; and when it is a page of records in this format, its layout is kept in
    /// [`Reply::page`], so the page is parsed once for the check and the decode together.
    Page(&'a PageFormat),
}

impl Decode for Expect<'_> {
    type Output = Reply;

    fn needs_body(&self) -> bool {
        !matches!(self, Self::Nothing)
    }

    fn decode(&self, mut reply: Reply) -> Decoded<Reply> {
        let checked = match self {
            Self::Nothing => Ok(()),
            Self::Json => is_json(&reply.body),
            Self::Page(format) => {
                page_layout(&reply.body, format).map(|layout| reply.page = layout)
            }
        };
        match checked {
            Ok(()) => Decoded::Done(Ok(reply)),
            Err(_) => Decoded::NotJson(reply.body),
        }
    }
}

/// A JSON body decoded as `T`; `what` names it in errors.
pub(crate) struct JsonAs<'a, T> {
    what: &'a str,
    /// Whether the body must be a JSON object (a single record).
    object: bool,
    decodes_as: PhantomData<fn() -> T>,
}

impl<'a, T> JsonAs<'a, T> {
    pub(crate) fn new(what: &'a str) -> Self {
        Self {
            what,
            object: false,
            decodes_as: PhantomData,
        }
    }

    /// A single record: the body must be a JSON object, whatever `T` would accept (an array,
    /// `null`, a string or a number is the server's fault, not a record).
    pub(crate) fn record(what: &'a str) -> Self {
        Self {
            object: true,
            ..Self::new(what)
        }
    }
}

impl<T: DeserializeOwned> Decode for JsonAs<'_, T> {
    type Output = T;

    fn decode(&self, reply: Reply) -> Decoded<T> {
        if self.object && first_byte(&reply.body) != Some(b'{') {
            // Valid JSON that starts otherwise is no object; anything else was cut or garbled.
            return match is_json(&reply.body) {
                Err(_) => Decoded::NotJson(reply.body),
                Ok(()) => Decoded::Done(Err(not_an_object(self.what, reply.status, &reply.body))),
            };
        }
        match serde_json::from_slice::<T>(&reply.body) {
            Ok(value) => Decoded::Done(Ok(value)),
            // Ended early: the body was cut short.
            Err(e) if e.is_eof() => Decoded::NotJson(reply.body),
            // Anything else may be valid JSON of another type (serde_json reports some, like a
            // number out of range, as syntax) or a body cut after a type error: a plain JSON
            // check tells them apart.
            Err(e) => match is_json(&reply.body) {
                Err(_) => Decoded::NotJson(reply.body),
                Ok(()) => Decoded::Done(Err(Error::decode(
                    Some(reply.status),
                    format!(
                        "{}: the body does not fit the expected type ({e})",
                        self.what
                    ),
                    &reply.body,
                ))),
            },
        }
    }
}

/// The first byte of `text` that is not JSON whitespace.
pub(crate) fn first_byte(text: &[u8]) -> Option<u8> {
    text.iter()
        .copied()
        .find(|byte| !matches!(byte, b' ' | b'\t' | b'\n' | b'\r'))
}

/// The error of a single record answered with JSON that is not an object (`what` names it).
pub(crate) fn not_an_object(what: &str, status: u16, json: &[u8]) -> Error {
    let kind = match first_byte(json) {
        Some(b'[') => "an array",
        Some(b'"') => "a string",
        Some(b'n') => "null",
        Some(b't' | b'f') => "a boolean",
        _ => "a number",
    };
    Error::decode(
        Some(status),
        format!(
            "{what}: the server answered with {kind} where the contract says a record (a JSON \
             object); this is a fault of the server, not of the request"
        ),
        json,
    )
}

fn is_json(body: &[u8]) -> Result<(), NotJson> {
    serde_json::from_slice::<IgnoredAny>(body)
        .map(|_| ())
        .map_err(|_| NotJson)
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use http::HeaderMap;

    use super::*;

    fn reply(body: &'static [u8]) -> Reply {
        Reply {
            status: 200,
            headers: HeaderMap::new(),
            body: Bytes::from_static(body),
            latency: Duration::ZERO,
            page: None,
        }
    }

    #[test]
    fn a_typed_decode_tells_a_cut_body_from_a_misfit() {
        let ok = JsonAs::<u32>::new("n").decode(reply(b"7"));
        assert!(matches!(ok, Decoded::Done(Ok(7))));
        let cut = JsonAs::<Vec<u32>>::new("n").decode(reply(b"[1, 2"));
        assert!(matches!(cut, Decoded::NotJson(_)));
        let misfit = JsonAs::<u32>::new("the number").decode(reply(br#""seven""#));
        let Decoded::Done(Err(error)) = misfit else {
            panic!("a misfit is a final error");
        };
        assert!(error.to_string().contains("the number"), "{error}");
    }

    #[test]
    fn expectations_check_the_body_and_keep_a_page_layout() {
        assert!(matches!(
            Expect::Json.decode(reply(b"{")),
            Decoded::NotJson(_)
        ));
        assert!(matches!(
            Expect::Nothing.decode(reply(b"{")),
            Decoded::Done(Ok(_))
        ));
        assert!(!Expect::Nothing.needs_body() && Expect::Json.needs_body());
        let format = PageFormat::default();
        let Decoded::Done(Ok(page)) = Expect::Page(&format).decode(reply(br#"{"data":[1,2]}"#))
        else {
            panic!("a page is JSON");
        };
        assert_eq!(page.page.map(|layout| layout.records.len()), Some(2));
    }
}
