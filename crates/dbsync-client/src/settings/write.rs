//! Writing settings as JSON: literal secrets become references to their standard variables
//! unless asked for.

use serde_json::{Map, Value};

use super::model::{AuthSettings, ConnectionSettings, SecretValue};

impl ConnectionSettings {
    /// The settings as JSON. Without `include_secrets`, a literal secret is written as a
    /// reference to its standard variable (`${DBSYNC_PASSWORD}`, `${DBSYNC_TOKEN}`,
    /// `${DBSYNC_CLIENT_SECRET}`); the names of the fields so replaced are returned too.
    /// `${NAME}` references are always written as they are.
    pub fn to_json(&self, include_secrets: bool) -> (Value, Vec<String>) {
        let mut replaced = Vec::new();
        let mut secret = |field: &str, variable: &str, value: &SecretValue| match value {
            SecretValue::EnvRef(name) => Value::String(format!("${{{name}}}")),
            SecretValue::Literal(secret) if include_secrets => {
                Value::String(secret.expose().to_owned())
            }
            SecretValue::Literal(_) => {
                replaced.push(format!("{field} (written as ${{{variable}}})"));
                Value::String(format!("${{{variable}}}"))
            }
        };
        let mut auth = Map::new();
        auth.insert("type".into(), self.auth.type_name().into());
        match &self.auth {
            AuthSettings::None => {}
            AuthSettings::Basic { username, password } => {
                auth.insert("username".into(), username.clone().into());
                auth.insert(
                    "password".into(),
                    secret("auth.password", "DBSYNC_PASSWORD", password),
                );
            }
            AuthSettings::Bearer { token } => {
                auth.insert("token".into(), secret("auth.token", "DBSYNC_TOKEN", token));
            }
            AuthSettings::OAuth2 {
                token_url,
                client_id,
                client_secret,
                scopes,
            } => {
                if let Some(url) = token_url {
                    auth.insert("token_url".into(), url.clone().into());
                }
                auth.insert("client_id".into(), client_id.clone().into());
                auth.insert(
                    "client_secret".into(),
                    secret("auth.client_secret", "DBSYNC_CLIENT_SECRET", client_secret),
                );
                auth.insert("scopes".into(), scopes.clone().into());
            }
        }
        let mut top = Map::new();
        let mut put = |key: &str, value: Option<Value>| {
            if let Some(value) = value {
                top.insert(key.to_owned(), value);
            }
        };
        put("name", self.name.clone().map(Value::from));
        put("api_url", Some(self.api_url.clone().into()));
        put("auth", Some(Value::Object(auth)));
        put("timeout_secs", self.timeout_secs.map(Value::from));
        put(
            "connect_timeout_secs",
            self.connect_timeout_secs.map(Value::from),
        );
        put(
            "pool_idle_timeout_secs",
            self.pool_idle_timeout_secs.map(Value::from),
        );
        put(
            "retry",
            self.retry.map(|r| {
                let mut m = Map::new();
                let mut field = |k: &str, v: Option<u64>| {
                    if let Some(v) = v {
                        m.insert(k.to_owned(), v.into());
                    }
                };
                field("max_retries", r.max_retries.map(u64::from));
                field("initial_backoff_ms", r.initial_backoff_ms);
                field("max_backoff_ms", r.max_backoff_ms);
                field("max_retry_after_secs", r.max_retry_after_secs);
                field("max_rate_limit_wait_secs", r.max_rate_limit_wait_secs);
                field("call_deadline_secs", r.call_deadline_secs);
                Value::Object(m)
            }),
        );
        put(
            "rate_limit",
            self.rate_limit.map(|r| match r.requests_per_hour {
                Some(per_hour) => serde_json::json!({
                    "requests_per_minute": r.requests_per_minute,
                    "requests_per_hour": per_hour,
                }),
                None => serde_json::json!({"requests_per_minute": r.requests_per_minute}),
            }),
        );
        put(
            "allow_insecure_http",
            self.allow_insecure_http.then_some(Value::Bool(true)),
        );
        put("user_agent", self.user_agent.clone().map(Value::from));
        put(
            "pagination",
            self.pagination.as_ref().map(|p| {
                let mut m = Map::new();
                if let Some(key) = &p.records_key {
                    m.insert("records_key".into(), key.clone().into());
                }
                if p.bare_array {
                    m.insert("bare_array".into(), true.into());
                }
                Value::Object(m)
            }),
        );
        put(
            "validate_resource",
            self.validate_resource.clone().map(Value::from),
        );
        put(
            "max_response_bytes",
            self.max_response_bytes.map(Value::from),
        );
        put(
            "tls",
            self.tls.as_ref().map(|t| {
                let mut m = Map::new();
                for (key, value) in [
                    ("ca_file", &t.ca_file),
                    ("client_cert_file", &t.client_cert_file),
                    ("client_key_file", &t.client_key_file),
                ] {
                    if let Some(value) = value {
                        m.insert(key.into(), value.clone().into());
                    }
                }
                Value::Object(m)
            }),
        );
        put("proxy", self.proxy.clone().map(Value::from));
        put("no_proxy", self.no_proxy.clone().map(Value::from));
        put(
            "proxy_from_env",
            (!self.proxy_from_env).then_some(Value::Bool(false)),
        );
        (Value::Object(top), replaced)
    }
}

impl serde::Serialize for ConnectionSettings {
    /// Writes the settings without literal secrets (as [`ConnectionSettings::to_json`] with
    /// `include_secrets: false`).
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        self.to_json(false).0.serialize(serializer)
    }
}
