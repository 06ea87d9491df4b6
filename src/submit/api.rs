//! The KFP v2beta1 REST API, for the calls nbkf makes: health, pipelines and their
//! versions, experiments, runs. Idempotent calls are retried on connection errors and
//! 502/503/504; a call that may have succeeded (an upload, a new run) is checked by name
//! before it is made again. Errors say what failed and what to try.

use serde_json::{json, Value};

use super::http::{retryable_status, Body, Method, Request, RetryPolicy, Transport, TransportError};

/// The API's path prefix.
pub const API: &str = "/apis/v2beta1";

/// The server's upload limit (pipeline packages are refused above it).
pub const MAX_UPLOAD: usize = 32 * 1024 * 1024;

/// What went wrong talking to KFP.
#[derive(Debug, thiserror::Error)]
pub enum KfpError {
    /// The server answered with an error.
    #[error("{message}")]
    Http { status: u16, request: String, message: String, hint: Option<String> },
    /// No answer.
    #[error("{request} to {endpoint}: {error}")]
    Transport { request: String, endpoint: String, error: TransportError, hint: Option<String> },
    /// The answer was not what the API promises.
    #[error("{request}: unexpected answer: {detail}")]
    Unexpected { request: String, detail: String },
    /// Refused before sending.
    #[error("{0}")]
    Refused(String),
}

impl KfpError {
    /// What to try, when there is something to say.
    pub fn hint(&self) -> Option<&str> {
        match self {
            KfpError::Http { hint, .. } | KfpError::Transport { hint, .. } => hint.as_deref(),
            _ => None,
        }
    }

    /// The HTTP status, when the server answered.
    pub fn status(&self) -> Option<u16> {
        match self {
            KfpError::Http { status, .. } => Some(*status),
            _ => None,
        }
    }
}

/// A client of one KFP API.
pub struct Kfp {
    transport: Box<dyn Transport>,
    /// The Kubeflow profile namespace (multi-user Kubeflow), if any.
    pub namespace: Option<String>,
    retry: RetryPolicy,
    /// The credential in use, in words (`a bearer token from KF_PIPELINES_TOKEN`), for
    /// the messages of 401 and 403 answers.
    credential: String,
    /// Each request made, in order (`GET /apis/v2beta1/...`), with its status or error.
    pub log: std::cell::RefCell<Vec<String>>,
}

impl Kfp {
    pub fn new(transport: Box<dyn Transport>, namespace: Option<String>, credential: String) -> Self {
        Kfp { transport, namespace, retry: RetryPolicy::default(), credential, log: Default::default() }
    }

    /// Sets how requests are retried.
    pub fn with_retry(mut self, retry: RetryPolicy) -> Self {
        self.retry = retry;
        self
    }

    /// The transport underneath (to wrap it, e.g. in a dry run).
    pub fn into_transport(self) -> Box<dyn Transport> {
        self.transport
    }

    /// Where the API is.
    pub fn endpoint(&self) -> String {
        self.transport.endpoint()
    }

    /// Sends a request; retries it (when `idempotent`) on connection errors, timeouts and
    /// 502/503/504. Returns the JSON answer of a 2xx.
    pub fn call(&self, request: &Request, idempotent: bool) -> Result<Value, KfpError> {
        let attempts = if idempotent { self.retry.attempts.max(1) } else { 1 };
        let mut attempt = 0;
        loop {
            attempt += 1;
            let result = self.transport.send(request);
            let outcome = match &result {
                Ok(r) => r.status.to_string(),
                Err(e) => format!("error: {e}"),
            };
            self.log.borrow_mut().push(format!("{} -> {outcome}", request.line()));
            let again = attempt < attempts
                && match &result {
                    Ok(r) => retryable_status(r.status),
                    Err(TransportError::Connection(_) | TransportError::Timeout(_)) => true,
                    Err(TransportError::Tls(_) | TransportError::Other(_)) => false,
                };
            if again {
                std::thread::sleep(self.retry.delay(attempt));
                continue;
            }
            return match result {
                Ok(r) if (200..300).contains(&r.status) => {
                    if r.body.iter().all(u8::is_ascii_whitespace) {
                        Ok(Value::Null)
                    } else {
                        serde_json::from_slice(&r.body).map_err(|e| KfpError::Unexpected {
                            request: request.line(),
                            detail: format!("not JSON ({e}): {}", preview(&r.body)),
                        })
                    }
                }
                Ok(r) => Err(self.http_error(request, r.status, &r.body)),
                Err(error) => Err(self.transport_error(request, error)),
            };
        }
    }

    fn http_error(&self, request: &Request, status: u16, body: &[u8]) -> KfpError {
        let server = server_message(body);
        // The gRPC code of a `googleRpcStatus` answer: what the KFP server itself meant. An
        // answer without one came from something in front of it (a gateway, a login page).
        let code = serde_json::from_slice::<Value>(body).ok().and_then(|v| v.get("code").and_then(Value::as_u64));
        let endpoint = self.endpoint();
        let line = request.line();
        let in_namespace = self.namespace.as_ref().map(|n| format!(" in namespace `{n}`")).unwrap_or_default();
        let (message, hint) = match (status, code) {
            (401, _) => (
                if self.credential == "no credential" {
                    format!("{line}: 401 Unauthorized: the KFP API at {endpoint} needs a credential and none was given: {server}")
                } else {
                    format!("{line}: 401 Unauthorized: the KFP API at {endpoint} did not accept {}: {server}", self.credential)
                },
                Some("give a token (`--token-file`, `KF_PIPELINES_TOKEN`), the session cookie of your Kubeflow login (`--cookie`), the user where the gateway trusts the `kubeflow-userid` header (`--user-id`), or a profile with them (`nbkf config set-profile`)".to_string()),
            ),
            (403, _) => (
                format!("{line}: 403 Forbidden: {} may not do this{in_namespace}: {server}", self.credential),
                Some("check that the user or service account has access to the Kubeflow profile (namespace) given with `--namespace`".to_string()),
            ),
            // NOT_FOUND from KFP about an object: the host is right, the object is not there.
            // (The server's gateway answers a path it does not serve with NOT_FOUND too, its
            // message then being just "Not Found".)
            (404, Some(5)) if !server.starts_with("Not Found") => {
                (format!("{line}: not found{in_namespace}: {server}"), None)
            }
            (404, _) => (
                format!("{line}: 404 Not Found at {endpoint}: {server}"),
                Some(format!("{endpoint} does not answer as the KFP API: behind the Kubeflow gateway the API is usually at https://<kubeflow-host>/pipeline (with `/apis/v2beta1/...` under it), in the cluster at http://ml-pipeline.kubeflow:8888, or use `--via-kube`")),
            ),
            // ALREADY_EXISTS.
            (409, Some(6) | None) => (format!("{line}: 409 Conflict: {server}"), Some("something of that name exists already".to_string())),
            // ABORTED, FAILED_PRECONDITION: not in this state (retrying a run that did not fail).
            (409 | 400, Some(9 | 10)) => (format!("{line}: the KFP server refused it in the object's current state: {server}"), None),
            (400 | 409 | 422, _) => (format!("{line}: the KFP server refused the request ({status}): {server}"), None),
            _ => (format!("{line}: the KFP server answered {status}: {server}"), None),
        };
        KfpError::Http { status, request: line, message, hint }
    }

    fn transport_error(&self, request: &Request, error: TransportError) -> KfpError {
        let hint = match &error {
            TransportError::Connection(_) => Some("check the host and port (`--host`, `KF_PIPELINES_ENDPOINT` or the profile), and `HTTPS_PROXY`".to_string()),
            TransportError::Timeout(_) => Some("the server is slow or unreachable; try again, or raise `--request-timeout`".to_string()),
            TransportError::Tls(_) => Some("if the server's certificate is signed by your organisation's CA, give the CA with `--ca-cert PEM` (or KF_PIPELINES_CA_CERT, or the profile's ca_cert); for a test installation only, `--insecure-skip-tls-verify`".to_string()),
            TransportError::Other(_) => None,
        };
        KfpError::Transport { request: request.line(), endpoint: self.endpoint(), error, hint }
    }

    fn ns(&self) -> String {
        self.namespace.clone().unwrap_or_default()
    }

    // ----- health -----------------------------------------------------------------------

    /// `GET /healthz`: `{commit_sha, tag_name, multi_user, pipeline_store}`.
    pub fn healthz(&self) -> Result<Value, KfpError> {
        self.call(&Request::get(format!("{API}/healthz")), true)
    }

    /// Whether the server is multi-user Kubeflow while no namespace was given: experiments
    /// and runs then need one (the server would refuse, or a name look-up would find
    /// another profile's pipeline). An unanswered health check (a gateway may block it)
    /// counts as no.
    pub fn needs_namespace(&self) -> bool {
        self.namespace.is_none() && self.healthz().is_ok_and(|h| h["multi_user"] == true)
    }

    // ----- pipelines ----------------------------------------------------------------------

    /// The pipeline of this name, or `None`.
    pub fn pipeline_by_name(&self, name: &str) -> Result<Option<Value>, KfpError> {
        let r =
            Request::get(format!("{API}/pipelines/names/{}", super::http::encode(name))).query("namespace", self.ns());
        match self.call(&r, true) {
            Ok(v) => Ok(Some(v)),
            Err(KfpError::Http { status: 404, .. }) => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// Creates a pipeline without versions.
    pub fn create_pipeline(&self, name: &str, description: Option<&str>) -> Result<Value, KfpError> {
        let mut body = json!({"name": name, "display_name": name});
        if let Some(d) = description {
            body["description"] = json!(d);
        }
        if let Some(n) = &self.namespace {
            body["namespace"] = json!(n);
        }
        let r = Request::post(format!("{API}/pipelines"), Body::Json(body));
        match self.call(&r, false) {
            Err(e) if may_have_arrived(&e) => self.pipeline_by_name(name)?.ok_or(e),
            other => other,
        }
    }

    /// The version of this name of a pipeline, or `None`.
    pub fn version_by_name(&self, pipeline_id: &str, name: &str) -> Result<Option<Value>, KfpError> {
        let r = Request::get(format!("{API}/pipelines/{pipeline_id}/versions"))
            .query("filter", filter_query("name", name))
            .query("page_size", "10");
        let v = self.call(&r, true)?;
        Ok(items(&v, "pipeline_versions").into_iter().find(|p| p["name"] == name))
    }

    /// Uploads a new version of a pipeline.
    pub fn upload_version(
        &self,
        pipeline_id: &str,
        name: &str,
        description: Option<&str>,
        yaml: &[u8],
    ) -> Result<Value, KfpError> {
        if yaml.len() > MAX_UPLOAD {
            return Err(KfpError::Refused(format!(
                "the pipeline is {:.1} MiB, over the 32 MiB the KFP server accepts",
                yaml.len() as f64 / 1048576.0
            )));
        }
        let body = Body::File {
            field: "uploadfile".into(),
            filename: "pipeline.yaml".into(),
            content_type: "application/x-yaml".into(),
            bytes: yaml.to_vec(),
        };
        let r = Request::post(format!("{API}/pipelines/upload_version"), body)
            .query("pipelineid", pipeline_id)
            .query("name", name)
            .query("display_name", name)
            .query("description", description.unwrap_or_default());
        match self.call(&r, false) {
            // The upload may have arrived: look before uploading again.
            Err(e) if may_have_arrived(&e) => match self.version_by_name(pipeline_id, name)? {
                Some(v) => Ok(v),
                None => self.call(&r, false),
            },
            other => other,
        }
    }

    /// Pipelines (one page).
    pub fn list_pipelines(&self, page_size: u32) -> Result<Value, KfpError> {
        let r = Request::get(format!("{API}/pipelines"))
            .query("namespace", self.ns())
            .query("page_size", page_size.to_string());
        self.call(&r, true)
    }

    /// Versions of a pipeline (one page).
    pub fn list_versions(&self, pipeline_id: &str, page_size: u32) -> Result<Value, KfpError> {
        let r = Request::get(format!("{API}/pipelines/{pipeline_id}/versions"))
            .query("page_size", page_size.to_string())
            .query("sort_by", "created_at desc");
        self.call(&r, true)
    }

    // ----- experiments -------------------------------------------------------------------

    /// The experiment of this display name, or `None`.
    pub fn experiment_by_name(&self, name: &str) -> Result<Option<Value>, KfpError> {
        let r = Request::get(format!("{API}/experiments"))
            .query("namespace", self.ns())
            .query("filter", filter_query("display_name", name));
        let v = self.call(&r, true)?;
        Ok(items(&v, "experiments").into_iter().find(|e| e["display_name"] == name))
    }

    /// The experiment of this name, created when there is none.
    pub fn ensure_experiment(&self, name: &str) -> Result<Value, KfpError> {
        if let Some(e) = self.experiment_by_name(name)? {
            return Ok(e);
        }
        let mut body = json!({"display_name": name});
        if let Some(n) = &self.namespace {
            body["namespace"] = json!(n);
        }
        let r = Request::post(format!("{API}/experiments"), Body::Json(body));
        match self.call(&r, false) {
            Err(e) if may_have_arrived(&e) || e.status() == Some(409) => self.experiment_by_name(name)?.ok_or(e),
            other => other,
        }
    }

    /// Experiments (one page).
    pub fn list_experiments(&self, page_size: u32) -> Result<Value, KfpError> {
        let r = Request::get(format!("{API}/experiments"))
            .query("namespace", self.ns())
            .query("page_size", page_size.to_string());
        self.call(&r, true)
    }

    // ----- runs ---------------------------------------------------------------------------

    /// Starts a run of a pipeline version. `display_name` must be unique (nbkf makes it
    /// so): a run that may have been created is found by it before another is created.
    pub fn create_run(
        &self,
        display_name: &str,
        experiment_id: &str,
        pipeline_id: &str,
        version_id: &str,
        parameters: &serde_json::Map<String, Value>,
    ) -> Result<Value, KfpError> {
        let body = json!({
            "display_name": display_name,
            "experiment_id": experiment_id,
            "pipeline_version_reference": {"pipeline_id": pipeline_id, "pipeline_version_id": version_id},
            "runtime_config": {"parameters": parameters},
        });
        let r = Request::post(format!("{API}/runs"), Body::Json(body));
        match self.call(&r, false) {
            Err(e) if may_have_arrived(&e) => match self.run_by_name(experiment_id, display_name)? {
                Some(run) => Ok(run),
                None => self.call(&r, false),
            },
            other => other,
        }
    }

    /// The run of this display name in an experiment, or `None`.
    pub fn run_by_name(&self, experiment_id: &str, name: &str) -> Result<Option<Value>, KfpError> {
        let r = Request::get(format!("{API}/runs"))
            .query("experiment_id", experiment_id)
            .query("filter", filter_query("display_name", name));
        let v = self.call(&r, true)?;
        Ok(items(&v, "runs").into_iter().find(|run| run["display_name"] == name))
    }

    pub fn get_run(&self, run_id: &str) -> Result<Value, KfpError> {
        self.call(&Request::get(format!("{API}/runs/{run_id}")), true)
    }

    /// Runs, newest first (one page), of an experiment or of the namespace.
    pub fn list_runs(&self, experiment_id: Option<&str>, page_size: u32) -> Result<Value, KfpError> {
        let mut r = Request::get(format!("{API}/runs"));
        r = match experiment_id {
            Some(e) => r.query("experiment_id", e),
            None => r.query("namespace", self.ns()),
        };
        self.call(&r.query("page_size", page_size.to_string()).query("sort_by", "created_at desc"), true)
    }

    /// Stops a run (asking twice does no harm).
    pub fn terminate_run(&self, run_id: &str) -> Result<Value, KfpError> {
        self.call(
            &Request {
                method: Method::Post,
                path: format!("{API}/runs/{run_id}:terminate"),
                query: Vec::new(),
                body: Body::None,
            },
            true,
        )
    }

    /// Runs the failed steps of a run again.
    pub fn retry_run(&self, run_id: &str) -> Result<Value, KfpError> {
        self.call(
            &Request {
                method: Method::Post,
                path: format!("{API}/runs/{run_id}:retry"),
                query: Vec::new(),
                body: Body::None,
            },
            false,
        )
    }
}

/// The list of `key` in a list answer (`{"runs": [...], "next_page_token": ...}`).
pub fn items(v: &Value, key: &str) -> Vec<Value> {
    v.get(key).and_then(Value::as_array).cloned().unwrap_or_default()
}

/// Whether a failed call may still have been carried out by the server.
fn may_have_arrived(e: &KfpError) -> bool {
    match e {
        KfpError::Transport { error: TransportError::Connection(_) | TransportError::Timeout(_), .. } => true,
        KfpError::Http { status, .. } => retryable_status(*status),
        _ => false,
    }
}

/// The server's words in an error answer: KFP answers `googleRpcStatus {code, message,
/// details}`, its upload handlers `{error_message, error_details}`; a gateway in front may
/// answer anything (an HTML login page).
fn server_message(body: &[u8]) -> String {
    let Ok(v) = serde_json::from_slice::<Value>(body) else { return preview(body) };
    let text = |key: &str| v.get(key).and_then(Value::as_str).map(str::trim).filter(|m| !m.is_empty());
    match (text("message"), text("error_message"), text("error_details")) {
        (Some(m), _, _) => m.to_string(),
        (None, Some(m), Some(d)) if d != m => format!("{m}: {d}"),
        (None, Some(m), _) => m.to_string(),
        _ => preview(body),
    }
}

/// A list filter (`{"predicates": [...]}`) as the `filter` query value. The KFP server
/// percent-decodes the value once more after the HTTP layer has (`parseAPIFilter`), so it
/// is encoded once here and once more with the rest of the query: names with `+`, `%` or
/// spaces then arrive as they are.
fn filter_query(key: &str, value: &str) -> String {
    let filter = json!({"predicates": [{"key": key, "operation": "EQUALS", "string_value": value}]});
    super::http::encode(&filter.to_string())
}

fn preview(body: &[u8]) -> String {
    let text = String::from_utf8_lossy(body);
    let text = text.trim();
    if text.is_empty() {
        "(no message)".into()
    } else if text.chars().count() > 300 {
        format!("{}…", text.chars().take(300).collect::<String>())
    } else {
        text.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn server_messages_of_every_shape() {
        assert_eq!(
            server_message(br#"{"code":5,"message":"Pipeline x not found","details":[]}"#),
            "Pipeline x not found"
        );
        assert_eq!(
            server_message(
                br#"{"error_message":"Failed to read a pipeline spec file","error_details":"unknown field bogus"}"#
            ),
            "Failed to read a pipeline spec file: unknown field bogus"
        );
        assert_eq!(server_message(b"<html>login</html>"), "<html>login</html>");
        assert_eq!(server_message(b""), "(no message)");
    }

    #[test]
    fn filters_are_encoded_for_the_servers_second_decoding() {
        let q = filter_query("display_name", "a+b 100%");
        assert!(!q.contains('+') && !q.contains(' ') && !q.contains('{'), "{q}");
        // Encoded once more as a query value, then decoded twice by the server: the JSON.
        let twice = super::super::http::encode(&q);
        let once: String = percent_decode(&twice);
        let json: Value = serde_json::from_str(&percent_decode(&once)).unwrap();
        assert_eq!(json["predicates"][0]["string_value"], "a+b 100%");
    }

    fn percent_decode(s: &str) -> String {
        let bytes = s.as_bytes();
        let mut out = Vec::new();
        let mut i = 0;
        while i < bytes.len() {
            if bytes[i] == b'%' {
                out.push(u8::from_str_radix(&s[i + 1..i + 3], 16).unwrap());
                i += 3;
            } else {
                out.push(bytes[i]);
                i += 1;
            }
        }
        String::from_utf8(out).unwrap()
    }
}
