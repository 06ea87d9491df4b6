//! The HTTP layer under the KFP client: requests as data (so a dry run can print them),
//! transports that send them (directly, or through a Kubernetes API server's service
//! proxy), and retries with jittered backoff for the calls that may be repeated.

use std::fmt::Write as _;
use std::time::Duration;

/// An HTTP method the KFP API uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Method {
    Get,
    Post,
    Delete,
}

impl Method {
    pub fn as_str(self) -> &'static str {
        match self {
            Method::Get => "GET",
            Method::Post => "POST",
            Method::Delete => "DELETE",
        }
    }
}

/// A request body.
#[derive(Debug, Clone, PartialEq)]
pub enum Body {
    None,
    Json(serde_json::Value),
    /// `multipart/form-data` with one file part (KFP's `uploadfile`).
    File {
        field: String,
        filename: String,
        content_type: String,
        bytes: Vec<u8>,
    },
}

/// One request to the KFP API: a path under the API's base (`/apis/v2beta1/runs`), query
/// parameters, a body.
#[derive(Debug, Clone, PartialEq)]
pub struct Request {
    pub method: Method,
    pub path: String,
    pub query: Vec<(String, String)>,
    pub body: Body,
}

impl Request {
    pub fn get(path: impl Into<String>) -> Self {
        Request { method: Method::Get, path: path.into(), query: Vec::new(), body: Body::None }
    }

    pub fn post(path: impl Into<String>, body: Body) -> Self {
        Request { method: Method::Post, path: path.into(), query: Vec::new(), body }
    }

    /// Adds a query parameter (skipped when the value is empty).
    pub fn query(mut self, key: &str, value: impl Into<String>) -> Self {
        let value = value.into();
        if !value.is_empty() {
            self.query.push((key.to_string(), value));
        }
        self
    }

    /// `path?k=v&...`, percent-encoded.
    pub fn path_and_query(&self) -> String {
        let mut out = self.path.clone();
        for (i, (k, v)) in self.query.iter().enumerate() {
            out.push(if i == 0 { '?' } else { '&' });
            let _ = write!(out, "{}={}", encode(k), encode(v));
        }
        out
    }

    /// `POST /apis/v2beta1/runs`, for messages.
    pub fn line(&self) -> String {
        format!("{} {}", self.method.as_str(), self.path_and_query())
    }
}

/// Percent-encodes a query component (RFC 3986 unreserved characters stay).
pub fn encode(s: &str) -> String {
    let mut out = String::new();
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || b"-_.~".contains(&b) {
            out.push(b as char);
        } else {
            let _ = write!(out, "%{b:02X}");
        }
    }
    out
}

/// A response: status and body bytes.
#[derive(Debug, Clone, PartialEq)]
pub struct Response {
    pub status: u16,
    pub body: Vec<u8>,
}

/// Why a request got no response.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum TransportError {
    /// The connection could not be made or broke (the request may or may not have arrived).
    #[error("{0}")]
    Connection(String),
    /// No response in time (the request may have arrived).
    #[error("no response within {0:?}")]
    Timeout(Duration),
    /// The TLS handshake failed (an untrusted or wrong certificate).
    #[error("TLS: {0}")]
    Tls(String),
    /// Anything else (bad URL, proxy configuration).
    #[error("{0}")]
    Other(String),
}

/// Sends requests somewhere.
pub trait Transport {
    fn send(&self, request: &Request) -> Result<Response, TransportError>;
    /// Where requests go, for messages: `https://kubeflow.example.com/pipeline`.
    fn endpoint(&self) -> String;
}

/// How often and how long to retry.
#[derive(Debug, Clone, Copy)]
pub struct RetryPolicy {
    /// Attempts in all (1 = no retry).
    pub attempts: u32,
    /// The first wait; doubled each time, with jitter.
    pub base: Duration,
    pub max: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy { attempts: 4, base: Duration::from_millis(250), max: Duration::from_secs(4) }
    }
}

impl RetryPolicy {
    /// The wait before attempt `attempt` (1 for the first retry): exponential with "full
    /// jitter" (a random wait up to the exponential bound).
    pub fn delay(&self, attempt: u32) -> Duration {
        let bound = self.base.saturating_mul(1 << attempt.min(16)).min(self.max);
        let millis = bound.as_millis() as u64;
        Duration::from_millis(millis / 2 + fastrand::u64(0..=millis / 2))
    }
}

/// Whether a status is worth retrying (the gateway or the server was briefly unavailable).
pub fn retryable_status(status: u16) -> bool {
    matches!(status, 502..=504)
}

/// Settings of a direct HTTP connection.
#[derive(Debug, Clone, Default)]
pub struct DirectSettings {
    /// The API's base URL, without `/apis/v2beta1` (`https://host/pipeline`).
    pub host: String,
    /// Headers on every request (authentication among them).
    pub headers: Vec<(String, String)>,
    /// A PEM bundle of CA certificates to trust instead of the system's.
    pub ca_bundle: Option<Vec<u8>>,
    pub insecure_skip_tls_verify: bool,
    /// The proxy to go through (`http://proxy:3128`), chosen from the environment by
    /// [`super::connection::proxy_for`].
    pub proxy: Option<String>,
    pub connect_timeout: Duration,
    pub request_timeout: Duration,
}

/// Sends requests with ureq (rustls with ring, the system's CA store unless a bundle is
/// given, through the proxy of the settings).
pub struct Direct {
    agent: ureq::Agent,
    settings: DirectSettings,
}

impl Direct {
    pub fn new(settings: DirectSettings) -> Result<Self, TransportError> {
        use ureq::tls::{parse_pem, PemItem, RootCerts, TlsConfig};
        let roots = match &settings.ca_bundle {
            Some(pem) => {
                let mut certs = Vec::new();
                for item in parse_pem(pem) {
                    match item {
                        Ok(PemItem::Certificate(c)) => certs.push(c),
                        Ok(_) => {}
                        Err(e) => return Err(TransportError::Other(format!("cannot read the CA bundle: {e}"))),
                    }
                }
                if certs.is_empty() {
                    return Err(TransportError::Other("the CA bundle holds no certificate".into()));
                }
                RootCerts::new_with_certs(&certs)
            }
            None => RootCerts::PlatformVerifier,
        };
        let proxy = match &settings.proxy {
            Some(url) => Some(ureq::Proxy::new(url).map_err(|e| {
                TransportError::Other(format!("the proxy `{}` is not usable: {e}", redact_userinfo(url)))
            })?),
            None => None,
        };
        let tls =
            TlsConfig::builder().root_certs(roots).disable_verification(settings.insecure_skip_tls_verify).build();
        let agent = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .timeout_connect(Some(settings.connect_timeout))
            .timeout_global(Some(settings.request_timeout))
            .user_agent(format!("nbkf/{}", env!("CARGO_PKG_VERSION")))
            .tls_config(tls)
            .proxy(proxy)
            .build()
            .into();
        Ok(Direct { agent, settings })
    }
}

impl Transport for Direct {
    fn send(&self, request: &Request) -> Result<Response, TransportError> {
        use ureq::unversioned::multipart::{Form, Part};
        let url = format!("{}{}", self.settings.host.trim_end_matches('/'), request.path_and_query());
        let with_headers = |mut b: ureq::RequestBuilder<ureq::typestate::WithBody>| {
            for (k, v) in &self.settings.headers {
                b = b.header(k.as_str(), v.as_str());
            }
            b
        };
        let result = match (&request.method, &request.body) {
            (Method::Get, _) | (Method::Delete, _) => {
                let mut b = match request.method {
                    Method::Get => self.agent.get(&url),
                    _ => self.agent.delete(&url),
                };
                for (k, v) in &self.settings.headers {
                    b = b.header(k.as_str(), v.as_str());
                }
                b.call()
            }
            (Method::Post, Body::None) => with_headers(self.agent.post(&url)).send_empty(),
            (Method::Post, Body::Json(v)) => with_headers(self.agent.post(&url)).send_json(v),
            (Method::Post, Body::File { field, filename, content_type, bytes }) => {
                let part = Part::bytes(bytes)
                    .file_name(filename)
                    .mime_str(content_type)
                    .map_err(|e| TransportError::Other(e.to_string()))?;
                with_headers(self.agent.post(&url)).send(Form::new().part(field, part))
            }
        };
        match result {
            Ok(mut response) => {
                let status = response.status().as_u16();
                let body = response
                    .body_mut()
                    .with_config()
                    .limit(64 * 1024 * 1024)
                    .read_to_vec()
                    .map_err(|e| classify(e, self.settings.request_timeout))?;
                Ok(Response { status, body })
            }
            Err(e) => Err(classify(e, self.settings.request_timeout)),
        }
    }

    fn endpoint(&self) -> String {
        self.settings.host.clone()
    }
}

fn classify(e: ureq::Error, timeout: Duration) -> TransportError {
    match e {
        ureq::Error::Timeout(_) => TransportError::Timeout(timeout),
        // A refused certificate comes as an I/O error around the TLS library's.
        ureq::Error::Io(io) if io.get_ref().is_some_and(|e| e.is::<rustls::Error>()) => {
            TransportError::Tls(io.to_string())
        }
        ureq::Error::Io(io) => TransportError::Connection(io.to_string()),
        ureq::Error::ConnectionFailed | ureq::Error::HostNotFound => TransportError::Connection(e.to_string()),
        ureq::Error::Tls(_) | ureq::Error::Rustls(_) => TransportError::Tls(e.to_string()),
        other => TransportError::Other(other.to_string()),
    }
}

/// A URL with any `user:password@` replaced by `***@`, for messages.
pub fn redact_userinfo(url: &str) -> String {
    match url.split_once("://") {
        Some((scheme, rest)) => {
            let end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
            match rest[..end].rsplit_once('@') {
                Some((_, host)) => format!("{scheme}://***@{host}{}", &rest[end..]),
                None => url.to_string(),
            }
        }
        None => url.to_string(),
    }
}

/// Headers with secrets hidden, for dry runs and messages.
pub fn masked(headers: &[(String, String)]) -> Vec<(String, String)> {
    headers
        .iter()
        .map(|(k, v)| {
            let secret = matches!(k.to_ascii_lowercase().as_str(), "authorization" | "cookie");
            let shown = if secret {
                match v.split_once(' ') {
                    Some((scheme, _)) if k.eq_ignore_ascii_case("authorization") => format!("{scheme} ***"),
                    _ => match v.split_once('=') {
                        Some((name, _)) => format!("{name}=***"),
                        None => "***".into(),
                    },
                }
            } else {
                v.clone()
            };
            (k.clone(), shown)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn queries_are_encoded() {
        let r = Request::get("/apis/v2beta1/pipelines/names/my pipe").query("namespace", "a b&c").query("empty", "");
        assert_eq!(r.path_and_query(), "/apis/v2beta1/pipelines/names/my pipe?namespace=a%20b%26c");
        assert_eq!(encode("{\"k\":1}"), "%7B%22k%22%3A1%7D");
    }

    #[test]
    fn secrets_are_masked() {
        let h = vec![
            ("Authorization".to_string(), "Bearer abc.def".to_string()),
            ("Cookie".to_string(), "authservice_session=s3cr3t".to_string()),
            ("kubeflow-userid".to_string(), "alice@example.com".to_string()),
        ];
        let m = masked(&h);
        assert_eq!(m[0].1, "Bearer ***");
        assert_eq!(m[1].1, "authservice_session=***");
        assert_eq!(m[2].1, "alice@example.com");
    }

    #[test]
    fn proxy_passwords_are_hidden() {
        assert_eq!(redact_userinfo("http://u:p@proxy:3128/x"), "http://***@proxy:3128/x");
        assert_eq!(redact_userinfo("http://proxy:3128"), "http://proxy:3128");
    }

    #[test]
    fn backoff_grows_and_stays_bounded() {
        let p = RetryPolicy::default();
        for attempt in 1..10 {
            let d = p.delay(attempt);
            assert!(d <= p.max, "{d:?}");
            assert!(d >= p.base.saturating_mul(1 << attempt.min(16)).min(p.max) / 2, "{d:?}");
        }
    }
}
