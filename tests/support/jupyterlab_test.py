"""Drives nbkf's JupyterLab extension in a real JupyterLab and headless system Chromium
(tests/jupyterlab.rs).

    jupyterlab_test.py --jupyter BIN --nbkf BIN --python PY --chromium PATH --root DIR --screenshots DIR

ROOT holds the fixture notebooks: `steps_and_continuation.ipynb` (three tagged steps),
`broken.ipynb` (cell 2 reads an undefined name on line 3), `composed_two_levels.ipynb` (runs
`composed/prepare.ipynb` as a sub-pipeline), `headings.ipynb` (untagged, with
headings), `parameters.ipynb` (five pipeline parameters), `failing.ipynb` (step `divide` fails on line 2 of cell 2) and `differs.ipynb` (a
clock value passed between steps). It starts `jupyter lab` on a free loopback port with a random token (the
extension installed in that JupyterLab's environment starts `nbkf serve` itself), then checks:
- the proxy refuses requests without Jupyter's authentication, and answers with it;
- the panel draws the notebook's steps and the edges labelled with their variables, lists the
  steps with inputs and outputs, and the cells carry badges of their steps;
- a notebook that runs another: the sub-notebook's steps listed with their notebook, the
  sub-pipeline's frame drawn, badges on this notebook's own cells only;
- the broken cell shows its diagnostic at line 3 (under the cell, and on the line in the editor);
  clicking the panel's diagnostic puts the cursor on that line; fixing the cell (unsaved)
  clears it; the panel follows the active notebook;
- Tag notebook writes the suggested tags into the open notebook, and Undo tags takes them back;
- the settings form writes `kubeflow_notebook` as Kale does, and refuses a bad name;
- Compile writes the YAML, Python DSL the KFP DSL script; Submit says no cluster is configured, and once a profile names
  the local KFP API stand-in, uploads the pipeline and starts a run in the chosen experiment;
- Run locally ends with every step succeeded in the graph; Check finds every value equal;
- parameter values typed in the panel reach the run, and a value of the wrong type is refused;
- a failing step ends failed with its traceback mapped to the cell and line; Check lists the
  values that differ.
Screenshots go to SCREENSHOTS. Prints `jupyterlab: ok` at the end; exits non-zero, saying what
failed, on any failure.
"""

import argparse
import json
import os
import secrets
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

from playwright.sync_api import sync_playwright

RUN_TIMEOUT_MS = 240_000
# The notebook on show (others may be open in hidden tabs).
NB = ".jp-NotebookPanel:not(.lm-mod-hidden) .jp-Notebook"


class Failure(Exception):
    pass


def check(condition, message):
    if not condition:
        raise Failure(message)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def http(url, headers=None, data=None):
    """(status, body text) of a request; HTTP errors are answers too."""
    request = urllib.request.Request(url, headers=headers or {}, data=data, method="POST" if data is not None else "GET")
    try:
        with urllib.request.urlopen(request, timeout=30) as r:
            return r.status, r.read().decode()
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode()


class Lab:
    """A `jupyter lab` on loopback, in a folder of its own; stopped (with its nbkf) at the end."""

    def __init__(self, args):
        self.port = free_port()
        self.token = secrets.token_hex(16)
        self.base = f"http://127.0.0.1:{self.port}"
        home = Path(args.root).parent / "jupyter-home"
        self.nbkf_config = home / "nbkf-config.toml"
        for d in ("config", "data", "runtime", "workspaces", "settings"):
            (home / d).mkdir(parents=True, exist_ok=True)
        # No news pop-up over the page (JupyterLab asks once whether to fetch news).
        news = home / "settings" / "@jupyterlab" / "apputils-extension"
        news.mkdir(parents=True, exist_ok=True)
        (news / "notification.jupyterlab-settings").write_text('{"fetchNews": "false"}')
        env = {k: v for k, v in os.environ.items() if not k.startswith(("KF_PIPELINES_", "JUPYTER_"))}
        env.update(
            JUPYTER_CONFIG_DIR=str(home / "config"),
            JUPYTER_DATA_DIR=str(home / "data"),
            JUPYTER_RUNTIME_DIR=str(home / "runtime"),
            NBKF_BIN=args.nbkf,
            # No KFP profile at first: Submit must say that no cluster is configured.
            NBKF_CONFIG=str(self.nbkf_config),
        )
        for var in ("NBKF_PROFILE", "KUBECONFIG", "NBKF_SERVE_TOKEN"):
            env.pop(var, None)
        self.log_path = home / "jupyter.log"
        self.log = open(self.log_path, "w")
        self.process = subprocess.Popen(
            [args.jupyter, "lab", "--no-browser", "--allow-root", "--ip=127.0.0.1", f"--port={self.port}",
             f"--ServerApp.token={self.token}", f"--ServerApp.root_dir={args.root}",
             f"--LabApp.workspaces_dir={home / 'workspaces'}", f"--LabApp.user_settings_dir={home / 'settings'}",
             f"--NbkfExtension.python={args.python}", "--ServerApp.port_retries=0"],
            stdout=self.log, stderr=subprocess.STDOUT, env=env, cwd=args.root,
        )
        deadline = time.time() + 90
        while time.time() < deadline:
            if self.process.poll() is not None:
                raise Failure(f"jupyter lab exited with {self.process.returncode}:\n{self.log_text()}")
            try:
                status, _ = http(f"{self.base}/api/status", {"Authorization": f"token {self.token}"})
                if status == 200:
                    return
            except OSError:
                pass
            time.sleep(0.3)
        raise Failure(f"jupyter lab did not answer within 90 s:\n{self.log_text()}")

    def log_text(self):
        self.log.flush()
        return self.log_path.read_text()[-4000:]

    def nbkf_pid(self):
        """The pid of the nbkf serve this JupyterLab started last (from its log)."""
        self.log.flush()
        found = None
        for line in self.log_path.read_text().splitlines():
            if "nbkf serve (pid" in line:
                found = int(line.split("nbkf serve (pid ")[1].split(")")[0])
        return found

    def stop(self):
        self.process.terminate()
        try:
            self.process.wait(20)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        self.log.close()


def api(lab, path, body=None):
    headers = {"Authorization": f"token {lab.token}"}
    data = None
    if body is not None:
        headers["Content-Type"] = "application/json"
        data = json.dumps(body).encode()
    status, text = http(f"{lab.base}/nbkf/{path}", headers, data)
    check(status == 200, f"{path}: {status} {text[:500]}")
    return json.loads(text)


def check_proxy(lab):
    """The proxy answers signed-in requests only, and never gives out nbkf's token."""
    for headers in ({}, {"Authorization": "token wrong-token-0123456789"}):
        status, text = http(f"{lab.base}/nbkf/api/v1/health", headers)
        check(status in (401, 403), f"an unauthenticated GET through the proxy got {status}: {text[:300]}")
        check('"root"' not in text, f"an unauthenticated GET got nbkf's answer: {text[:300]}")
    status, text = http(f"{lab.base}/nbkf/api/v1/analyze", {"Content-Type": "application/json"},
                        json.dumps({"path": "steps_and_continuation.ipynb"}).encode())
    check(status in (401, 403), f"an unauthenticated POST through the proxy got {status}: {text[:300]}")
    health = api(lab, "api/v1/health")
    check(health.get("status") == "ok", f"health through the proxy: {health}")
    print(f"proxy: unauthenticated GET and POST refused; signed in: nbkf {health['version']} serving {health['root']}")


def check_missing_nbkf(lab):
    """Without the nbkf binary JupyterLab still starts, and the proxy says what is missing."""
    status, text = http(f"{lab.base}/nbkf/api/v1/health", {"Authorization": f"token {lab.token}"})
    check(status == 503, f"without nbkf the proxy answered {status}: {text[:300]}")
    error = json.loads(text).get("error", {})
    check(error.get("code") == "nbkf-unavailable", f"error code: {error}")
    check("no-such-nbkf" in error.get("message", "") and "NBKF_BIN" in error.get("hint", ""), f"error: {error}")
    status, _ = http(f"{lab.base}/nbkf/api/v1/health")
    check(status in (401, 403), f"unauthenticated, the proxy answered {status}")
    print(f"missing nbkf: 503 {error['code']}: {error['message']} (hint: {error['hint']})")


def open_notebook(page, lab, name):
    """Opens a notebook (alone) with the Pipeline panel shown; the panel's locator."""
    # `reset`: only this notebook is open (the workspace does not bring back earlier tabs).
    page.goto(f"{lab.base}/lab/tree/{name}?reset&token={lab.token}")
    page.wait_for_selector(".jp-Notebook .jp-Cell", timeout=60_000)
    return show_panel(page)


def show_panel(page):
    panel = page.locator("#nbkf-pipeline")
    if not panel.is_visible():
        page.locator(".jp-SideBar.jp-mod-right [data-id='nbkf-pipeline']").click()
    panel.wait_for(state="visible")
    return panel


def wait_for_analysis(page, name, steps):
    """Waits until the panel shows `name` analysed with `steps` steps drawn."""
    page.wait_for_function(
        """([name, steps]) => {
            const p = document.getElementById('nbkf-pipeline');
            return p && !p.hasAttribute('aria-busy') && p.querySelector('.nbkf-Title').textContent === name &&
                   p.querySelectorAll('.nbkf-Graph svg g.step').length === steps &&
                   p.querySelectorAll('.nbkf-Steps li[data-task]').length === steps;
        }""",
        arg=[name, steps], timeout=60_000,
    )


def badges(page):
    """Each cell's badge text (None for a cell without one), in order."""
    return page.evaluate(
        """() => Array.from(document.querySelectorAll(NB + ' .jp-Cell')).map(c => {
            const b = c.querySelector(':scope > .nbkf-CellBadge');
            return b ? b.textContent : null;
        })"""
    )


def check_pipeline_panel(page, lab, shots):
    name = "steps_and_continuation.ipynb"
    open_notebook(page, lab, name)
    analysis = api(lab, "api/v1/analyze", {"path": name})
    steps = analysis["plan"]["steps"]
    # What the fixture's tags and code say: a, b, c; a -> b (base, scale), a -> c (base), b -> c (total_b).
    check([s["name"] for s in steps] == ["a", "b", "c"], f"the fixture's plan changed: {[s['name'] for s in steps]}")
    wait_for_analysis(page, name, 3)
    drawn = page.evaluate(
        """() => Array.from(document.querySelectorAll('#nbkf-pipeline .nbkf-Graph svg g.edge')).map(e =>
            [e.getAttribute('data-source'), e.getAttribute('data-target'), (e.querySelector('text') || {}).textContent || ''])"""
    )
    expected = {("step-a", "step-b"): "base, scale", ("step-a", "step-c"): "base", ("step-b", "step-c"): "total_b"}
    tasks = {s["name"]: s["task"] for s in steps}
    for (source, target), label in expected.items():
        found = [d for d in drawn if d[0] == source and d[1] == target]
        check(found, f"no edge {source} -> {target} in the panel's graph: {drawn}")
        check(found[0][2] == label, f"edge {source} -> {target} is labelled {found[0][2]!r}, not {label!r}")
    for step in steps:
        item = page.locator(f"#nbkf-pipeline .nbkf-Steps li[data-task='{step['task']}']")
        text = item.inner_text()
        for i in step["inputs"]:
            check(i["variable"] in text and f"from {i['from']}" in text, f"step {step['name']} does not list input {i}: {text}")
        for o in step["outputs"]:
            check(o in text, f"step {step['name']} does not list output {o}: {text}")
    # Badges: cell 1 is markdown; 2-3 are step a, 4-5 b, 6-7 c, 8 the metrics.
    want = [None, "a", "a", "b", "b", "c", "c", "metrics"]
    page.wait_for_function("(n) => document.querySelectorAll(NB + ' .nbkf-CellBadge').length === n", arg=7)
    got = badges(page)
    check(got == want, f"cell badges {got}, expected {want}")
    colours = page.evaluate(
        """() => Array.from(document.querySelectorAll(NB + ' .nbkf-CellBadge.nbkf-role-step')).map(b => getComputedStyle(b).backgroundColor)"""
    )
    check(colours[0] == colours[1] and colours[0] != colours[2] and colours[2] != colours[4],
          f"badges of one step share a colour and steps differ: {colours}")
    page.screenshot(path=str(shots / "panel-and-badges.png"))
    print(f"panel: 3 steps, {len(drawn)} labelled edges, steps list inputs and outputs; badges {got}")
    return tasks


def check_diagnostics(page, lab, shots):
    name = "broken.ipynb"
    open_notebook(page, lab, name)
    page.wait_for_function(
        "(name) => document.querySelector('#nbkf-pipeline .nbkf-Title').textContent === name && "
        "document.querySelectorAll('#nbkf-pipeline .nbkf-Diagnostics li.nbkf-Diagnostic').length > 0",
        arg=name, timeout=60_000,
    )
    # The diagnostic sits under cell 2 and names line 3.
    cell = page.locator(f"{NB} .jp-Cell").nth(1)
    marker = cell.locator(".nbkf-CellDiagnostics li.nbkf-mod-error[data-code='undefined-name']")
    marker.wait_for(timeout=30_000)
    check(marker.get_attribute("data-line") == "3", f"the diagnostic is at line {marker.get_attribute('data-line')}, not 3")
    check("line 3" in marker.inner_text() and "undefined_total" in marker.inner_text(), marker.inner_text())
    # In the editor: line 3 is marked, and the undefined name underlined.
    line = cell.locator(".cm-line.nbkf-Line.nbkf-mod-error")
    line.wait_for(timeout=10_000)
    check(line.count() == 1 and line.inner_text() == "w = undefined_total + z", f"marked lines: {line.all_inner_texts()}")
    check(line.get_attribute("data-nbkf-line") == "3" and "undefined-name" in (line.get_attribute("title") or ""),
          f"the marked line says {line.get_attribute('data-nbkf-line')} / {line.get_attribute('title')}")
    underlined = cell.locator(".nbkf-Range.nbkf-mod-error").all_inner_texts()
    check(underlined == ["undefined_total"], f"underlined: {underlined}")
    check(page.locator(f"{NB} .jp-Cell").nth(0).locator(".nbkf-CellDiagnostics").count() == 0,
          "cell 1 shows a diagnostic it does not have")
    page.screenshot(path=str(shots / "diagnostic-at-line.png"))
    # Clicking it in the panel activates the cell and puts the cursor on line 3.
    page.locator("#nbkf-pipeline .nbkf-Diagnostics li[data-code='undefined-name'] .nbkf-DiagnosticGo").click()
    page.wait_for_function(
        """() => {
            const cells = Array.from(document.querySelectorAll(NB + ' .jp-Cell'));
            return cells.findIndex(c => c.classList.contains('jp-mod-active')) === 1;
        }""", timeout=10_000,
    )
    line = page.wait_for_function(
        """() => {
            const s = getSelection();
            let n = s && s.anchorNode;
            while (n && !(n.classList && n.classList.contains('cm-line'))) n = n.parentNode;
            return n ? n.textContent : null;
        }""", timeout=10_000,
    ).json_value()
    check(line == "w = undefined_total + z", f"the cursor is on {line!r}, not line 3")
    # Fixing the cell, unsaved: the panel follows the edit and the diagnostic goes.
    page.keyboard.press("End")
    for _ in range(len("undefined_total + z")):
        page.keyboard.press("Shift+ArrowLeft")
    page.keyboard.type("y + z")
    page.wait_for_function(
        "() => document.querySelectorAll(NB + ' .nbkf-CellDiagnostics, ' + NB + ' .nbkf-Line').length === 0 && "
        "document.querySelectorAll('#nbkf-pipeline .nbkf-Diagnostics li.nbkf-mod-error').length === 0",
        timeout=30_000,
    )
    print("diagnostics: undefined-name under cell 2 and on its line 3 (the name underlined); clicking it put the cursor on that line; the unsaved fix cleared it")


def save(page, path):
    before = path.stat().st_mtime_ns
    page.locator(NB).click(position={"x": 5, "y": 5})
    page.keyboard.press("Control+s")
    deadline = time.time() + 20
    while time.time() < deadline:
        if path.stat().st_mtime_ns != before:
            time.sleep(0.3)
            return json.loads(path.read_text())
        time.sleep(0.2)
    raise Failure(f"{path.name} was not saved")


def tags_of(notebook):
    return [c["metadata"].get("tags") for c in notebook["cells"]]


def check_tag(page, lab, root, shots):
    name = "headings.ipynb"
    panel = open_notebook(page, lab, name)
    page.wait_for_function(
        "(name) => document.querySelector('#nbkf-pipeline .nbkf-Title').textContent === name && "
        "!document.getElementById('nbkf-pipeline').hasAttribute('aria-busy') && "
        "!document.querySelector('#nbkf-pipeline [data-action=tag]').disabled",
        arg=name, timeout=60_000,
    )
    suggested = api(lab, "api/v1/tag", {"path": name})
    check(len(suggested["changes"]) >= 2, f"the fixture should get tags: {suggested['changes']}")
    original = tags_of(json.loads((root / name).read_text()))
    panel.locator("[data-action=tag]").click()
    page.wait_for_selector("#nbkf-tag-result", timeout=30_000)
    steps = sorted({t[5:] for c in suggested["changes"] for t in c["tags"] if t.startswith("step:")})
    page.wait_for_function(
        "(n) => document.querySelectorAll('#nbkf-pipeline .nbkf-Steps li[data-task]').length === n", arg=len(steps), timeout=30_000
    )
    page.screenshot(path=str(shots / "tagged.png"))
    saved = save(page, root / name)
    want = list(original)
    for change in suggested["changes"]:
        want[change["cell"] - 1] = change["tags"]
    check(tags_of(saved) == want, f"tags after Tag notebook {tags_of(saved)}, expected {want}")
    badge_steps = sorted({b for b in badges(page) if b and b in steps})
    check(badge_steps == steps, f"badges after tagging show {badge_steps}, expected {steps}")
    panel.locator("[data-action=undo]").click()
    saved = save(page, root / name)
    check(tags_of(saved) == original, f"tags after Undo tags {tags_of(saved)}, expected {original}")
    # JupyterLab's own undo (z in command mode) takes back Tag notebook as one change.
    panel.locator("[data-action=tag]").click()
    page.wait_for_function(
        "(n) => document.querySelectorAll('#nbkf-pipeline .nbkf-Steps li[data-task]').length === n", arg=len(steps), timeout=30_000
    )
    page.locator(f"{NB} .jp-Cell").first.click()
    page.keyboard.press("Escape")
    page.keyboard.press("z")
    saved = save(page, root / name)
    check(tags_of(saved) == original, f"tags after JupyterLab's undo {tags_of(saved)}, expected {original}")
    print(f"tag: {len(suggested['changes'])} cells tagged in the open notebook ({', '.join(steps)}), saved as suggested; "
          "undone by Undo tags, and by JupyterLab's undo")


def check_settings_compile_submit(page, lab, root):
    name = "steps_and_continuation.ipynb"
    panel = open_notebook(page, lab, name)
    wait_for_analysis(page, name, 3)
    panel.locator(".nbkf-Settings summary").click()
    form = panel.locator(".nbkf-Settings form")
    form.locator("input[name=pipeline_name]").fill("Bad_Name")
    form.locator("button[type=submit]").click()
    problem = form.locator(".nbkf-FormProblem")
    problem.wait_for(state="visible")
    check("lowercase" in problem.inner_text(), problem.inner_text())
    form.locator("input[name=pipeline_name]").fill("sums-pipeline")
    form.locator("input[name=experiment_name]").fill("nightly")
    form.locator("input[name=pipeline_description]").fill("Sums of a list")
    form.locator("input[name=base_image]").fill("python:3.11-slim")
    form.locator("button[type=submit]").click()
    page.wait_for_function(
        "() => document.querySelector('#nbkf-pipeline .nbkf-Status').textContent.startsWith('sums-pipeline ·')", timeout=30_000
    )
    saved = save(page, root / name)
    meta = saved["metadata"].get("kubeflow_notebook")
    want = {"pipeline_name": "sums-pipeline", "experiment_name": "nightly", "experiment": {"id": "new", "name": "nightly"},
            "pipeline_description": "Sums of a list", "base_image": "python:3.11-slim"}
    check(meta == want, f"kubeflow_notebook is {meta}, expected {want}")
    print(f"settings: written as Kale writes them ({json.dumps(meta)}); a bad name refused")

    panel.locator("[data-action=compile]").click()
    page.wait_for_selector("#nbkf-compile-result", timeout=60_000)
    yaml = root / "steps_and_continuation.pipeline.yaml"
    check(yaml.is_file() and "pipelineInfo" in yaml.read_text(), f"Compile wrote no pipeline at {yaml}")
    check("name: sums-pipeline" in yaml.read_text(), "the compiled pipeline does not carry the name from the settings")
    page.evaluate("() => document.getElementById('nbkf-compile-result').remove()")
    panel.locator("[data-action=compile-dsl]").click()
    page.wait_for_selector("#nbkf-compile-result[data-format=dsl]", timeout=60_000)
    script = root / "steps_and_continuation_pipeline.py"
    check(script.is_file() and '@kfp.dsl.pipeline(\n    name="sums-pipeline"' in script.read_text(),
          f"Python DSL wrote no script for the pipeline at {script}")
    print(f"compile: wrote {yaml.name} and {script.name}")


def check_submit(page, lab, args):
    """Submit says clearly that no cluster is configured; once a profile names one (here the
    local KFP API stand-in, tests/support/kfp_standin.py), it uploads the pipeline and starts a run."""
    panel = page.locator("#nbkf-pipeline")
    panel.locator("[data-action=submit]").click()
    result = page.wait_for_selector("#nbkf-submit-result", timeout=60_000).inner_text()
    check("No Kubeflow Pipelines cluster is configured" in result, f"Submit without a cluster said: {result}")
    print(f"submit without a cluster: {result[:100]}…")
    standin = subprocess.Popen([args.python, str(Path(__file__).with_name("kfp_standin.py")), "--port", "0"],
                               stdout=subprocess.PIPE, text=True)
    try:
        line = standin.stdout.readline().strip()
        check(line.startswith("LISTENING "), f"the KFP stand-in did not start: {line!r}")
        host = line.split(" ", 1)[1]
        env = dict(os.environ, NBKF_CONFIG=str(lab.nbkf_config))
        for command in (["config", "set-profile", "standin", "--host", host], ["config", "use", "standin"]):
            done = subprocess.run([args.nbkf, *command], env=env, capture_output=True, text=True)
            check(done.returncode == 0, f"nbkf {' '.join(command)}: {done.stderr}")
        page.evaluate("() => document.getElementById('nbkf-submit-result').remove()")
        panel.locator("[data-action=submit]").click()
        page.wait_for_function("() => document.querySelector('#nbkf-pipeline .nbkf-Result h3').textContent === 'Submitted'",
                               timeout=60_000)
        result = page.locator("#nbkf-submit-result").inner_text()
        state = json.loads(urllib.request.urlopen(f"{host}/_standin/state", timeout=10).read())
        check(len(state["runs"]) == 1, f"the stand-in holds {len(state['runs'])} runs")
        run = state["runs"][0]
        check(run["display_name"] in result and "sums-pipeline" in result and "nightly" in result,
              f"Submit said {result!r}; the stand-in has run {run['display_name']!r}")
        experiments = [e["display_name"] for e in state["experiments"]]
        check("nightly" in experiments, f"the run's experiment (from the settings) is not there: {experiments}")
        print(f"submit with a profile: {result}")
    finally:
        standin.terminate()
        standin.wait(10)


def check_run_and_check(page, lab, tasks, shots):
    panel = page.locator("#nbkf-pipeline")
    panel.locator("[data-action=run]").click()
    page.wait_for_selector("#nbkf-run-outcome", timeout=RUN_TIMEOUT_MS)
    outcome = page.locator("#nbkf-run-outcome")
    check(outcome.get_attribute("data-state") == "succeeded", f"the local run ended: {panel.locator('.nbkf-Result').inner_text()}")
    states = page.evaluate(
        """() => Object.fromEntries(Array.from(document.querySelectorAll('#nbkf-pipeline .nbkf-Graph svg g.step')).map(g =>
            [g.getAttribute('data-task'), Array.from(g.classList).filter(c => c.startsWith('state-'))]))"""
    )
    check(sorted(states) == sorted(tasks.values()), f"graph steps {sorted(states)} are not the plan's {sorted(tasks.values())}")
    for task, classes in states.items():
        check(classes == ["state-succeeded"], f"step {task} ends {classes}, not state-succeeded")
    pills = panel.locator(".nbkf-Steps .nbkf-State").all_inner_texts()
    check(pills == ["succeeded"] * 3, f"the steps list says {pills}")
    page.screenshot(path=str(shots / "run-succeeded.png"))
    print(f"run: every step succeeded ({', '.join(sorted(states))})")

    panel.locator("[data-action=check]").click()
    page.wait_for_selector("#nbkf-check-verdict", timeout=RUN_TIMEOUT_MS)
    verdict = page.locator("#nbkf-check-verdict").inner_text()
    check("computes what the notebook computes" in verdict, f"Check said: {panel.locator('.nbkf-Result').inner_text()}")
    print(f"check: {verdict}")


def running(pid):
    """Whether a process runs (a zombie waiting for its parent to reap it does not)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"


def check_composed(page, lab, shots):
    """A notebook that runs another (`notebook:` cell): the panel lists the sub-notebook's
    steps with their notebook, draws the sub-pipeline's frame, and badges only this
    notebook's own cells."""
    name = "composed_two_levels.ipynb"
    open_notebook(page, lab, name)
    wait_for_analysis(page, name, 4)
    want = [None, "parameters", "load", "sub-pipeline", "report", "metrics"]
    page.wait_for_function("(n) => document.querySelectorAll(NB + ' .nbkf-CellBadge').length === n", arg=5)
    got = badges(page)
    check(got == want, f"cell badges {got}, expected {want}")
    text = page.locator("#nbkf-pipeline .nbkf-Steps li[data-task='prepare-scale']").inner_text()
    check("cell 3 of composed/prepare.ipynb" in text and "sub-pipeline prepare" in text,
          f"step prepare_scale does not say where it is: {text}")
    frame = page.locator("#nbkf-pipeline .nbkf-Graph svg g.sub-pipeline[data-sub-pipeline='prepare']")
    check(frame.count() == 1, "the graph has no frame for sub-pipeline prepare")
    page.screenshot(path=str(shots / "composed.png"))
    print(f"composed: 4 steps, the frame of sub-pipeline prepare; badges {got}")


def check_switching(page):
    """The panel follows the active notebook: opened from the file browser, then back by its tab."""
    page.locator(".jp-DirListing-item[data-file-type='notebook']", has_text="headings.ipynb").dblclick()
    page.wait_for_function("() => document.querySelector('#nbkf-pipeline .nbkf-Title').textContent === 'headings.ipynb' && "
                           "!document.getElementById('nbkf-pipeline').hasAttribute('aria-busy')", timeout=30_000)
    check(page.locator("#nbkf-pipeline .nbkf-Diagnostics li.nbkf-mod-error").count() == 0, "headings.ipynb shows broken.ipynb's error")
    page.locator(".jp-MainAreaWidget + * .lm-TabBar-tab, .lm-DockPanel-tabBar .lm-TabBar-tab", has_text="broken.ipynb").first.click()
    page.wait_for_function("() => document.querySelector('#nbkf-pipeline .nbkf-Title').textContent === 'broken.ipynb'", timeout=30_000)
    print("switching: the panel followed the active notebook to headings.ipynb and back to broken.ipynb")


def check_run_parameters(page, lab):
    """Run locally with parameter values typed in the panel; a value of the wrong type is refused."""
    panel = open_notebook(page, lab, "parameters.ipynb")
    analysis = api(lab, "api/v1/analyze", {"path": "parameters.ipynb"})
    wait_for_analysis(page, "parameters.ipynb", len(analysis["plan"]["steps"]))
    names = [p["name"] for p in analysis["plan"]["parameters"]]
    shown = panel.locator(".nbkf-ParametersForm input").evaluate_all("(l) => l.map(i => [i.name, i.value])")
    defaults = [[f"param-{p['name']}", p["default"] if isinstance(p["default"], str) else json.dumps(p["default"])]
                for p in analysis["plan"]["parameters"]]
    check(shown == defaults, f"the parameters form shows {shown}, expected {defaults}")
    panel.locator("input[name=param-LR]").fill("abc")
    panel.locator("[data-action=run]").click()
    message = panel.locator(".nbkf-Message")
    message.wait_for(state="visible", timeout=30_000)
    check("LR" in message.inner_text(), f"a bad value for LR was answered: {message.inner_text()}")
    panel.locator("input[name=param-LR]").fill("0.5")
    panel.locator("input[name=param-VERBOSE]").fill("false")
    panel.locator("[data-action=run]").click()
    page.wait_for_selector("#nbkf-run-outcome", timeout=RUN_TIMEOUT_MS)
    outcome = page.locator("#nbkf-run-outcome")
    check(outcome.get_attribute("data-state") == "succeeded", f"the run with parameters ended: {outcome.inner_text()}")
    run_id = outcome.inner_text().split()[1].rstrip(":")
    used = api(lab, f"api/v1/runs/{run_id}")["result"]["parameters"]
    check(used.get("LR") == 0.5 and used.get("VERBOSE") is False and used.get("EPOCHS") == 4,
          f"the run used {used}")
    print(f"parameters: {len(names)} shown with their defaults; LR=abc refused; the run used LR=0.5, VERBOSE=false, EPOCHS=4")


def check_failed_run(page, lab):
    """A step that fails shows its traceback, mapped to the notebook's cell and line."""
    panel = open_notebook(page, lab, "failing.ipynb")
    wait_for_analysis(page, "failing.ipynb", 2)
    panel.locator("[data-action=run]").click()
    page.wait_for_selector("#nbkf-run-outcome", timeout=RUN_TIMEOUT_MS)
    state = page.locator("#nbkf-run-outcome").get_attribute("data-state")
    check(state == "failed", f"a run with a failing step ended {state}")
    classes = page.evaluate(
        """() => Object.fromEntries(Array.from(document.querySelectorAll('#nbkf-pipeline .nbkf-Graph svg g.step')).map(g =>
            [g.getAttribute('data-step'), Array.from(g.classList).filter(c => c.startsWith('state-'))]))"""
    )
    check(classes == {"make": ["state-succeeded"], "divide": ["state-failed"]}, f"step states after the failure: {classes}")
    failure = panel.locator(".nbkf-Steps li[data-step='divide'] .nbkf-Failure").inner_text()
    for part in ("cell 2", "line 2", "ZeroDivisionError", "ratios = [total / v for v in values]"):
        check(part in failure, f"the failure shown for step divide lacks {part!r}: {failure}")
    page.screenshot(path=str(page.context.nbkf_shots / "run-failed.png"))
    print(f"failed run: step divide failed, its traceback mapped to cell 2, line 2")


def check_differences(page, lab):
    """Check shows what differs between the pipeline and the notebook."""
    panel = open_notebook(page, lab, "differs.ipynb")
    wait_for_analysis(page, "differs.ipynb", 2)
    panel.locator("[data-action=check]").click()
    page.wait_for_selector("#nbkf-check-verdict", timeout=RUN_TIMEOUT_MS)
    verdict = page.locator("#nbkf-check-verdict").inner_text()
    check("differ between the pipeline and the notebook" in verdict, f"Check of a clock value said: {verdict}")
    listed = panel.locator(".nbkf-Result .nbkf-Items li strong").all_inner_texts()
    check(listed and set(listed) == {"stamp"}, f"the differences listed: {listed}")
    print(f"check with differences: {verdict}")


def main():
    parser = argparse.ArgumentParser()
    for flag in ("--jupyter", "--nbkf", "--python", "--root", "--screenshots"):
        parser.add_argument(flag, required=True)
    parser.add_argument("--chromium")
    parser.add_argument("--missing-nbkf", action="store_true",
                        help="start JupyterLab with NBKF_BIN naming no file, and check the proxy's answer only")
    args = parser.parse_args()
    if args.missing_nbkf:
        args.nbkf = str(Path(args.root) / "no-such-nbkf")
        lab = Lab(args)
        try:
            check_missing_nbkf(lab)
        except Exception as e:
            print(f"jupyterlab: FAILED: {type(e).__name__}: {e}\n--- jupyter log ---\n{lab.log_text()}")
            lab.stop()
            sys.exit(1)
        lab.stop()
        print("jupyterlab: ok")
        return
    if not args.chromium:
        parser.error("--chromium is needed")
    root = Path(args.root)
    shots = Path(args.screenshots)
    shots.mkdir(parents=True, exist_ok=True)
    lab = Lab(args)
    problems = []
    try:
        check_proxy(lab)
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=args.chromium, args=["--no-sandbox", "--disable-gpu"])
            try:
                page = browser.new_page(viewport={"width": 1500, "height": 950})
                page.context.nbkf_shots = shots
                page.set_default_timeout(30_000)
                # The same selector in the page's scripts.
                page.add_init_script(f"window.NB = {json.dumps(NB)};")
                page.on("console", lambda m: m.type == "error" and "nbkf" in m.text and problems.append(f"console: {m.text}"))
                page.on("pageerror", lambda e: "nbkf" in str(e) and problems.append(f"page error: {e}"))
                try:
                    tasks = check_pipeline_panel(page, lab, shots)
                    check_diagnostics(page, lab, shots)
                    check_switching(page)
                    check_composed(page, lab, shots)
                    check_tag(page, lab, root, shots)
                    check_settings_compile_submit(page, lab, root)
                    check_submit(page, lab, args)
                    check_run_and_check(page, lab, tasks, shots)
                    check_run_parameters(page, lab)
                    check_failed_run(page, lab)
                    check_differences(page, lab)
                except Exception:
                    page.screenshot(path=str(shots / "failure.png"))
                    raise
            finally:
                browser.close()
        check(not problems, "the page logged errors:\n" + "\n".join(problems))
        first = lab.nbkf_pid()
        check(first is not None, f"the JupyterLab log does not say which nbkf serve it started:\n{lab.log_text()}")
        # An nbkf serve that died is started again by the next request.
        os.kill(first, signal.SIGKILL)
        health = api(lab, "api/v1/health")
        pid = lab.nbkf_pid()
        check(health["status"] == "ok" and pid not in (None, first), f"after nbkf serve died: {health}, pid {pid}")
        print(f"restart: nbkf serve (pid {first}) killed; the next request started pid {pid}")
    except Exception as e:
        print(f"jupyterlab: FAILED: {type(e).__name__}: {e}\n--- jupyter log ---\n{lab.log_text()}")
        lab.stop()
        sys.exit(1)
    lab.stop()
    # The nbkf serve the extension started stops with the Jupyter server.
    deadline = time.time() + 10
    while time.time() < deadline and running(pid):
        time.sleep(0.2)
    if running(pid):
        print(f"jupyterlab: FAILED: nbkf serve (pid {pid}) still runs after JupyterLab stopped")
        sys.exit(1)
    print(f"stop: nbkf serve (pid {pid}) stopped with JupyterLab")
    print("jupyterlab: ok")


if __name__ == "__main__":
    main()
