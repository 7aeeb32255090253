//! The query of a list call: paging, date range, equality filters.

use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;
use url::Url;

/// The query of a list call. Parameters go into the URL with `url`'s form encoding, so a `+`
/// in a timestamp is sent as `%2B`.
///
/// ```
/// use dbsync_client::Query;
/// let query = Query::new()
///     .limit(50)
///     .from("2024-01-01T00:00:00+02:00")
///     .filter("status", "active");
/// assert_eq!(query.get_limit(), Some(50));
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Query {
    limit: Option<u32>,
    offset: Option<u64>,
    from: Option<String>,
    to: Option<String>,
    filters: Vec<(String, String)>,
}

/// A timestamp for [`Query::from`] / [`Query::to`] and [`crate::NewApiKey::expires_at`]: an RFC
/// 3339 string, or a time value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Timestamp(String);

impl Timestamp {
    /// The timestamp as sent (RFC 3339).
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl From<&str> for Timestamp {
    fn from(value: &str) -> Self {
        Self(value.to_owned())
    }
}

impl From<String> for Timestamp {
    fn from(value: String) -> Self {
        Self(value)
    }
}

impl From<OffsetDateTime> for Timestamp {
    fn from(value: OffsetDateTime) -> Self {
        // Formatting fails only for years outside 0..=9999; the server then rejects the value
        // with a clear 400 rather than the client guessing.
        Self(value.format(&Rfc3339).unwrap_or_else(|_| value.to_string()))
    }
}

impl From<std::time::SystemTime> for Timestamp {
    fn from(value: std::time::SystemTime) -> Self {
        Self(dbsync_contract::timestamp::format(value))
    }
}

impl Query {
    /// An empty query (the server's default page size, from the start).
    pub fn new() -> Self {
        Self::default()
    }

    /// The page size, 1..=1000 (the server's default is 100).
    pub fn limit(mut self, limit: u32) -> Self {
        self.limit = Some(limit);
        self
    }

    /// Where to start (0 by default).
    pub fn offset(mut self, offset: u64) -> Self {
        self.offset = Some(offset);
        self
    }

    /// Only records updated at or after this time (RFC 3339, with an offset).
    pub fn from(mut self, from: impl Into<Timestamp>) -> Self {
        self.from = Some(from.into().0);
        self
    }

    /// Only records updated before this time (RFC 3339, with an offset).
    pub fn to(mut self, to: impl Into<Timestamp>) -> Self {
        self.to = Some(to.into().0);
        self
    }

    /// Only records whose top-level `field` equals `value`. Can be repeated. The field must not
    /// be `limit`, `offset`, `from` or `to` (use their own methods); a list refuses such a query.
    pub fn filter(mut self, field: impl Into<String>, value: impl ToString) -> Self {
        self.filters.push((field.into(), value.to_string()));
        self
    }

    /// The old name of [`Self::get_limit`].
    #[deprecated(
        since = "0.2.0",
        note = "use `get_limit`, named after its setter `limit`"
    )]
    pub fn limit_value(&self) -> Option<u32> {
        self.get_limit()
    }

    /// The configured page size.
    pub fn get_limit(&self) -> Option<u32> {
        self.limit
    }

    /// The old name of [`Self::get_offset`].
    #[deprecated(
        since = "0.2.0",
        note = "use `get_offset`, named after its setter `offset`"
    )]
    pub fn offset_value(&self) -> Option<u64> {
        self.get_offset()
    }

    /// The configured offset.
    pub fn get_offset(&self) -> Option<u64> {
        self.offset
    }

    /// The old name of [`Self::get_from`].
    #[deprecated(
        since = "0.2.0",
        note = "use `get_from`, named after its setter `from`"
    )]
    pub fn from_value(&self) -> Option<&str> {
        self.get_from()
    }

    /// The configured `from` timestamp.
    pub fn get_from(&self) -> Option<&str> {
        self.from.as_deref()
    }

    /// The old name of [`Self::get_to`].
    #[deprecated(since = "0.2.0", note = "use `get_to`, named after its setter `to`")]
    pub fn to_value(&self) -> Option<&str> {
        self.get_to()
    }

    /// The configured `to` timestamp.
    pub fn get_to(&self) -> Option<&str> {
        self.to.as_deref()
    }

    /// The query without its paging (`limit`, `offset`) and date range (`from`, `to`).
    pub(crate) fn without_paging_and_range(&self) -> Self {
        Self {
            filters: self.filters.clone(),
            ..Self::default()
        }
    }

    /// Sets or clears the date range.
    pub(crate) fn with_range(mut self, from: Option<String>, to: Option<String>) -> Self {
        self.from = from;
        self.to = to;
        self
    }

    /// A filter whose field name is one of the paging or date parameters, if any (it would be
    /// sent twice).
    pub(crate) fn reserved_filter(&self) -> Option<&str> {
        self.filters
            .iter()
            .map(|(field, _)| field.as_str())
            .find(|field| matches!(*field, "limit" | "offset" | "from" | "to"))
    }

    /// Appends the query's parameters to `url`.
    pub(crate) fn apply(&self, url: &mut Url) {
        let mut pairs = url.query_pairs_mut();
        if let Some(limit) = self.limit {
            pairs.append_pair("limit", &limit.to_string());
        }
        if let Some(offset) = self.offset {
            pairs.append_pair("offset", &offset.to_string());
        }
        if let Some(from) = &self.from {
            pairs.append_pair("from", from);
        }
        if let Some(to) = &self.to {
            pairs.append_pair("to", to);
        }
        for (field, value) in &self.filters {
            pairs.append_pair(field, value);
        }
        drop(pairs);
        if url.query() == Some("") {
            url.set_query(None);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn render(query: &Query) -> String {
        let mut url = Url::parse("https://h/v1/records").unwrap();
        query.apply(&mut url);
        url.to_string()
    }

    #[test]
    fn parameters_are_encoded_with_plus_escaped() {
        let query = Query::new()
            .limit(10)
            .offset(20)
            .from("2024-01-01T00:00:00+02:00")
            .to(time::macros::datetime!(2024-02-01 00:00 UTC))
            .filter("status", "a b&c");
        assert_eq!(
            render(&query),
            "https://h/v1/records?limit=10&offset=20&from=2024-01-01T00%3A00%3A00%2B02%3A00\
             &to=2024-02-01T00%3A00%3A00Z&status=a+b%26c"
        );
        assert_eq!(render(&Query::new()), "https://h/v1/records");
    }
}
