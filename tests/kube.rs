//! Kubernetes: `nbkf apply`, `nbkf kube`, the service-proxy transport, against a real
//! kube-apiserver 1.20 with etcd (tests/common/kube.rs; KFP's CRDs from
//! tests/support/kfp-crds.yaml, without KFP's webhooks), and the `--format k8s` manifests
//! against the strict IR validator. Each test works in a namespace of its own.

mod common;

use std::path::{Path, PathBuf};
use std::process::Output;
use std::time::Duration;

use nbkf::k8s::manifests::same_json;
use nbkf::k8s::proxy::KubeProxy;
use nbkf::submit::http::{Body, Request, Transport, TransportError};
use serde_json::{json, Value};

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

fn stdout(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// A notebook of tagged code cells.
fn notebook(dir: &Path, name: &str, cells: &[(&str, &str)]) -> PathBuf {
    let cells: Vec<Value> = cells
        .iter()
        .enumerate()
        .map(|(i, (step, src))| json!({"cell_type": "code", "id": format!("c{i}"), "metadata": {"tags": [format!("step:{step}")]}, "source": src, "outputs": [], "execution_count": null}))
        .collect();
    let nb = json!({"nbformat": 4, "nbformat_minor": 5, "metadata": {}, "cells": cells});
    let path = dir.join(name);
    std::fs::write(&path, serde_json::to_string_pretty(&nb).unwrap()).unwrap();
    path
}

fn fixture(name: &str) -> PathBuf {
    common::repo().join("fixtures").join(format!("{name}.ipynb"))
}

/// The items of a `kubectl get ... -o json` list.
fn items(list: &Value) -> Vec<Value> {
    list["items"].as_array().cloned().unwrap_or_default()
}

#[test]
fn applying_twice_is_idempotent_and_makes_one_version() {
    let Some(k) = common::kube::kube() else { return };
    let ns = k.namespace("twice");
    let first = common::run(k.nbkf().arg("apply").arg(fixture("steps_and_continuation")).args(["-n", &ns.name]), true);
    let out = stdout(&first);
    assert!(out.contains("pipeline.pipelines.kubeflow.org/steps-and-continuation created (uid "), "{out}");
    assert!(out.contains("pipelineversion.pipelines.kubeflow.org/steps-and-continuation-"), "{out}");
    assert!(stderr(&first).contains(&format!("in namespace `{}`", ns.name)), "{}", stderr(&first));
    let versions = k.get_json(&["pipelineversions", "-n", &ns.name]);
    let uid = items(&versions)[0]["metadata"]["uid"].as_str().unwrap().to_string();
    let pipeline_uid = k.get_json(&["pipeline", "steps-and-continuation", "-n", &ns.name])["metadata"]["uid"].clone();
    assert!(out.contains(pipeline_uid.as_str().unwrap()), "the pipeline's uid is the KFP id: {out}");

    let second = common::run(k.nbkf().arg("apply").arg(fixture("steps_and_continuation")).args(["-n", &ns.name]), true);
    let out = stdout(&second);
    assert!(out.contains("steps-and-continuation unchanged"), "{out}");
    assert!(out.lines().nth(1).unwrap().contains(" unchanged (uid "), "{out}");
    let versions = items(&k.get_json(&["pipelineversions", "-n", &ns.name]));
    assert_eq!(versions.len(), 1, "one version for one content");
    assert_eq!(versions[0]["metadata"]["uid"], uid.as_str());
    assert_eq!(versions[0]["metadata"]["generation"], 1, "the version was never written again");
    let managers: Vec<&str> = versions[0]["metadata"]["managedFields"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["manager"].as_str().unwrap())
        .collect();
    assert_eq!(managers, ["nbkf"], "server-side apply with field manager nbkf");
}

#[test]
fn the_k8s_file_applied_by_kubectl_and_nbkf_apply_agree() {
    let Some(k) = common::kube::kube() else { return };
    let ns = k.namespace("gitops");
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("p.k8s.yaml");
    common::run(
        k.nbkf().arg("convert").arg(fixture("platform_settings")).args(["--format", "k8s", "-q", "-o"]).arg(&file),
        true,
    );
    k.kubectl(&["apply", "--server-side", "-f", file.to_str().unwrap(), "-n", &ns.name]);
    let out = common::run(k.nbkf().arg("apply").arg(fixture("platform_settings")).args(["-n", &ns.name, "-q"]), true);
    let text = stdout(&out);
    assert_eq!(text.matches(" unchanged (uid ").count(), 2, "the same objects, so nothing to do: {text}");
}

#[test]
fn a_changed_notebook_makes_a_second_version_and_keeps_the_first() {
    let Some(k) = common::kube::kube() else { return };
    let ns = k.namespace("changed");
    let dir = tempfile::tempdir().unwrap();
    let nb = notebook(dir.path(), "evolving.ipynb", &[("load", "x = 1"), ("use", "print(x)")]);
    common::run(k.nbkf().arg("apply").arg(&nb).args(["-n", &ns.name, "-q"]), true);
    let first = items(&k.get_json(&["pipelineversions", "-n", &ns.name]));
    assert_eq!(first.len(), 1);
    let nb = notebook(dir.path(), "evolving.ipynb", &[("load", "x = 2"), ("use", "print(x)")]);
    let out = common::run(k.nbkf().arg("apply").arg(&nb).args(["-n", &ns.name, "-q"]), true);
    let text = stdout(&out);
    assert!(text.contains("pipeline.pipelines.kubeflow.org/evolving unchanged"), "{text}");
    assert!(text.lines().nth(1).unwrap().ends_with(")") && text.contains(" created (uid "), "{text}");
    let versions = items(&k.get_json(&["pipelineversions", "-n", &ns.name]));
    assert_eq!(versions.len(), 2, "a new version for new content");
    let old = versions.iter().find(|v| v["metadata"]["name"] == first[0]["metadata"]["name"]).unwrap();
    assert!(same_json(&old["spec"], &first[0]["spec"]), "the first version is left as it was");
    let codes: Vec<String> = versions.iter().map(|v| v["spec"]["pipelineSpec"].to_string()).collect();
    assert!(codes.iter().any(|c| c.contains("x = 1")) && codes.iter().any(|c| c.contains("x = 2")));
}

#[test]
fn the_stored_spec_equals_the_ir() {
    let Some(k) = common::kube::kube() else { return };
    let ns = k.namespace("stored");
    let dir = tempfile::tempdir().unwrap();
    // A pipeline YAML (not a notebook) with a platform document and a description.
    let yaml = common::convert(&fixture("platform_settings"), dir.path(), &["--description", "Platform demo"]);
    let out = common::run(k.nbkf().arg("apply").arg(&yaml).args(["-n", &ns.name]), true);
    assert!(stdout(&out).contains("created"), "{}", stdout(&out));
    let docs: Vec<Value> = serde_saphyr::from_multiple(&std::fs::read_to_string(&yaml).unwrap()).unwrap();
    assert_eq!(docs.len(), 2, "the fixture has a platform document");
    let versions = items(&k.get_json(&["pipelineversions", "-n", &ns.name]));
    assert_eq!(versions.len(), 1);
    let stored = &versions[0];
    assert!(same_json(&stored["spec"]["pipelineSpec"], &docs[0]), "stored pipelineSpec differs from the IR");
    assert!(
        same_json(&stored["spec"]["platformSpec"], &docs[1]),
        "stored platformSpec differs from the platform document"
    );
    assert_eq!(stored["spec"]["pipelineName"], "platform-settings");
    assert_eq!(stored["spec"]["description"], "Platform demo");
    assert_eq!(stored["metadata"]["labels"]["app.kubernetes.io/managed-by"], "nbkf");
    let pipeline = k.get_json(&["pipeline", "platform-settings", "-n", &ns.name]);
    assert_eq!(pipeline["spec"]["description"], "Platform demo");
}

#[test]
fn a_token_without_rights_gets_a_403_naming_the_resource_and_namespace() {
    let Some(k) = common::kube::kube() else { return };
    let ns = k.namespace("forbidden");
    let token = k.service_account_token(&ns.name, "nobody");
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("nobody.kubeconfig");
    k.write_kubeconfig(&config, &token, &[("nobody", Some(&ns.name))]);
    let user = format!("system:serviceaccount:{}:nobody", ns.name);

    // `nbkf apply` as that account: exit 1 and a refusal naming user, resource and namespace.
    let refused = |resource: &str| -> String {
        let out = common::run(
            k.nbkf().arg("apply").arg(fixture("steps_and_continuation")).arg("--kubeconfig").arg(&config),
            false,
        );
        assert_eq!(out.status.code(), Some(1));
        let err = stderr(&out);
        let expected = format!("error: forbidden: `{user}` cannot get {resource} in namespace `{}`", ns.name);
        assert!(err.contains(&expected), "{err}");
        err
    };
    let err = refused("pipelineversions.pipelines.kubeflow.org");
    assert!(
        err.contains("hint: ask for a Role granting `get`, `create` and `patch` on `pipelines` and `pipelineversions`"),
        "{err}"
    );

    // Rights on the versions only: the refusal names the pipelines.
    let role = format!(
        "apiVersion: rbac.authorization.k8s.io/v1\nkind: Role\nmetadata: {{name: versions-only, namespace: {ns}}}\n\
         rules:\n- apiGroups: [pipelines.kubeflow.org]\n  resources: [pipelineversions]\n  verbs: [get, create, patch]\n---\n\
         apiVersion: rbac.authorization.k8s.io/v1\nkind: RoleBinding\nmetadata: {{name: versions-only, namespace: {ns}}}\n\
         roleRef: {{apiGroup: rbac.authorization.k8s.io, kind: Role, name: versions-only}}\n\
         subjects:\n- {{kind: ServiceAccount, name: nobody, namespace: {ns}}}\n",
        ns = ns.name
    );
    k.kubectl_stdin(&["apply", "-f", "-"], &role);
    refused("pipelines.pipelines.kubeflow.org");

    let out = common::run(k.nbkf().args(["kube", "pvcs"]).arg("--kubeconfig").arg(&config), false);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out).contains(&format!("`{user}` cannot list persistentvolumeclaims in namespace `{}`", ns.name)),
        "{}",
        stderr(&out)
    );
}

#[test]
fn kubeconfig_contexts_and_namespaces_are_honoured() {
    let Some(k) = common::kube::kube() else { return };
    let (a, b, c) = (k.namespace("ctx-a"), k.namespace("ctx-b"), k.namespace("ctx-c"));
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("two.kubeconfig");
    k.write_kubeconfig(&config, &k.admin_token, &[("first", Some(&a.name)), ("second", Some(&b.name)), ("bare", None)]);
    let namespace_of = |args: &[&str]| -> Value {
        let out = common::run(k.nbkf().args(["kube", "namespace", "--format", "json"]).args(args), true);
        serde_json::from_slice(&out.stdout).unwrap()
    };
    let cfg = config.to_str().unwrap();
    assert_eq!(
        namespace_of(&["--kubeconfig", cfg]),
        json!({"namespace": a.name, "source": "context", "context": "first", "server": k.server})
    );
    assert_eq!(namespace_of(&["--kubeconfig", cfg, "--context", "second"])["namespace"], b.name.as_str());
    let bare = namespace_of(&["--kubeconfig", cfg, "--context", "bare"]);
    assert_eq!((bare["namespace"].as_str(), bare["source"].as_str()), (Some("default"), Some("default")));
    // KUBECONFIG is honoured like --kubeconfig.
    let out = common::run(k.nbkf().args(["kube", "namespace"]).env("KUBECONFIG", &config), true);
    assert!(stdout(&out).starts_with(&format!("{}  (the namespace of context `first`", a.name)), "{}", stdout(&out));

    let apply = |args: &[&str]| {
        common::run(
            k.nbkf().arg("apply").arg(fixture("steps_and_continuation")).args(["-q", "--kubeconfig", cfg]).args(args),
            true,
        )
    };
    apply(&[]);
    apply(&["--context", "second"]);
    apply(&["--context", "second", "-n", &c.name]);
    for ns in [&a, &b, &c] {
        assert_eq!(items(&k.get_json(&["pipelines", "-n", &ns.name])).len(), 1, "namespace {}", ns.name);
    }

    let missing = format!("nbkf-missing-{}", std::process::id());
    let out =
        common::run(k.nbkf().arg("apply").arg(fixture("steps_and_continuation")).args(["-q", "-n", &missing]), false);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out).contains(&format!("error: namespace `{missing}` does not exist on {}", k.server)),
        "{}",
        stderr(&out)
    );

    let out = common::run(k.nbkf().args(["kube", "namespace", "--kubeconfig", cfg, "--context", "third"]), false);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("no context `third`") && stderr(&out).contains("first, second, bare"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn kube_pvcs_lists_a_claim_the_test_made() {
    let Some(k) = common::kube::kube() else { return };
    let ns = k.namespace("pvcs");
    let empty = common::run(k.nbkf().args(["kube", "pvcs", "-n", &ns.name, "--format", "json"]), true);
    assert_eq!(serde_json::from_slice::<Value>(&empty.stdout).unwrap(), json!({"namespace": ns.name, "pvcs": []}));
    let pvc = format!(
        "apiVersion: v1\nkind: PersistentVolumeClaim\nmetadata: {{name: training-data, namespace: {}}}\n\
         spec:\n  accessModes: [ReadWriteMany, ReadOnlyMany]\n  storageClassName: standard\n  resources: {{requests: {{storage: 5Gi}}}}\n",
        ns.name
    );
    k.kubectl_stdin(&["apply", "-f", "-"], &pvc);
    let out = common::run(k.nbkf().args(["kube", "pvcs", "-n", &ns.name, "--format", "json"]), true);
    let listed: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(listed["namespace"], ns.name.as_str());
    let pvcs = listed["pvcs"].as_array().unwrap();
    assert_eq!(pvcs.len(), 1);
    assert_eq!(pvcs[0]["name"], "training-data");
    assert_eq!(pvcs[0]["access_modes"], json!(["ReadWriteMany", "ReadOnlyMany"]));
    assert_eq!(pvcs[0]["capacity"], "5Gi", "no volume is bound here: the size asked for");
    assert_eq!(pvcs[0]["storage_class"], "standard");
    let text = stdout(&common::run(k.nbkf().args(["kube", "pvcs", "-n", &ns.name]), true));
    let row = text.lines().find(|l| l.contains("training-data")).unwrap_or_else(|| panic!("{text}"));
    assert!(row.contains("ReadWriteMany,ReadOnlyMany") && row.contains("5Gi") && row.contains("standard"), "{text}");
}

#[test]
fn a_cluster_without_the_kfp_crds_is_explained() {
    let Some(k) = common::kube::kube() else { return };
    let out = &k.before_crds;
    assert_eq!(out.status.code(), Some(1), "{}", stderr(out));
    let err = stderr(out);
    assert!(
        err.contains(&format!(
            "error: the cluster at {} has no Kubernetes-native KFP CRDs (pipelines.kubeflow.org/v2beta1)",
            k.server
        )),
        "{err}"
    );
    assert!(err.contains("install KFP with its Kubernetes-native overlay") && err.contains("`nbkf submit`"), "{err}");
}

#[test]
fn a_dry_run_stores_nothing() {
    let Some(k) = common::kube::kube() else { return };
    let ns = k.namespace("dry");
    let out = common::run(
        k.nbkf().arg("apply").arg(fixture("steps_and_continuation")).args(["-n", &ns.name, "--dry-run"]),
        true,
    );
    let text = stdout(&out);
    assert!(text.contains("steps-and-continuation created (server dry run)"), "{text}");
    assert!(text.contains("not checked by the server, as its pipeline does not exist yet"), "{text}");
    assert!(items(&k.get_json(&["pipelines", "-n", &ns.name])).is_empty());
    // With the pipeline there, the server checks the new version too.
    common::run(k.nbkf().arg("apply").arg(fixture("steps_and_continuation")).args(["-n", &ns.name, "-q"]), true);
    let out = common::run(
        k.nbkf().arg("apply").arg(fixture("steps_and_continuation")).args([
            "-n",
            &ns.name,
            "--dry-run",
            "--image",
            "python:3.12",
        ]),
        true,
    );
    let text = stdout(&out);
    assert!(text.lines().nth(1).unwrap().ends_with(" created (server dry run)"), "{text}");
    assert_eq!(items(&k.get_json(&["pipelineversions", "-n", &ns.name])).len(), 1);
}

#[test]
fn an_edited_version_is_never_changed_back() {
    let Some(k) = common::kube::kube() else { return };
    let ns = k.namespace("edited");
    let out = common::run(k.nbkf().arg("apply").arg(fixture("steps_and_continuation")).args(["-n", &ns.name]), true);
    let version = stdout(&out).lines().nth(1).unwrap().split(['/', ' ']).nth(1).unwrap().to_string();
    k.kubectl(&[
        "patch",
        "pipelineversion",
        &version,
        "-n",
        &ns.name,
        "--type=merge",
        "-p",
        r#"{"spec":{"pipelineSpec":{"sdkVersion":"edited"}}}"#,
    ]);
    let out = common::run(k.nbkf().arg("apply").arg(fixture("steps_and_continuation")).args(["-n", &ns.name]), false);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out).contains(&format!(
            "PipelineVersion `{version}` in namespace `{}` already exists with a different spec",
            ns.name
        )),
        "{}",
        stderr(&out)
    );
    let stored = k.get_json(&["pipelineversion", &version, "-n", &ns.name]);
    assert_eq!(stored["spec"]["pipelineSpec"]["sdkVersion"], "edited", "nbkf left it as it was");
}

#[test]
fn fields_another_manager_set_need_force_conflicts() {
    let Some(k) = common::kube::kube() else { return };
    let ns = k.namespace("conflict");
    let nb = fixture("steps_and_continuation");
    common::run(
        k.nbkf().arg("apply").arg(&nb).args(["-n", &ns.name, "-q", "--description", "from the notebook"]),
        true,
    );
    k.kubectl(&[
        "patch",
        "pipeline",
        "steps-and-continuation",
        "-n",
        &ns.name,
        "--type=merge",
        "-p",
        r#"{"spec":{"description":"edited by hand"}}"#,
    ]);
    let out = common::run(
        k.nbkf().arg("apply").arg(&nb).args(["-n", &ns.name, "-q", "--description", "from the notebook"]),
        false,
    );
    assert_eq!(out.status.code(), Some(1));
    let err = stderr(&out);
    assert!(err.contains("conflict applying pipelines.pipelines.kubeflow.org `steps-and-continuation`"), "{err}");
    assert!(err.contains(".spec.description") && err.contains("--force-conflicts"), "{err}");
    let out = common::run(
        k.nbkf().arg("apply").arg(&nb).args([
            "-n",
            &ns.name,
            "-q",
            "--description",
            "from the notebook",
            "--force-conflicts",
        ]),
        true,
    );
    assert!(stdout(&out).contains("steps-and-continuation updated"), "{}", stdout(&out));
    assert_eq!(
        k.get_json(&["pipeline", "steps-and-continuation", "-n", &ns.name])["spec"]["description"],
        "from the notebook"
    );
}

#[test]
fn the_service_proxy_route_of_the_real_server_is_told_from_kfp() {
    let Some(k) = common::kube::kube() else { return };
    let ns = k.namespace("proxy");
    let proxy = KubeProxy::new(Some(&k.kubeconfig), None, &ns.name, Duration::from_secs(20)).unwrap();
    assert_eq!(
        proxy.endpoint(),
        format!(
            "{}/api/v1/namespaces/{}/services/ml-pipeline:http/proxy (via kube context kube-real)",
            k.server, ns.name
        )
    );
    // No KFP service in that namespace: the API server's own 404.
    match proxy.send(&Request::get("/apis/v2beta1/healthz")) {
        Err(TransportError::Other(m)) => {
            assert!(m.contains("refused to proxy") && m.contains("(404)") && m.contains("is KFP installed"), "{m}")
        }
        other => panic!("{other:?}"),
    }
    // A service without ready pods (and its endpoints, empty, as the endpoints controller,
    // not run here, would write them): the API server's 503 stays a response, for retries.
    let service = format!(
        "apiVersion: v1\nkind: Service\nmetadata: {{name: ml-pipeline, namespace: {ns}}}\n\
         spec:\n  ports: [{{name: http, port: 8888}}]\n  selector: {{app: ml-pipeline}}\n---\n\
         apiVersion: v1\nkind: Endpoints\nmetadata: {{name: ml-pipeline, namespace: {ns}}}\n",
        ns = ns.name
    );
    k.kubectl_stdin(&["apply", "-f", "-"], &service);
    let response = proxy.send(&Request::get("/apis/v2beta1/healthz")).unwrap();
    assert_eq!(response.status, 503, "{}", String::from_utf8_lossy(&response.body));
    // A user without `services/proxy`: the API server's 403, named as such.
    let token = k.service_account_token(&ns.name, "viewer");
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("viewer.kubeconfig");
    k.write_kubeconfig(&config, &token, &[("viewer", None)]);
    let proxy = KubeProxy::new(Some(&config), None, &ns.name, Duration::from_secs(20)).unwrap();
    match proxy.send(&Request::get("/apis/v2beta1/healthz")) {
        Err(TransportError::Other(m)) => assert!(m.contains("(403)") && m.contains("services/proxy"), "{m}"),
        other => panic!("{other:?}"),
    }
}

/// A one-connection HTTP stand-in: answers the first request with `answer` (or never, for
/// `None`), and hands the raw request back.
fn stand_in(answer: Option<&'static str>) -> (u16, std::thread::JoinHandle<Vec<u8>>) {
    use std::io::{Read, Write};
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let handle = std::thread::spawn(move || {
        let (mut socket, _) = listener.accept().unwrap();
        let mut request = Vec::new();
        let mut buf = [0u8; 65536];
        // Read the head, then as many body bytes as Content-Length says.
        loop {
            let n = socket.read(&mut buf).unwrap();
            request.extend_from_slice(&buf[..n]);
            let text = String::from_utf8_lossy(&request).to_string();
            if let Some(end) = text.find("\r\n\r\n") {
                let length = text[..end]
                    .lines()
                    .find_map(|l| {
                        l.to_ascii_lowercase()
                            .strip_prefix("content-length: ")
                            .map(|v| v.trim().parse::<usize>().unwrap())
                    })
                    .unwrap_or(0);
                if request.len() >= end + 4 + length {
                    break;
                }
            }
            if n == 0 {
                break;
            }
        }
        match answer {
            Some(body) => {
                let head = format!("HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n", body.len());
                socket.write_all(head.as_bytes()).unwrap();
                socket.write_all(body.as_bytes()).unwrap();
            }
            None => std::thread::sleep(Duration::from_secs(3)),
        }
        request
    });
    (port, handle)
}

fn plain_http_kubeconfig(dir: &Path, port: u16) -> PathBuf {
    let path = dir.join("plain.kubeconfig");
    std::fs::write(
        &path,
        format!(
            "apiVersion: v1\nkind: Config\ncurrent-context: standin\nclusters:\n- name: s\n  cluster: {{server: \"http://127.0.0.1:{port}\"}}\n\
             users:\n- name: u\n  user: {{token: secret-token}}\ncontexts:\n- name: standin\n  context: {{cluster: s, user: u}}\n"
        ),
    )
    .unwrap();
    path
}

#[test]
fn the_proxy_transport_sends_uploads_to_a_plain_http_server() {
    let dir = tempfile::tempdir().unwrap();
    let (port, server) = stand_in(Some(r#"{"pipeline_id":"p1"}"#));
    let config = plain_http_kubeconfig(dir.path(), port);
    let proxy = KubeProxy::new(Some(&config), None, "kubeflow", Duration::from_secs(10)).unwrap();
    assert_eq!(
        proxy.endpoint(),
        format!("http://127.0.0.1:{port}/api/v1/namespaces/kubeflow/services/ml-pipeline:http/proxy (via kube context standin)")
    );
    let request = Request::post(
        "/apis/v2beta1/pipelines/upload",
        Body::File {
            field: "uploadfile".into(),
            filename: "demo.yaml".into(),
            content_type: "application/x-yaml".into(),
            bytes: b"pipelineInfo: {name: demo}\n".to_vec(),
        },
    )
    .query("name", "demo");
    let response = proxy.send(&request).unwrap();
    assert_eq!((response.status, response.body.as_slice()), (200, br#"{"pipeline_id":"p1"}"#.as_slice()));
    let raw = String::from_utf8(server.join().unwrap()).unwrap();
    assert!(
        raw.starts_with("POST /api/v1/namespaces/kubeflow/services/ml-pipeline:http/proxy/apis/v2beta1/pipelines/upload?name=demo HTTP/1.1\r\n"),
        "{raw}"
    );
    let lower = raw.to_ascii_lowercase();
    assert!(lower.contains("authorization: bearer secret-token\r\n"), "the kubeconfig's credentials: {raw}");
    assert!(lower.contains("content-type: multipart/form-data; boundary=nbkf-"), "{raw}");
    assert!(raw.contains("Content-Disposition: form-data; name=\"uploadfile\"; filename=\"demo.yaml\"\r\nContent-Type: application/x-yaml\r\n\r\npipelineInfo: {name: demo}\n\r\n--nbkf-"), "{raw}");
}

#[test]
fn the_proxy_transport_reports_timeouts_and_refused_connections() {
    let dir = tempfile::tempdir().unwrap();
    let (port, server) = stand_in(None);
    let config = plain_http_kubeconfig(dir.path(), port);
    let proxy = KubeProxy::new(Some(&config), None, "kubeflow", Duration::from_millis(500)).unwrap();
    assert_eq!(
        proxy.send(&Request::get("/apis/v2beta1/healthz")),
        Err(TransportError::Timeout(Duration::from_millis(500)))
    );
    server.join().unwrap();
    // Nothing listens there any more.
    let proxy = KubeProxy::new(Some(&config), None, "kubeflow", Duration::from_secs(5)).unwrap();
    match proxy.send(&Request::get("/apis/v2beta1/healthz")) {
        Err(TransportError::Connection(m)) => assert!(m.contains(&format!("127.0.0.1:{port}")), "{m}"),
        other => panic!("{other:?}"),
    }
}

#[test]
fn an_unreachable_server_and_a_missing_kubeconfig_are_explained() {
    let dir = tempfile::tempdir().unwrap();
    let config = plain_http_kubeconfig(dir.path(), 1);
    let out = common::run(common::nbkf().args(["kube", "pvcs", "--kubeconfig"]).arg(&config), false);
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).contains("cannot reach the Kubernetes API server at http://127.0.0.1:1"), "{}", stderr(&out));

    let out = common::run(
        common::nbkf()
            .args(["kube", "namespace"])
            .env_remove("KUBECONFIG")
            .env_remove("KUBERNETES_SERVICE_HOST")
            .env("HOME", dir.path()),
        false,
    );
    assert_eq!(out.status.code(), Some(2));
    let err = stderr(&out);
    assert!(err.contains("no Kubernetes configuration found: looked at --kubeconfig (not given), KUBECONFIG (not set) and ~/.kube/config (no such file)"), "{err}");
    assert!(err.contains("hint: pass --kubeconfig PATH, set KUBECONFIG, or run nbkf in a pod"), "{err}");
}

#[test]
fn help_documents_the_kubernetes_commands() {
    let text = stdout(&common::run(common::nbkf().arg("--help"), true));
    assert!(text.contains("apply") && text.contains("kube"), "{text}");
    let text = stdout(&common::run(common::nbkf().args(["apply", "--help"]), true));
    for flag in
        ["--namespace", "--context", "--kubeconfig", "--dry-run", "--force-conflicts", "--pipeline-name", "--image"]
    {
        assert!(text.contains(flag), "{flag} missing from apply --help:\n{text}");
    }
    assert!(text.contains("Exit codes: 0 success; 1 the notebook has errors or the cluster refused"), "{text}");
    let text = stdout(&common::run(common::nbkf().args(["kube", "pvcs", "--help"]), true));
    assert!(text.contains("\"access_modes\"") && text.contains("--namespace"), "{text}");
    let text = stdout(&common::run(common::nbkf().args(["convert", "--help"]), true));
    assert!(text.contains("--format <FORMAT>") && text.contains("k8s"), "{text}");
}

#[test]
fn usage_problems_of_apply_and_convert_exit_2() {
    let dir = tempfile::tempdir().unwrap();
    let nb = fixture("steps_and_continuation");
    let out = common::run(common::nbkf().arg("convert").arg(&nb).args(["-o", "-", "-n", "team"]), false);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("use it with `--format k8s`"), "{}", stderr(&out));
    let out =
        common::run(common::nbkf().arg("convert").arg(&nb).args(["-o", "-", "--format", "k8s", "-n", "Team_A"]), false);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("invalid namespace `Team_A`"), "{}", stderr(&out));

    let yaml = common::convert(&nb, dir.path(), &[]);
    let out = common::run(common::nbkf().arg("apply").arg(&yaml).args(["--image", "x", "--split", "cells"]), false);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("`--image` changes how a notebook is converted"), "{}", stderr(&out));
    let out = common::run(common::nbkf().arg("apply").arg(&yaml).args(["--experiment", "x"]), false);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("`--experiment` changes how a notebook is converted"), "{}", stderr(&out));

    let manifests = dir.path().join("m.k8s.yaml");
    common::run(common::nbkf().arg("convert").arg(&nb).args(["--format", "k8s", "-o"]).arg(&manifests), true);
    let out = common::run(common::nbkf().arg("apply").arg(&manifests), false);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("holds Kubernetes manifests"), "{}", stderr(&out));
}

#[test]
fn k8s_manifests_pass_the_strict_validator() {
    let dir = tempfile::tempdir().unwrap();
    let mut files = Vec::new();
    for name in ["steps_and_continuation", "platform_settings", "parameters", "metrics", "unicode_step_names"] {
        // Written beside the notebook by default, as `<pipeline>.k8s.yaml`.
        let copy = dir.path().join(format!("{name}.ipynb"));
        std::fs::copy(fixture(name), &copy).unwrap();
        let out =
            common::run(common::nbkf().arg("convert").arg(&copy).args(["--format", "k8s", "-q", "-n", "team-a"]), true);
        assert!(out.stdout.is_empty());
        let target = dir.path().join(format!("{}.k8s.yaml", name.replace('_', "-")));
        let docs: Vec<Value> = serde_saphyr::from_multiple(&std::fs::read_to_string(&target).unwrap()).unwrap();
        assert_eq!((docs[0]["kind"].as_str(), docs[1]["kind"].as_str()), (Some("Pipeline"), Some("PipelineVersion")));
        assert_eq!(docs[1]["metadata"]["namespace"], "team-a");
        files.push(target);
    }
    let out = common::run(
        std::process::Command::new(common::python()).arg(common::shared().join("oracles/validate_ir.py")).args(&files),
        true,
    );
    let text = stdout(&out);
    assert_eq!(
        text.lines()
            .filter(|l| l.starts_with("OK: ") && l.contains("[Kubernetes manifest, PipelineVersion IR]"))
            .count(),
        files.len(),
        "{text}"
    );
}
