#!/usr/bin/env python3
"""kfp_fake_agent.py RUN_ID OUTCOME -- plays Argo and KFP's persistence agent for one run.

For the tests against the real KFP API server (scripts/kfp-real/start.sh), where nothing executes
workflows (no Argo controller, no kubelet). It gives the run's Argo Workflow a plausible status,
as Argo would, in the kube-apiserver (found in any namespace by its `pipeline/runid` label), then
reports it to the KFP API server as KFP's persistence agent does: POST /apis/v2beta1/workflows
with the Workflow's JSON as a JSON string. The server then updates the run's state, its task
details (from the workflow's nodes) and its stored workflow manifest (which :retry needs).

OUTCOME: Running | Succeeded | Failed:<task> | Error:<task> | Canceled
  Running: every task before the last one succeeded, the last one running;
  Failed:<task> / Error:<task>: that task failed, the tasks after it never started;
  Canceled: as Argo after a terminate ("Stopped with strategy 'Terminate'").
Needs KFP_REAL_HOST, KUBECONFIG and KUBECTL (from the state dir's env; the server reported to must
be single-user, as the persistence agent's call carries no identity). Standard library only.
"""
import json, os, re, subprocess, sys, time, hashlib, urllib.request, urllib.error

KUBECTL = os.environ.get("KUBECTL") or os.path.expanduser("~/.cache/nbkf-kube/debroot/usr/bin/kubectl")
HOST = os.environ["KFP_REAL_HOST"]


def kubectl(*args, stdin=None):
    r = subprocess.run([KUBECTL, *args], input=stdin, capture_output=True, text=True)
    if r.returncode:
        sys.exit(f"kubectl {' '.join(args)}: {r.stderr}")
    return r.stdout


def now(offset=0):
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time() + offset))


def main():
    run_id, outcome = sys.argv[1], sys.argv[2]
    failed_task = outcome.split(":", 1)[1] if ":" in outcome else None
    phase = outcome.split(":", 1)[0]
    items = json.loads(kubectl("get", "workflows.argoproj.io", "-A", "-l", f"pipeline/runid={run_id}", "-o", "json"))["items"]
    if len(items) != 1:
        sys.exit(f"{len(items)} workflows for run {run_id}")
    wf = items[0]
    name = wf["metadata"]["name"]
    root = next(t for t in wf["spec"]["templates"] if t["name"] == "root")
    deps = {t["name"]: set(re.findall(r"([A-Za-z0-9-]+)\.\w+", t.get("depends") or "")) | set(t.get("dependencies") or [])
            for t in root["dag"]["tasks"]}
    order, seen = [], set()
    def visit(t):
        if t in seen: return
        seen.add(t)
        for d in sorted(deps.get(t, ())): visit(d)
        order.append(t)
    for t in sorted(deps): visit(t)
    execs = [t for t in order if not t.endswith("-driver")]
    stop_at = failed_task if failed_task else (execs[-1] if phase in ("Running", "Canceled") else None)
    def after(t):  # depends, transitively, on stop_at
        return stop_at is not None and t != stop_at and (stop_at in deps.get(t, ()) or any(after(d) for d in deps.get(t, ())))
    nid = lambda n: f"{name}-{int(hashlib.sha1(n.encode()).hexdigest()[:8], 16)}"
    start, end = now(-30), now()
    nodes, children = {}, []
    for t in order:
        if after(t):
            continue
        if t == stop_at:
            p = {"Running": "Running", "Failed": "Failed", "Canceled": "Failed"}.get(phase, "Error")
        else:
            p = "Succeeded"
        i = nid(t)
        children.append(i)
        nodes[i] = {
            "id": i, "name": f"{name}.root.{t}", "displayName": t,
            "type": "Pod" if t.endswith("-driver") else "DAG",
            "templateName": "system-container-driver" if t.endswith("-driver") else "system-container-executor",
            "phase": p, "startedAt": start, "finishedAt": None if p == "Running" else end,
            "boundaryID": nid("root"),
        }
        if p in ("Failed", "Error"):
            nodes[i]["message"] = "terminated" if phase == "Canceled" else "Error (exit code 1)"
    nodes[nid("root")] = {"id": nid("root"), "name": f"{name}.root", "displayName": "root", "type": "DAG",
                          "templateName": "root", "phase": phase if phase != "Canceled" else "Failed",
                          "startedAt": start, "finishedAt": None if phase == "Running" else end, "children": children[:1]}
    wf_phase = {"Running": "Running", "Succeeded": "Succeeded", "Failed": "Failed", "Error": "Error", "Canceled": "Failed"}[phase]
    wf["status"] = {"phase": wf_phase, "startedAt": start, "finishedAt": None if phase == "Running" else end,
                    "nodes": nodes, "progress": f"{sum(n['phase']=='Succeeded' for n in nodes.values())}/{len(nodes)}"}
    if phase == "Canceled":
        wf["status"]["message"] = "Stopped with strategy 'Terminate'"
    elif failed_task:
        wf["status"]["message"] = f"child '{nid(failed_task)}' failed"
    wf["metadata"].setdefault("labels", {})["workflows.argoproj.io/phase"] = wf_phase
    if phase != "Running":
        wf["metadata"]["labels"]["workflows.argoproj.io/completed"] = "true"
    wf = json.loads(kubectl("replace", "-f", "-", "-o", "json", stdin=json.dumps(wf)))
    body = json.dumps(json.dumps(wf)).encode()
    req = urllib.request.Request(f"{HOST}/apis/v2beta1/workflows", data=body, method="POST",
                                 headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(req) as r:
            print(f"reported {name} ({wf_phase}) for run {run_id}: {r.status} {r.read().decode()}")
    except urllib.error.HTTPError as e:
        sys.exit(f"report failed: {e.code} {e.read().decode()}")


if __name__ == "__main__":
    main()
