#!/usr/bin/env python3
"""Self-test: drive kfp_standin.py with the official kfp.Client (kfp 2.17.3) and raw HTTP.

Run with the test venv's python:  python kfp_standin_selftest.py
Prints one summary line; exit status 0 when every check passes, 1 otherwise (failures on stderr).
With KFP_STANDIN_SELFTEST_SHOW=1 it also prints, on stderr, what kfp.Client sent (filters, run body).
"""

import contextlib
import http.client
import io
import atexit
import json
import os
import signal
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request
import warnings

WORKDIR = tempfile.mkdtemp(prefix="kfp-standin-selftest-")
atexit.register(shutil.rmtree, WORKDIR, ignore_errors=True)
os.environ["HOME"] = WORKDIR  # kfp.Client reads and writes ~/.config/kfp/context.json
warnings.simplefilter("ignore")

import kfp  # noqa: E402
import kfp_server_api  # noqa: E402
from kfp import compiler, dsl  # noqa: E402

STANDIN = os.path.join(os.path.dirname(os.path.abspath(__file__)), "kfp_standin.py")
PROXY_PREFIX = "/api/v1/namespaces/kubeflow/services/ml-pipeline:http/proxy"
API = "/apis/v2beta1"


# --------------------------------------------------------------------------- harness

class Standin:
    """kfp_standin.py as a subprocess, with helpers for its control API."""

    def __init__(self, *args: str):
        self.process = subprocess.Popen([sys.executable, STANDIN, "--port", "0", *args],
                                        stdout=subprocess.PIPE, text=True)
        line = self.process.stdout.readline().strip()
        if not line.startswith("LISTENING http://127.0.0.1:"):
            self.process.kill()
            raise RuntimeError(f"unexpected first line from the stand-in: {line!r}")
        self.url = line.split()[1]

    def control(self, method: str, resource: str, payload=None):
        return http_json(method, f"{self.url}/_standin/{resource}", payload)[1]

    def requests(self, path_part: str = "", method: str | None = None) -> list[dict]:
        return [r for r in self.control("GET", "requests")
                if path_part in r["path"] and method in (None, r["method"])]

    def stop(self) -> int:
        self.process.send_signal(signal.SIGTERM)
        return self.process.wait(timeout=10)


def http_json(method: str, url: str, payload=None, headers: dict | None = None, raw: bytes | None = None):
    """(status, parsed JSON body) of one request; never raises for HTTP error statuses."""
    data = raw if raw is not None else (json.dumps(payload).encode() if payload is not None else None)
    request = urllib.request.Request(url, data=data, method=method,
                                     headers={"Content-Type": "application/json", **(headers or {})})
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, json.loads(response.read() or b"null")
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read() or b"null")


def multipart(path: str, filename: str) -> tuple[bytes, str]:
    boundary = "selftest-boundary"
    with open(path, "rb") as handle:
        content = handle.read()
    body = (f"--{boundary}\r\nContent-Disposition: form-data; name=\"uploadfile\"; filename=\"{filename}\"\r\n"
            f"Content-Type: application/x-yaml\r\n\r\n").encode() + content + f"\r\n--{boundary}--\r\n".encode()
    return body, f"multipart/form-data; boundary={boundary}"


class Checks:
    """Collects named checks; an exception inside a section fails that section and moves on."""

    def __init__(self):
        self.passed, self.failed = 0, []

    def check(self, name: str, condition: bool, detail="") -> None:
        if condition:
            self.passed += 1
        else:
            self.failed.append(f"{name}: {detail}" if detail != "" else name)

    @contextlib.contextmanager
    def section(self, name: str):
        try:
            with contextlib.redirect_stdout(io.StringIO()):  # kfp.Client prints links
                yield
        except Exception as exc:  # noqa: BLE001 - report and continue with the next section
            self.failed.append(f"{name}: unexpected {type(exc).__name__}: {str(exc)[:300]}")

    def api_error(self, name: str, call, status: int) -> kfp_server_api.ApiException | None:
        try:
            call()
        except kfp_server_api.ApiException as exc:
            self.check(name, exc.status == status, f"HTTP {exc.status}: {exc.body}")
            return exc
        self.check(name, False, f"expected HTTP {status}, the call succeeded")
        return None


# --------------------------------------------------------------------------- pipeline

@dsl.component(base_image="python:3.11")
def prepare(scale: float) -> float:
    return scale * 2


@dsl.component(base_image="python:3.11")
def report(value: float, label: str):
    print(label, value)


@dsl.pipeline(name="selftest-pipeline")
def selftest_pipeline(scale: float = 0.5, label: str = "result"):
    first = prepare(scale=scale)
    report(value=first.output, label=label)


def compile_pipeline() -> str:
    path = os.path.join(WORKDIR, "selftest_pipeline.yaml")
    compiler.Compiler().compile(selftest_pipeline, package_path=path)
    return path


def write(name: str, text: str) -> str:
    path = os.path.join(WORKDIR, name)
    with open(path, "w", encoding="utf-8") as handle:
        handle.write(text)
    return path


def wait_for(client: kfp.Client, run_id: str, states: set[str], limit: int = 20):
    run = client.get_run(run_id)
    for _ in range(limit):
        if run.state in states:
            break
        run = client.get_run(run_id)
    return run


# --------------------------------------------------------------------------- scenarios

def single_user(checks: Checks, package: str) -> dict:
    """The main kfp.Client flow against a stand-in without auth; returns observations for the report."""
    observed = {}
    standin = Standin()
    try:
        client = kfp.Client(host=standin.url)
        with checks.section("single-user flow"):
            checks.check("healthz single-user", client.get_kfp_healthz().multi_user is False)
            pipeline = client.upload_pipeline(package, pipeline_name="selftest", description="first upload")
            checks.check("upload_pipeline returns a pipeline",
                         bool(pipeline.pipeline_id) and pipeline.name == "selftest")
            versions = client.list_pipeline_versions(pipeline.pipeline_id)
            checks.check("upload creates the first version", versions.total_size == 1)
            version = client.upload_pipeline_version(package, "v2", pipeline_id=pipeline.pipeline_id)
            spec = version.pipeline_spec
            checks.check("version carries the IR", spec.get("pipelineInfo", {}).get("name") == "selftest-pipeline"
                         and spec.get("schemaVersion") == "2.1.0", spec)
            by_name = client.upload_pipeline_version(package, "v3", pipeline_name="selftest")
            checks.check("upload_pipeline_version by pipeline name", by_name.pipeline_id == pipeline.pipeline_id)
            filter_request = standin.requests(f"{API}/pipelines", "GET")[-1]
            observed["pipelines_filter"] = filter_request["query"].get("filter")
            checks.api_error("duplicate version name is 409", lambda: client.upload_pipeline_version(
                package, "v2", pipeline_id=pipeline.pipeline_id), 409)
            checks.api_error("duplicate pipeline name is 409",
                             lambda: client.upload_pipeline(package, pipeline_name="selftest"), 409)
            checks.check("get_pipeline", client.get_pipeline(pipeline.pipeline_id).display_name == "selftest")
            checks.check("get_pipeline_version",
                         client.get_pipeline_version(pipeline.pipeline_id, version.pipeline_version_id).name == "v2")
            checks.check("list_pipeline_versions", client.list_pipeline_versions(pipeline.pipeline_id).total_size == 3)
            checks.check("list_pipelines", client.list_pipelines().total_size == 1)
            status, by_path = http_json("GET", f"{standin.url}{API}/pipelines/names/selftest")
            checks.check("GET pipelines/names/{name}", status == 200 and by_path["pipeline_id"] == pipeline.pipeline_id)
            status, _ = http_json("GET", f"{standin.url}{API}/pipelines/names/{urllib.parse.quote('no such')}")
            checks.check("GET pipelines/names/{unknown} is 404", status == 404)

            experiment = client.create_experiment("selftest-exp", description="d")
            again = client.create_experiment("selftest-exp")
            checks.check("create_experiment is idempotent by name", again.experiment_id == experiment.experiment_id)
            experiment_lists = standin.requests(f"{API}/experiments", "GET")
            checks.check("create_experiment first lists with a display_name filter",
                         bool(experiment_lists) and "display_name" in experiment_lists[0]["query"].get("filter", ""))
            observed["experiments_filter"] = experiment_lists[0]["query"].get("filter")
            checks.check("experiment fields", experiment.storage_state == "AVAILABLE" and experiment.created_at)

            run = client.run_pipeline(experiment_id=experiment.experiment_id, job_name="run-1",
                                      version_id=version.pipeline_version_id, pipeline_id=pipeline.pipeline_id,
                                      params={"scale": 0.9})
            observed["create_run_body"] = standin.requests(f"{API}/runs", "POST")[-1]["body"]
            checks.check("run created PENDING", run.state == "PENDING" and run.storage_state == "AVAILABLE")
            states = [client.get_run(run.run_id).state for _ in range(3)]
            checks.check("run advances on each GET", states == ["RUNNING", "RUNNING", "SUCCEEDED"], states)
            done = client.get_run(run.run_id)
            tasks = {t.display_name: t for t in done.run_details.task_details}
            checks.check("one task detail per IR task", set(tasks) == {"prepare", "report"}, set(tasks))
            checks.check("tasks succeeded in dependency order", all(t.state == "SUCCEEDED" for t in tasks.values())
                         and tasks["prepare"].end_time <= tasks["report"].start_time)
            checks.check("state history", [s.state for s in done.state_history] == ["PENDING", "RUNNING", "SUCCEEDED"])
            checks.check("runtime config echoed", done.runtime_config.parameters == {"scale": 0.9})
            checks.check("wait_for_run_completion", client.wait_for_run_completion(run.run_id, 5).state == "SUCCEEDED")

            latest = client._run_api.run_service_create_run(run=kfp_server_api.V2beta1Run(
                display_name="run-latest", experiment_id=experiment.experiment_id,
                pipeline_version_reference=kfp_server_api.V2beta1PipelineVersionReference(
                    pipeline_id=pipeline.pipeline_id)))
            checks.check("run without version id uses the latest version",
                         latest.pipeline_version_reference.pipeline_version_id == by_name.pipeline_version_id)
            inline = client.run_pipeline(experiment_id=experiment.experiment_id, job_name="run-inline",
                                         pipeline_package_path=package, params={"label": "x"})
            checks.check("run from an inline pipeline_spec", inline.pipeline_spec["pipelineInfo"]["name"]
                         == "selftest-pipeline")
            checks.api_error("unknown run parameter is 400", lambda: client.run_pipeline(
                experiment_id=experiment.experiment_id, job_name="bad", version_id=version.pipeline_version_id,
                pipeline_id=pipeline.pipeline_id, params={"nope": 1}), 400)
            exc = checks.api_error("wrongly typed run parameter is 400", lambda: client.run_pipeline(
                experiment_id=experiment.experiment_id, job_name="bad", version_id=version.pipeline_version_id,
                pipeline_id=pipeline.pipeline_id, params={"scale": "high"}), 400)
            checks.check("parameter error names the parameter", exc is not None and "scale" in exc.body)
            checks.api_error("unknown pipeline version is 500 INTERNAL (as the server)", lambda: client.run_pipeline(
                experiment_id=experiment.experiment_id, job_name="bad", version_id="nope",
                pipeline_id=pipeline.pipeline_id), 500)
            checks.api_error("unknown experiment is 404", lambda: client.run_pipeline(
                experiment_id="nope", job_name="bad", version_id=version.pipeline_version_id,
                pipeline_id=pipeline.pipeline_id), 404)

            cancelled = client.run_pipeline(experiment.experiment_id, "run-cancel",
                                            version_id=version.pipeline_version_id, pipeline_id=pipeline.pipeline_id)
            client.get_run(cancelled.run_id)
            checks.check("terminate returns {}", client.terminate_run(cancelled.run_id) == {})
            standin.control("POST", "behaviour", {"gets_per_state": 2})
            checks.check("terminate: CANCELING", client.get_run(cancelled.run_id).state == "CANCELING")
            checks.check("terminate: then CANCELED", client.get_run(cancelled.run_id).state == "CANCELED")
            standin.control("POST", "behaviour", {"gets_per_state": 1})
            checks.api_error("terminate of a finished run is 400", lambda: client.terminate_run(cancelled.run_id), 400)
            checks.api_error("retry of a succeeded run is 409", lambda: client._run_api.run_service_retry_run(
                run.run_id), 409)
            client._run_api.run_service_retry_run(cancelled.run_id)
            checks.check("retry of a canceled run succeeds",
                         wait_for(client, cancelled.run_id, {"SUCCEEDED", "FAILED"}).state == "SUCCEEDED")

            early = client.run_pipeline(experiment.experiment_id, "run-cancel-early",
                                        version_id=version.pipeline_version_id, pipeline_id=pipeline.pipeline_id)
            client.terminate_run(early.run_id)
            checks.check("terminate while PENDING", client.get_run(early.run_id).state == "CANCELED")
            client._run_api.run_service_retry_run(early.run_id)
            early_done = wait_for(client, early.run_id, {"SUCCEEDED", "FAILED"})
            checks.check("retry of a run cancelled before it started runs its tasks", early_done.state == "SUCCEEDED"
                         and len(early_done.run_details.task_details) == 2)

            standin.control("POST", "behaviour", {"fail_task": "report", "fail_message": "boom"})
            failing = client.run_pipeline(experiment.experiment_id, "run-fail", version_id=version.pipeline_version_id,
                                          pipeline_id=pipeline.pipeline_id)
            failed = wait_for(client, failing.run_id, {"SUCCEEDED", "FAILED"})
            failed_tasks = {t.display_name: t for t in failed.run_details.task_details}
            checks.check("fail_task fails the run", failed.state == "FAILED" and failed.error.message.endswith("boom"))
            checks.check("failed task carries its error", failed_tasks["report"].state == "FAILED"
                         and failed_tasks["report"].error.message == "boom"
                         and failed_tasks["prepare"].state == "SUCCEEDED")
            checks.check("finished_at set on failure", failed.finished_at.year > 1970)
            client._run_api.run_service_retry_run(failing.run_id)
            retried = wait_for(client, failing.run_id, {"SUCCEEDED", "FAILED"})
            checks.check("retry re-runs the failed task and succeeds", retried.state == "SUCCEEDED" and all(
                t.state == "SUCCEEDED" for t in retried.run_details.task_details))
            standin.control("POST", "behaviour", {"fail_task": None})

            runs = client.list_runs(experiment_id=experiment.experiment_id, page_size=2, sort_by="created_at desc")
            checks.check("list_runs pages", len(runs.runs) == 2 and runs.total_size == 6 and runs.next_page_token)
            rest = client.list_runs(experiment_id=experiment.experiment_id, page_token=runs.next_page_token,
                                    page_size=10)
            checks.check("list_runs next page", len(rest.runs) == 4, len(rest.runs or []))
            checks.check("list_runs sort desc", runs.runs[0].display_name == "run-fail")
            default_runs = client.list_runs()
            checks.check("list_runs without experiment (single-user)", default_runs.total_size == 6)
            experiments = client.list_experiments()
            checks.check("list_experiments", experiments.total_size == 1
                         and experiments.experiments[0].last_run_created_at.year > 1970)

            rust_filter = json.dumps({"predicates": [{"key": "display_name", "operation": "EQUALS",
                                                      "string_value": "selftest-exp"}]})
            status, body = http_json("GET", f"{standin.url}{API}/experiments?filter={urllib.parse.quote(rust_filter)}")
            checks.check("enum-name + snake_case filter accepted", status == 200 and body.get("total_size") == 1, body)
            substring = json.dumps({"predicates": [{"key": "name", "operation": "IS_SUBSTRING", "stringValue": "-ex"}]})
            status, body = http_json("GET", f"{standin.url}{API}/experiments?filter={urllib.parse.quote(substring)}")
            checks.check("IS_SUBSTRING filter", status == 200 and body.get("total_size") == 1, body)
            miss = json.dumps({"predicates": [{"key": "display_name", "operation": 1, "stringValue": "none"}]})
            status, body = http_json("GET", f"{standin.url}{API}/experiments?filter={urllib.parse.quote(miss)}")
            checks.check("no match is an empty object", status == 200 and body == {}, body)
            bad = json.dumps({"predicates": [{"key": "display_name", "op": "EQUALS"}]})
            status, body = http_json("GET", f"{standin.url}{API}/experiments?filter={urllib.parse.quote(bad)}")
            checks.check("bad filter is 400", status == 400 and "unknown field" in body["message"], body)
            status, body = http_json("GET", f"{standin.url}{API}/runs?sort_by=colour")
            checks.check("bad sort_by is 400", status == 400 and "Invalid sorting field" in body["message"], body)

        with checks.section("body validation"):
            status, body = http_json("POST", f"{standin.url}{API}/runs", {"display_name": "x", "colour": "red"})
            checks.check("unknown field rejected", status == 400 and body["code"] == 3
                         and 'unknown field "colour"' in body["message"], body)
            status, body = http_json("POST", f"{standin.url}{API}/experiments", {"display_name": 5})
            checks.check("wrong JSON type rejected", status == 400 and "displayName" in body["message"], body)
            status, body = http_json("POST", f"{standin.url}{API}/runs", {"display_name": "x", "run_id": "mine"})
            checks.check("output-only field rejected", status == 400 and "run_id" in body["message"], body)
            status, body = http_json("POST", f"{standin.url}{API}/runs", {
                "display_name": "x", "pipeline_version_reference": {"pipeline_id": "p", "bogus": 1}})
            checks.check("nested unknown field rejected", status == 400 and '"bogus"' in body["message"], body)
            status, body = http_json("POST", f"{standin.url}{API}/runs", {"display_name": "x", "plugins_output": {}})
            checks.check("plugins_output is 409 ABORTED", status == 409 and body["code"] == 10, body)
            status, body = http_json("POST", f"{standin.url}{API}/experiments", {"displayName": "camel-exp"})
            checks.check("protojson JSON names accepted", status == 200 and body["display_name"] == "camel-exp", body)
            status, body = http_json("POST", f"{standin.url}{API}/experiments", {"display_name": "selftest-exp"})
            checks.check("duplicate experiment is 409", status == 409 and body["code"] == 6, body)
            status, body = http_json("POST", f"{standin.url}{API}/runs", raw=b"{not json")
            checks.check("malformed JSON is 400", status == 400, body)
            status, body = http_json("DELETE", f"{standin.url}{API}/runs/x")
            checks.check("real but unemulated route is 501", status == 501 and body["code"] == 12, body)
            status, body = http_json("GET", f"{standin.url}{API}/nothing")
            checks.check("unknown route is 404", status == 404 and body["code"] == 5, body)

        with checks.section("upload validation"):
            def upload(text: str, filename: str = "p.yaml", query: str = "name=bad-upload"):
                body, content_type = multipart(write(filename, text), filename)
                return http_json("POST", f"{standin.url}{API}/pipelines/upload?{query}", raw=body,
                                 headers={"Content-Type": content_type})
            with open(package, encoding="utf-8") as handle:
                good = handle.read()
            status, body = upload(good.replace("schemaVersion: 2.1.0", "schemaVersion: 2.0.0"))
            checks.check("schemaVersion 2.0.0 refused",
                         status == 400 and "schema version 2.1.0" in body["error_message"], body)
            status, body = upload(good.replace("dependentTasks:", "dependantTasks:"))
            checks.check("unknown IR field refused", status == 400
                         and body["error_message"] == "unknown template format"
                         and "dependantTasks" in body["error_details"], body)
            status, body = upload(good.replace("name: selftest-pipeline", "name: Selftest_Pipeline"))
            checks.check("IR name pattern enforced", status == 400 and "lowercase" in body["error_message"], body)
            status, body = upload(good + "\n---\nplatforms:\n  kubernetes:\n    deploymentSpec: {}\n", "k8s.yaml",
                                  "name=with-platform")
            checks.check("platform spec upload", status == 200, body)
            versions = http_json("GET", f"{standin.url}{API}/pipelines/{body.get('pipeline_id')}/versions")[1]
            wrapped = versions["pipeline_versions"][0]["pipeline_spec"]
            checks.check("platform spec wrapped as {pipeline_spec, platform_spec}",
                         set(wrapped) == {"pipeline_spec", "platform_spec"}, list(wrapped))
            status, body = upload("x" * ((32 << 20) + 1), "huge.yaml")
            checks.check("over 32 MiB refused", status == 400 and "too large" in body["error_details"],
                         body["error_message"])
            status, body = http_json("POST", f"{standin.url}{API}/pipelines/upload_version?pipelineid=nope",
                                     raw=multipart(package, "p.yaml")[0],
                                     headers={"Content-Type": multipart(package, "p.yaml")[1]})
            checks.check("upload_version to unknown pipeline is 400", status == 400, body)
            last = standin.requests("/pipelines/upload_version")[-1]
            part = last["multipart"][0]
            checks.check("multipart recorded", part["field_name"] == "uploadfile" and part["filename"] == "p.yaml"
                         and part["size"] == os.path.getsize(package) and len(part["sha256"]) == 64, part)

        with checks.section("faults"):
            standin.control("POST", "faults", [{"method": "GET", "path": f"^{API}/experiments$", "kind": "status",
                                                "status": 503}])
            checks.api_error("status fault answers 503", lambda: client.list_experiments(), 503)
            checks.check("status fault consumed", client.list_experiments().total_size == 2)
            standin.control("POST", "faults", [{"path": "/healthz", "kind": "drop"}])
            connection = http.client.HTTPConnection(standin.url.removeprefix("http://"), timeout=5)
            try:
                connection.request("GET", f"{API}/healthz")
                connection.getresponse()
                dropped = False
            except (http.client.RemoteDisconnected, ConnectionError):
                dropped = True
            checks.check("drop closes without a response", dropped)
            checks.check("drop recorded", standin.requests("/healthz")[-1].get("fault") == "drop")
            standin.control("POST", "faults", [{"method": "POST", "path": f"^{API}/runs$", "kind": "drop_after"}])
            before = len(standin.control("GET", "state")["runs"])
            try:
                client.run_pipeline(experiment.experiment_id, "lost-reply", version_id=version.pipeline_version_id,
                                    pipeline_id=pipeline.pipeline_id)
                lost = False
            except Exception:  # noqa: BLE001 - urllib3 surfaces the dropped reply as a protocol error
                lost = True
            observed["drop_after_client_raised"] = lost
            state = standin.control("GET", "state")
            checks.check("drop_after: client saw no reply", lost)
            checks.check("drop_after: the run was created anyway", len(state["runs"]) == before + 1
                         and state["runs"][-1]["display_name"] == "lost-reply")
            standin.control("POST", "faults", [{"path": "/healthz", "kind": "slow", "seconds": 1.2}])
            started = time.monotonic()
            client.get_kfp_healthz()
            checks.check("slow fault delays", time.monotonic() - started >= 1.2)
            standin.control("POST", "faults", [{"path": "/nothing", "kind": "drop", "times": 3}])
            checks.check("faults listed", standin.control("GET", "faults")[0]["times"] == 3)
            standin.control("DELETE", "faults")
            checks.check("faults cleared", standin.control("GET", "faults") == [])
            standin.control("DELETE", "requests")
            checks.check("requests cleared", standin.control("GET", "requests") == [])
    finally:
        checks.check("single-user stand-in exits 0 on SIGTERM", standin.stop() == 0)
    return observed


def through_prefix(checks: Checks, package: str) -> None:
    standin = Standin("--prefix", PROXY_PREFIX)
    try:
        with checks.section("prefix"):
            client = kfp.Client(host=standin.url + PROXY_PREFIX)
            checks.check("healthz through the proxy prefix", client.get_kfp_healthz().pipeline_store == "database")
            pipeline = client.upload_pipeline(package, pipeline_name="proxied")
            checks.check("upload through the proxy prefix", client.list_pipelines().total_size == 1
                         and client.get_pipeline(pipeline.pipeline_id).name == "proxied")
            status, _ = http_json("GET", f"{standin.url}{API}/healthz")
            checks.check("no prefix is 404", status == 404)
            records = standin.requests("/healthz")
            checks.check("records strip the prefix", records[0]["path"] == f"{API}/healthz"
                         and records[0]["prefix_matched"] and not records[-1]["prefix_matched"], records)
    finally:
        checks.check("prefix stand-in exits 0", standin.stop() == 0)


def multi_user(checks: Checks, package: str) -> None:
    standin = Standin("--multi-user", "--token", "s3cret", "--userid-header", "kubeflow-userid",
                      "--require-namespace-for-pipelines")
    try:
        with checks.section("multi-user"):
            client = kfp.Client(host=standin.url, existing_token="s3cret", namespace="team-a")
            checks.check("healthz multi-user", client.get_kfp_healthz().multi_user is True)
            experiment = client.create_experiment("mu-exp", namespace="team-a")
            checks.check("experiment namespaced", experiment.namespace == "team-a")
            pipeline = client.upload_pipeline(package, pipeline_name="mu-pipe", namespace="team-a")
            version = client.list_pipeline_versions(pipeline.pipeline_id).pipeline_versions[0]
            run = client.run_pipeline(experiment.experiment_id, "mu-run", version_id=version.pipeline_version_id,
                                      pipeline_id=pipeline.pipeline_id)
            checks.check("run in multi-user mode", run.state == "PENDING")
            checks.check("list_runs by namespace", client.list_runs(namespace="team-a").total_size == 1)
            checks.check("list_pipelines by namespace", client.list_pipelines(namespace="team-a").total_size == 1)
            sent = standin.requests(f"{API}/experiments", "POST")[-1]
            checks.check("bearer token sent by kfp.Client", sent["headers"].get("authorization") == "Bearer s3cret")
            status, body = http_json("GET", f"{standin.url}{API}/experiments?namespace=team-a")
            checks.check("no credentials is 401", status == 401 and body["code"] == 16, body)
            status, _ = http_json("GET", f"{standin.url}{API}/experiments?namespace=team-a",
                                  headers={"Authorization": "Bearer wrong"})
            checks.check("wrong token is 401", status == 401)
            status, body = http_json("GET", f"{standin.url}{API}/experiments?namespace=team-a",
                                     headers={"kubeflow-userid": "alice@example.com"})
            checks.check("userid header passes", status == 200 and body["total_size"] == 1, body)
            status, body = http_json("GET", f"{standin.url}{API}/experiments", headers={"kubeflow-userid": "alice"})
            checks.check("experiments list needs a namespace", status == 400 and "namespace" in body["message"], body)
            status, body = http_json("GET", f"{standin.url}{API}/runs", headers={"kubeflow-userid": "alice"})
            checks.check("runs list needs a namespace or experiment", status == 400, body)
            status, body = http_json("POST", f"{standin.url}{API}/experiments", {"display_name": "no-ns"},
                                     headers={"kubeflow-userid": "alice"})
            checks.check("experiment create needs a namespace", status == 400, body)
            status, body = http_json("POST", f"{standin.url}{API}/experiments",
                                     {"display_name": "owned", "namespace": "team-a"},
                                     headers={"kubeflow-userid": "alice"})
            owners = {e["display_name"]: e.get("_owner") for e in standin.control("GET", "state")["experiments"]}
            checks.check("userid recorded", owners.get("owned") == "alice", owners)
            status, body = http_json("GET", f"{standin.url}{API}/pipelines", headers={"kubeflow-userid": "alice"})
            checks.check("REQUIRE_NAMESPACE_FOR_PIPELINES: list needs a namespace", status == 400
                         and body["details"][0]["message"] == "Namespace is required for pipeline operations", body)
            upload_body, content_type = multipart(package, "p.yaml")
            request = urllib.request.Request(f"{standin.url}{API}/pipelines/upload?name=shared", data=upload_body,
                                             headers={"Content-Type": content_type, "kubeflow-userid": "alice"})
            try:
                urllib.request.urlopen(request, timeout=10)
                checks.check("REQUIRE_NAMESPACE_FOR_PIPELINES: upload needs a namespace", False, "accepted")
            except urllib.error.HTTPError as error:
                checks.check("REQUIRE_NAMESPACE_FOR_PIPELINES: upload answers text/plain 400", error.code == 400
                             and error.headers["Content-Type"].startswith("text/plain"))
    finally:
        checks.check("multi-user stand-in exits 0", standin.stop() == 0)

    standin = Standin("--multi-user")
    try:
        with checks.section("multi-user shared pipelines"):
            status, body = http_json("GET", f"{standin.url}{API}/pipelines")
            checks.check("multi-user list without namespace lists shared pipelines", status == 200 and body == {}, body)
    finally:
        checks.check("multi-user (open) stand-in exits 0", standin.stop() == 0)

    standin = Standin("--cookie", "authservice_session=abc123")
    try:
        with checks.section("cookie"):
            client = kfp.Client(host=standin.url, cookies="other=1; authservice_session=abc123")
            checks.check("cookie auth via kfp.Client", client.list_experiments().total_size is None)
            status, _ = http_json("GET", f"{standin.url}{API}/healthz", headers={"Cookie": "authservice_session=no"})
            checks.check("wrong cookie is 401", status == 401)
    finally:
        checks.check("cookie stand-in exits 0", standin.stop() == 0)


def state_file(checks: Checks) -> None:
    path = os.path.join(WORKDIR, "state.json")
    standin = Standin("--state-file", path)
    http_json("POST", f"{standin.url}{API}/experiments", {"display_name": "kept"})
    checks.check("state-file stand-in exits 0", standin.stop() == 0)
    standin = Standin("--state-file", path)
    try:
        status, body = http_json("GET", f"{standin.url}{API}/experiments")
        checks.check("state survives a restart",
                     status == 200 and body["experiments"][0]["display_name"] == "kept", body)
    finally:
        standin.stop()


def main() -> int:
    checks = Checks()
    package = compile_pipeline()
    observed = single_user(checks, package)
    through_prefix(checks, package)
    multi_user(checks, package)
    state_file(checks)
    if os.environ.get("KFP_STANDIN_SELFTEST_SHOW"):
        print(json.dumps(observed, indent=1), file=sys.stderr)
    if checks.failed:
        for failure in checks.failed:
            print(f"FAIL {failure}", file=sys.stderr)
        print(f"kfp_standin selftest: {len(checks.failed)} of {checks.passed + len(checks.failed)} checks FAILED")
        return 1
    print(f"kfp_standin selftest: all {checks.passed} checks passed (kfp {kfp.__version__}, "
          f"kfp-server-api {kfp_server_api.__version__})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
