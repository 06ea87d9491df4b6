//! `--dry-run`: the requests a submission would make, printed with secrets masked.
//! Look-ups (GET) are sent, so the dry run shows what would really happen (an existing
//! version reused, a new one uploaded); nothing that changes the server is sent, and
//! made-up answers stand in for what it would have created.

use serde_json::{json, Value};

use super::http::{masked, Body, Method, Request, Response, Transport, TransportError};

/// A transport that sends look-ups through `inner` and only prints the rest.
pub struct DryRun {
    inner: Box<dyn Transport>,
    print: Box<dyn Fn(&str)>,
}

/// The id a dry run gives what it would have created.
pub const DRY_RUN_ID: &str = "(dry-run)";

impl DryRun {
    /// Prints, through `print`, the endpoint and the headers every request carries (masked).
    pub fn new(inner: Box<dyn Transport>, headers: &[(String, String)], print: Box<dyn Fn(&str)>) -> Self {
        print(&format!("# dry run: look-ups are sent to {}; nothing else is", inner.endpoint()));
        for (k, v) in masked(headers) {
            print(&format!("# every request carries  {k}: {v}"));
        }
        DryRun { inner, print }
    }
}

impl Transport for DryRun {
    fn send(&self, request: &Request) -> Result<Response, TransportError> {
        if request.method == Method::Get {
            let result = self.inner.send(request);
            let outcome = match &result {
                Ok(r) => r.status.to_string(),
                Err(e) => format!("error: {e}"),
            };
            (self.print)(&format!("{}    -> {outcome} (sent)", request.line()));
            return result;
        }
        (self.print)(&format!("{}    (not sent)", request.line()));
        match &request.body {
            Body::None => {}
            Body::Json(v) => {
                for line in serde_json::to_string_pretty(v).unwrap_or_default().lines() {
                    (self.print)(&format!("    {line}"));
                }
            }
            Body::File { field, filename, content_type, bytes } => {
                use sha2::Digest;
                let digest = sha2::Sha256::digest(bytes);
                (self.print)(&format!(
                    "    multipart/form-data: {field}={filename} ({content_type}, {} bytes, sha256 {})",
                    bytes.len(),
                    digest.iter().map(|b| format!("{b:02x}")).collect::<String>()
                ));
            }
        }
        Ok(Response { status: 200, body: made_up_answer(request).to_string().into_bytes() })
    }

    fn endpoint(&self) -> String {
        self.inner.endpoint()
    }
}

/// What the server would answer a write with, enough for the next request.
fn made_up_answer(request: &Request) -> Value {
    let query = |k: &str| request.query.iter().find(|(q, _)| q == k).map(|(_, v)| v.clone()).unwrap_or_default();
    let body = match &request.body {
        Body::Json(v) => v.clone(),
        _ => json!({}),
    };
    let path = request.path.as_str();
    if path.ends_with("/pipelines/upload_version") {
        json!({"pipeline_id": query("pipelineid"), "pipeline_version_id": DRY_RUN_ID, "name": query("name")})
    } else if path.ends_with("/pipelines") {
        json!({"pipeline_id": DRY_RUN_ID, "name": body["name"]})
    } else if path.ends_with("/experiments") {
        json!({"experiment_id": DRY_RUN_ID, "display_name": body["display_name"]})
    } else if path.ends_with("/runs") {
        json!({"run_id": DRY_RUN_ID, "display_name": body["display_name"], "state": "PENDING"})
    } else {
        json!({})
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::cell::RefCell;
    use std::rc::Rc;

    struct Lookups;
    impl Transport for Lookups {
        fn send(&self, request: &Request) -> Result<Response, TransportError> {
            assert_eq!(request.method, Method::Get, "only look-ups reach the server");
            Ok(Response { status: 404, body: b"{}".to_vec() })
        }
        fn endpoint(&self) -> String {
            "http://kfp".into()
        }
    }

    #[test]
    fn writes_are_printed_not_sent_and_secrets_are_masked() {
        let lines = Rc::new(RefCell::new(Vec::<String>::new()));
        let sink = lines.clone();
        let headers = vec![("Authorization".to_string(), "Bearer s3cr3t-token".to_string())];
        let t = DryRun::new(Box::new(Lookups), &headers, Box::new(move |l| sink.borrow_mut().push(l.to_string())));
        assert_eq!(t.send(&Request::get("/apis/v2beta1/pipelines/names/p")).unwrap().status, 404);
        let r = t.send(&Request::post("/apis/v2beta1/runs", Body::Json(json!({"display_name": "r"})))).unwrap();
        let answer: Value = serde_json::from_slice(&r.body).unwrap();
        assert_eq!(answer["run_id"], DRY_RUN_ID);
        let all = lines.borrow().join("\n");
        assert!(all.contains("Bearer ***") && !all.contains("s3cr3t"), "{all}");
        assert!(all.contains("POST /apis/v2beta1/runs    (not sent)"), "{all}");
        assert!(all.contains("\"display_name\": \"r\""), "{all}");
    }
}
