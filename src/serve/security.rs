//! Who may use the server, as Jupyter's own server decides it: a token on every request
//! (an `Authorization: token …` or `Bearer …` header, or the cookie set when the page is
//! opened with `?token=…`); the `Host` header must name this server (against DNS
//! rebinding); a browser's `Origin` must be this server or one allowed with
//! `--allow-origin` (CORS is closed otherwise).

use std::sync::Arc;

use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{header, HeaderMap, HeaderValue, Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use super::error::ApiError;
use super::state::AppState;

/// The cookie that carries the token for the page.
pub const COOKIE: &str = "nbkf-token";

/// Who is allowed in.
#[derive(Debug, Clone)]
pub struct Access {
    pub token: String,
    /// Host names (without port) requests may be addressed to.
    pub hosts: Vec<String>,
    /// Browser origins (`https://lab.example.com`) allowed besides this server's own.
    pub origins: Vec<String>,
}

impl Access {
    /// Loopback names, the address bound, and the extra names given.
    pub fn new(token: String, bound_host: &str, extra_hosts: &[String], origins: &[String]) -> Self {
        let mut hosts: Vec<String> = ["localhost", "127.0.0.1", "::1"].iter().map(|h| h.to_string()).collect();
        hosts.push(bound_host.trim_start_matches('[').trim_end_matches(']').to_ascii_lowercase());
        hosts.extend(extra_hosts.iter().map(|h| h.to_ascii_lowercase()));
        hosts.dedup();
        Access { token, hosts, origins: origins.iter().map(|o| o.trim_end_matches('/').to_string()).collect() }
    }
}

/// A new token: 24 random bytes from the operating system, as hex.
pub fn new_token() -> Result<String, String> {
    let mut bytes = [0u8; 24];
    getrandom::fill(&mut bytes).map_err(|e| format!("no random numbers from the system: {e}"))?;
    Ok(bytes.iter().map(|b| format!("{b:02x}")).collect())
}

/// Equal, in a time that does not depend on where they differ.
fn same(a: &str, b: &str) -> bool {
    let (a, b) = (a.as_bytes(), b.as_bytes());
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// The host name of a `Host` header value (`[::1]:8888` → `::1`).
fn host_name(value: &str) -> String {
    let value = value.trim();
    let name = if let Some(rest) = value.strip_prefix('[') {
        rest.split(']').next().unwrap_or_default()
    } else {
        value
            .rsplit_once(':')
            .map_or(value, |(h, port)| if port.chars().all(|c| c.is_ascii_digit()) { h } else { value })
    };
    name.to_ascii_lowercase()
}

/// The token a request carries, if any.
fn presented(headers: &HeaderMap) -> Option<String> {
    if let Some(auth) = headers.get(header::AUTHORIZATION).and_then(|v| v.to_str().ok()) {
        let (scheme, value) = auth.split_once(' ')?;
        if scheme.eq_ignore_ascii_case("token") || scheme.eq_ignore_ascii_case("bearer") {
            return Some(value.trim().to_string());
        }
        return None;
    }
    headers.get_all(header::COOKIE).iter().filter_map(|v| v.to_str().ok()).flat_map(|v| v.split(';')).find_map(|c| {
        let (name, value) = c.trim().split_once('=')?;
        (name == COOKIE).then(|| value.to_string())
    })
}

fn cors(response: &mut Response, origin: &str) {
    let h = response.headers_mut();
    if let Ok(v) = HeaderValue::from_str(origin) {
        h.insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, v);
    }
    h.insert(
        header::ACCESS_CONTROL_ALLOW_HEADERS,
        HeaderValue::from_static("authorization, content-type, last-event-id"),
    );
    h.insert(header::ACCESS_CONTROL_ALLOW_METHODS, HeaderValue::from_static("GET, POST, OPTIONS"));
    h.insert(header::ACCESS_CONTROL_MAX_AGE, HeaderValue::from_static("600"));
    h.append(header::VARY, HeaderValue::from_static("Origin"));
}

fn is_page(path: &str) -> bool {
    !path.starts_with("/api/")
}

fn unauthorized(path: &str, message: &str) -> Response {
    if is_page(path) {
        let body = format!(
            "<!doctype html><meta charset=utf-8><title>nbkf</title><body style=\"font-family:sans-serif;margin:3em\">\
             <h1>nbkf serve: a token is needed</h1><p>{message}</p><p>Open the address <code>nbkf serve</code> printed \
             when it started (it ends with <code>?token=…</code>).</p></body>"
        );
        let mut r = (StatusCode::UNAUTHORIZED, body).into_response();
        r.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static("text/html; charset=utf-8"));
        r
    } else {
        ApiError::new(StatusCode::UNAUTHORIZED, "unauthorized", message)
            .with_hint("send `Authorization: token <TOKEN>` (or `Bearer <TOKEN>`) with the token `nbkf serve` printed")
            .into_response()
    }
}

/// The middleware: host, origin, preflight, the page's login, the token.
pub async fn guard(State(state): State<Arc<AppState>>, request: Request, next: Next) -> Response {
    let access = &state.access;
    let path = request.uri().path().to_string();
    let headers = request.headers();
    let host = headers.get(header::HOST).and_then(|v| v.to_str().ok()).unwrap_or("").to_string();
    if !access.hosts.contains(&host_name(&host)) {
        return ApiError::forbidden(format!("requests to host `{host}` are not served"))
            .with_hint("address the server by the name it was started with, or add the name with `--allow-host`")
            .into_response();
    }
    let origin = headers.get(header::ORIGIN).and_then(|v| v.to_str().ok()).map(str::to_string);
    let foreign = match &origin {
        None => None,
        Some(o) => {
            let same_origin = o.split_once("://").is_some_and(|(_, rest)| rest.eq_ignore_ascii_case(&host));
            if same_origin {
                None
            } else if access.origins.iter().any(|a| a == o) {
                Some(o.clone())
            } else {
                return ApiError::forbidden(format!("requests from the web page at `{o}` are not allowed"))
                    .with_hint("start the server with `--allow-origin ORIGIN` to allow a page elsewhere to call it")
                    .into_response();
            }
        }
    };
    if request.method() == Method::OPTIONS {
        let mut r = StatusCode::NO_CONTENT.into_response();
        if let Some(o) = &foreign {
            cors(&mut r, o);
        }
        return r;
    }
    // The page opened with `?token=…`: remember it in a cookie and drop it from the address.
    if request.method() == Method::GET && is_page(&path) {
        let query_token = request
            .uri()
            .query()
            .and_then(|q| q.split('&').find_map(|kv| kv.strip_prefix("token=")).map(|t| t.to_string()));
        if let Some(t) = query_token {
            if !same(&t, &access.token) {
                return unauthorized(&path, "the token in the address is not this server's");
            }
            let cookie = format!("{COOKIE}={t}; Path=/; HttpOnly; SameSite=Strict");
            return Response::builder()
                .status(StatusCode::SEE_OTHER)
                .header(header::LOCATION, path.as_str())
                .header(header::SET_COOKIE, cookie)
                .body(Body::empty())
                .unwrap_or_else(|_| StatusCode::INTERNAL_SERVER_ERROR.into_response());
        }
    }
    match presented(request.headers()) {
        Some(t) if same(&t, &access.token) => {}
        Some(_) => return unauthorized(&path, "the token is not this server's"),
        None => return unauthorized(&path, "no token was given"),
    }
    let mut response = next.run(request).await;
    if let Some(o) = &foreign {
        cors(&mut response, o);
    }
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn host_names_and_tokens() {
        assert_eq!(host_name("localhost:8888"), "localhost");
        assert_eq!(host_name("[::1]:8888"), "::1");
        assert_eq!(host_name("Example.COM"), "example.com");
        assert!(same("abc", "abc") && !same("abc", "abd") && !same("abc", "ab"));
        let t = new_token().unwrap();
        assert_eq!(t.len(), 48);
        assert_ne!(t, new_token().unwrap());
        let mut h = HeaderMap::new();
        h.insert(header::COOKIE, HeaderValue::from_static("a=1; nbkf-token=xyz"));
        assert_eq!(presented(&h).as_deref(), Some("xyz"));
        h.insert(header::AUTHORIZATION, HeaderValue::from_static("token abc"));
        assert_eq!(presented(&h).as_deref(), Some("abc"));
        h.insert(header::AUTHORIZATION, HeaderValue::from_static("Basic abc"));
        assert_eq!(presented(&h), None);
    }
}
