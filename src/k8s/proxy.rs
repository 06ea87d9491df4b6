//! The KFP REST API through the Kubernetes API server's service proxy
//! (`/api/v1/namespaces/NS/services/ml-pipeline:http/proxy/...`): no port-forward, and the
//! kubeconfig's authentication, TLS and exec plugins, as kubectl uses them.
//!
//! The API server answers with the KFP server's status codes, except when it refuses the
//! proxying itself: then its answer is a Kubernetes `Status` object, not a KFP error. A
//! 401, 403 or 404 of that kind (bad credentials, no `services/proxy` right, no KFP service
//! in that namespace) becomes [`TransportError::Other`] with a message that says it came
//! from Kubernetes; its 503 (the service has no ready pods) stays a response, so the REST
//! client retries it like any 503.

use std::path::Path;
use std::time::Duration;

use kube::client::Body as KubeBody;

use super::client::{error_chain, is_timeout};
use super::{Connection, K8sError, KubeOptions};
use crate::submit::http::{Body, Method, Request, Response, Transport, TransportError};

/// The KFP API service and its port name, as the KFP manifests install it.
pub const KFP_SERVICE: &str = "ml-pipeline:http";

/// The answers the KFP client reads, at most (64 MiB, as the direct transport).
const MAX_RESPONSE: usize = 64 * 1024 * 1024;

/// A [`Transport`] that sends KFP requests through the API server's service proxy.
pub struct KubeProxy {
    conn: Connection,
    /// `/api/v1/namespaces/kubeflow/services/ml-pipeline:http/proxy`.
    prefix: String,
    kfp_namespace: String,
    timeout: Duration,
    /// Headers added to every request (the `kubeflow-userid`, a session cookie), passed
    /// through the proxy to KFP.
    headers: Vec<(String, String)>,
}

impl KubeProxy {
    /// A proxy transport from the kubeconfig (`kubeconfig`, else `$KUBECONFIG`, else
    /// `~/.kube/config`, else in-cluster) and `context` (else the current one), to the KFP
    /// service of `kfp_namespace` (where KFP is installed, usually `kubeflow`). Each
    /// request, and reading its answer, must finish within `request_timeout`. No request
    /// is made here. Plain-http servers in a kubeconfig work (the tests use one).
    pub fn new(
        kubeconfig: Option<&Path>,
        context: Option<&str>,
        kfp_namespace: &str,
        request_timeout: Duration,
    ) -> Result<Self, K8sError> {
        let options = KubeOptions {
            kubeconfig: kubeconfig.map(Path::to_path_buf),
            context: context.map(str::to_string),
            // Checks the name; the requests go to this namespace's service.
            namespace: Some(kfp_namespace.to_string()),
        };
        let mut cluster = super::ClusterConfig::load(&options)?;
        // The KFP client retries what may be retried (and checks before repeating an
        // upload); kube's own retries would repeat POSTs behind its back.
        cluster.config.default_retry = false;
        cluster.config.connect_timeout = Some(request_timeout.min(Duration::from_secs(30)));
        let conn = Connection::open(cluster, None)?;
        Ok(KubeProxy {
            conn,
            prefix: proxy_prefix(kfp_namespace),
            kfp_namespace: kfp_namespace.to_string(),
            timeout: request_timeout,
            headers: Vec::new(),
        })
    }

    /// Adds headers to every request (the API server passes them on to KFP; its own
    /// `Authorization` is the kubeconfig's).
    pub fn with_headers(mut self, headers: Vec<(String, String)>) -> Self {
        self.headers = headers;
        self
    }

    async fn send_async(&self, request: http::Request<Vec<u8>>) -> Result<Response, TransportError> {
        let response = self.conn.client().send(request.map(KubeBody::from)).await.map_err(|e| self.classify(e))?;
        let status = response.status().as_u16();
        let body = response.into_body().collect_bytes().await.map_err(|e| self.classify(e))?;
        if body.len() > MAX_RESPONSE {
            return Err(TransportError::Other(format!("the answer is larger than {MAX_RESPONSE} bytes")));
        }
        Ok(Response { status, body: body.to_vec() })
    }

    fn classify(&self, error: kube::Error) -> TransportError {
        let text = error_chain(&error);
        match &error {
            kube::Error::Auth(_) => TransportError::Other(format!("Kubernetes credentials: {text}")),
            _ if is_timeout(&error) => TransportError::Timeout(self.timeout),
            _ if text.contains("certificate") || text.to_ascii_lowercase().contains("tls") => TransportError::Tls(text),
            kube::Error::HyperError(_) | kube::Error::Service(_) => {
                TransportError::Connection(format!("the Kubernetes API server {}: {text}", self.conn.cluster.server()))
            }
            _ => TransportError::Other(text),
        }
    }

    /// The message for a refusal of the API server itself.
    fn refusal(&self, status: u16, message: &str) -> TransportError {
        let ns = &self.kfp_namespace;
        let hint = match status {
            401 => format!("the credentials of {} were refused; log in again", self.conn.cluster.context_description()),
            403 => format!(
                "{} needs `get` on `services/proxy` in namespace `{ns}` (check with `kubectl auth can-i get services/proxy -n {ns}`)",
                self.conn.cluster.user_description()
            ),
            _ => format!(
                "is KFP installed in namespace `{ns}`? (`kubectl get service ml-pipeline -n {ns}`; give the namespace KFP runs in)"
            ),
        };
        TransportError::Other(format!(
            "the Kubernetes API server refused to proxy to service {ns}/{KFP_SERVICE} ({status}): {message}; {hint}"
        ))
    }
}

impl Transport for KubeProxy {
    fn send(&self, request: &Request) -> Result<Response, TransportError> {
        let mut http_request = proxy_request(&self.prefix, request, &new_boundary)?;
        for (name, value) in &self.headers {
            let name = http::HeaderName::from_bytes(name.as_bytes())
                .map_err(|e| TransportError::Other(format!("header `{name}`: {e}")))?;
            let value = http::HeaderValue::from_str(value)
                .map_err(|e| TransportError::Other(format!("the value of header `{name}`: {e}")))?;
            http_request.headers_mut().append(name, value);
        }
        let response = self.conn.block_on(async {
            match tokio::time::timeout(self.timeout, self.send_async(http_request)).await {
                Ok(result) => result,
                Err(_) => Err(TransportError::Timeout(self.timeout)),
            }
        })?;
        if matches!(response.status, 401 | 403 | 404) {
            if let Some(message) = kubernetes_status(&response.body) {
                return Err(self.refusal(response.status, &message));
            }
        }
        Ok(response)
    }

    fn endpoint(&self) -> String {
        format!("{}{} (via {})", self.conn.cluster.server(), self.prefix, self.conn.cluster.context_description())
    }
}

/// `/api/v1/namespaces/{namespace}/services/ml-pipeline:http/proxy`.
pub fn proxy_prefix(namespace: &str) -> String {
    format!("/api/v1/namespaces/{namespace}/services/{KFP_SERVICE}/proxy")
}

/// The message of a Kubernetes `Status` object, when `body` is one (an answer of the API
/// server itself rather than of the proxied service).
pub fn kubernetes_status(body: &[u8]) -> Option<String> {
    let v: serde_json::Value = serde_json::from_slice(body).ok()?;
    (v.get("kind")?.as_str()? == "Status" && v.get("apiVersion")?.as_str()? == "v1")
        .then(|| v.get("message").and_then(|m| m.as_str()).unwrap_or_default().to_string())
}

/// Builds the HTTP request for the API server: the proxy prefix before the KFP path, the
/// body encoded (JSON, or `multipart/form-data` with a boundary from `boundary`).
pub fn proxy_request(
    prefix: &str,
    request: &Request,
    boundary: &dyn Fn(&[u8]) -> String,
) -> Result<http::Request<Vec<u8>>, TransportError> {
    let uri = format!("{prefix}{}", encode_path(&request.path_and_query()));
    let method = match request.method {
        Method::Get => http::Method::GET,
        Method::Post => http::Method::POST,
        Method::Delete => http::Method::DELETE,
    };
    let builder = http::Request::builder().method(method).uri(&uri).header(http::header::ACCEPT, "application/json");
    let (builder, body) = match &request.body {
        Body::None => (builder, Vec::new()),
        Body::Json(v) => (builder.header(http::header::CONTENT_TYPE, "application/json"), v.to_string().into_bytes()),
        Body::File { field, filename, content_type, bytes } => {
            let b = boundary(bytes);
            let body = multipart(&b, field, filename, content_type, bytes);
            (builder.header(http::header::CONTENT_TYPE, format!("multipart/form-data; boundary={b}")), body)
        }
    };
    builder.body(body).map_err(|e| TransportError::Other(format!("cannot build the request for {uri}: {e}")))
}

/// A boundary that does not occur in `bytes`.
fn new_boundary(bytes: &[u8]) -> String {
    loop {
        let b: String = std::iter::repeat_with(fastrand::alphanumeric).take(32).collect();
        let b = format!("nbkf-{b}");
        if !bytes.windows(b.len()).any(|w| w == b.as_bytes()) {
            return b;
        }
    }
}

/// A `multipart/form-data` body with one file part (RFC 7578), names quoted as browsers
/// quote them (`"`, CR and LF percent-encoded).
pub fn multipart(boundary: &str, field: &str, filename: &str, content_type: &str, bytes: &[u8]) -> Vec<u8> {
    let quote = |s: &str| s.replace('"', "%22").replace('\r', "%0D").replace('\n', "%0A");
    let mut body = format!(
        "--{boundary}\r\nContent-Disposition: form-data; name=\"{}\"; filename=\"{}\"\r\nContent-Type: {}\r\n\r\n",
        quote(field),
        quote(filename),
        content_type.replace(['\r', '\n'], "")
    )
    .into_bytes();
    body.extend_from_slice(bytes);
    body.extend_from_slice(format!("\r\n--{boundary}--\r\n").as_bytes());
    body
}

/// Percent-encodes what may not appear in a URI path or query (spaces, non-ASCII, ...);
/// what is already encoded stays as it is.
fn encode_path(path_and_query: &str) -> String {
    let mut out = String::new();
    for b in path_and_query.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~!$&'()*+,;=:@/?%".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fixed(_: &[u8]) -> String {
        "BOUNDARY".into()
    }

    #[test]
    fn requests_go_under_the_proxy_prefix() {
        let prefix = proxy_prefix("kubeflow");
        assert_eq!(prefix, "/api/v1/namespaces/kubeflow/services/ml-pipeline:http/proxy");
        let r = Request::get("/apis/v2beta1/pipelines/names/my pipe").query("namespace", "a b");
        let h = proxy_request(&prefix, &r, &fixed).unwrap();
        assert_eq!(h.method(), http::Method::GET);
        assert_eq!(
            h.uri().to_string(),
            "/api/v1/namespaces/kubeflow/services/ml-pipeline:http/proxy/apis/v2beta1/pipelines/names/my%20pipe?namespace=a%20b"
        );
        assert!(h.body().is_empty());
        assert!(h.headers().get("content-type").is_none());

        let r = Request::post("/apis/v2beta1/runs", Body::Json(serde_json::json!({"display_name": "r"})));
        let h = proxy_request(&prefix, &r, &fixed).unwrap();
        assert_eq!(h.headers()["content-type"], "application/json");
        assert_eq!(h.body(), br#"{"display_name":"r"}"#);
    }

    #[test]
    fn files_are_sent_as_one_multipart_part() {
        let r = Request::post(
            "/apis/v2beta1/pipelines/upload",
            Body::File {
                field: "uploadfile".into(),
                filename: "my \"pipe\".yaml".into(),
                content_type: "application/x-yaml".into(),
                bytes: b"a: 1\n".to_vec(),
            },
        )
        .query("name", "demo");
        let h = proxy_request(&proxy_prefix("kubeflow"), &r, &fixed).unwrap();
        assert_eq!(h.method(), http::Method::POST);
        assert!(h.uri().to_string().ends_with("/proxy/apis/v2beta1/pipelines/upload?name=demo"));
        assert_eq!(h.headers()["content-type"], "multipart/form-data; boundary=BOUNDARY");
        let expected =
            "--BOUNDARY\r\nContent-Disposition: form-data; name=\"uploadfile\"; filename=\"my %22pipe%22.yaml\"\r\n\
Content-Type: application/x-yaml\r\n\r\na: 1\n\r\n--BOUNDARY--\r\n";
        assert_eq!(String::from_utf8(h.body().clone()).unwrap(), expected);
    }

    #[test]
    fn boundaries_never_occur_in_the_file() {
        let b = new_boundary(b"anything");
        assert!(b.starts_with("nbkf-") && b.len() == 37, "{b}");
        let file = format!("x{b}y");
        assert_ne!(new_boundary(file.as_bytes()), b);
    }

    #[test]
    fn kubernetes_refusals_are_told_from_kfp_errors() {
        let k8s = br#"{"kind":"Status","apiVersion":"v1","metadata":{},"status":"Failure","message":"services \"ml-pipeline\" not found","reason":"NotFound","code":404}"#;
        assert_eq!(kubernetes_status(k8s).as_deref(), Some("services \"ml-pipeline\" not found"));
        let kfp = br#"{"error":"not found","code":5,"message":"Pipeline not found","details":[]}"#;
        assert_eq!(kubernetes_status(kfp), None);
        assert_eq!(kubernetes_status(b"not json"), None);
    }
}
