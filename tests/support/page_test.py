"""Drives the pipeline page of `nbkf serve` in headless system Chromium (tests/page.rs).

    page_test.py URL SCREENSHOTS --chromium PATH --run NOTEBOOK --draw NOTEBOOK... --long NOTEBOOK

Opens URL (the address `nbkf serve` printed, token included), and:
- for every --draw notebook (and the --run one): picks it, and checks that the drawing has
  one node per step of the analysis (POST /api/v1/analyze, asked from the page), that every
  edge carrying variables is drawn and labelled with them, and the parameters box;
- for the --run notebook: clicks a step that reads from another and checks its details
  (cells, inputs with producers, outputs), selects a step with the keyboard, clicks
  "Run locally" and waits until every step node is `state-succeeded`;
- for the --long notebook: checks that every step is drawn and a step can be clicked;
- that the page logged no errors (a CSP violation would be one).
Screenshots go to SCREENSHOTS. Exits non-zero, saying what failed, on any failure.
"""

import argparse
import json
import sys
from pathlib import Path

from playwright.sync_api import Error as PlaywrightError
from playwright.sync_api import sync_playwright

RUN_TIMEOUT_MS = 240_000


class Failure(Exception):
    pass


def check(condition, message):
    if not condition:
        raise Failure(message)


def analyse(page, path):
    return page.evaluate(
        """async (path) => {
            const r = await fetch('/api/v1/analyze', {method: 'POST', headers: {'content-type': 'application/json'},
                                                      body: JSON.stringify({path})});
            return await r.json();
        }""",
        path,
    )


def pick(page, path, steps):
    page.select_option("#notebook", path)
    page.wait_for_function(
        "(n) => document.querySelectorAll('#graph svg g.step').length === n && !document.getElementById('graph').hasAttribute('aria-busy')",
        arg=steps,
    )


def check_drawing(page, path):
    """The drawing shows every step of the plan, and every data edge with its variables."""
    analysis = analyse(page, path)
    check("plan" in analysis, f"{path}: analyze failed: {json.dumps(analysis)[:500]}")
    plan = analysis["plan"]
    pick(page, path, len(plan["steps"]))
    drawn = page.eval_on_selector_all("#graph svg g.step", "gs => gs.map(g => [g.dataset.task, g.dataset.step, g.id])")
    expected = sorted(s["task"] for s in plan["steps"])
    check(sorted(d[0] for d in drawn) == expected, f"{path}: drawn steps {drawn} but the plan has {expected}")
    for task, name, element_id in drawn:
        check(element_id == f"step-{task}", f"{path}: step {name} has id {element_id}")
    task_of = {s["name"]: s["task"] for s in plan["steps"]}
    labelled = 0
    for edge in analysis["edges"]:
        selector = f'#graph svg g.edge[data-source="step-{task_of[edge["from"]]}"][data-target="step-{task_of[edge["to"]]}"]'
        check(page.locator(selector).count() == 1, f"{path}: no edge {edge['from']} -> {edge['to']} ({selector})")
        if edge["variables"]:
            label = page.locator(f"{selector} > text").text_content() or ""
            for v in edge["variables"]:
                check(v in label, f"{path}: the edge {edge['from']} -> {edge['to']} is labelled {label!r}, without {v}")
            labelled += 1
    if plan["parameters"]:
        box = page.locator("#graph svg g.node.parameters").text_content() or ""
        for p in plan["parameters"]:
            check(p["name"] in box, f"{path}: the parameters box {box!r} lacks {p['name']}")
    metrics = [m for s in plan["steps"] for m in s["metrics"]]
    for m in metrics:
        check(
            m in (page.locator("#graph svg").text_content() or ""),
            f"{path}: the metric {m} is not shown in the drawing",
        )
    return analysis, labelled


def check_details(page, analysis):
    """Clicks a step that reads from another; its panel lists its cells, inputs and outputs."""
    steps = analysis["plan"]["steps"]
    step = next((s for s in steps if s["inputs"] and s["outputs"]), None) or next(s for s in steps if s["inputs"])
    page.click(f'#graph svg g.step[data-task="{step["task"]}"]')
    page.wait_for_function("(t) => document.getElementById('details-title').textContent === 'Step ' + t", arg=step["name"])
    check(
        page.get_attribute(f'#graph svg g.step[data-task="{step["task"]}"]', "class").split().count("selected") == 1,
        "the clicked step is not marked selected",
    )
    cells = page.eval_on_selector_all('#details-body [data-section="cells"] li', "ls => ls.map(l => Number(l.dataset.cell))")
    check(cells == step["cells"], f"details cells {cells}, plan {step['cells']}")
    excerpts = page.eval_on_selector_all('#details-body [data-section="cells"] pre', "ps => ps.map(p => p.textContent)")
    check(any(excerpts), "no cell source shown")
    inputs = page.eval_on_selector_all('#details-body [data-section="inputs"] li', "ls => ls.map(l => l.textContent)")
    check(len(inputs) == len(step["inputs"]), f"details inputs {inputs}, plan {step['inputs']}")
    for shown, i in zip(inputs, step["inputs"]):
        check(i["variable"] in shown and i["from"] in shown, f"input {i} shown as {shown!r}")
    outputs = page.eval_on_selector_all('#details-body [data-section="outputs"] li', "ls => ls.map(l => l.dataset.variable)")
    check(outputs == step["outputs"], f"details outputs {outputs}, plan {step['outputs']}")
    # The keyboard reaches steps too.
    first = steps[0]
    page.focus(f'#graph svg g.step[data-task="{first["task"]}"]')
    page.keyboard.press("Enter")
    page.wait_for_function("(t) => document.getElementById('details-title').textContent === 'Step ' + t", arg=first["name"])
    return step


def check_run(page, analysis, shots):
    steps = analysis["plan"]["steps"]
    page.click("#run")
    page.wait_for_selector("#cancel:not([hidden])")
    page.wait_for_function(
        """(n) => {
            const gs = document.querySelectorAll('#graph svg g.step');
            return gs.length === n && Array.from(gs).every(g => g.classList.contains('state-succeeded'));
        }""",
        arg=len(steps),
        timeout=RUN_TIMEOUT_MS,
    )
    page.wait_for_selector("#run-outcome")
    outcome = page.text_content("#run-outcome") or ""
    check("succeeded" in outcome, f"the run ended: {outcome!r}")
    check(page.locator("#cancel").is_hidden(), "Cancel is still shown after the run")
    page.screenshot(path=str(shots / "run-succeeded.png"), full_page=True)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("url")
    parser.add_argument("screenshots", type=Path)
    parser.add_argument("--chromium", required=True)
    parser.add_argument("--run", required=True)
    parser.add_argument("--draw", nargs="*", default=[])
    parser.add_argument("--long", required=True)
    parser.add_argument("--long-steps", type=int, required=True)
    args = parser.parse_args()
    args.screenshots.mkdir(parents=True, exist_ok=True)
    problems = []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=args.chromium, args=["--no-sandbox", "--disable-gpu"])
        try:
            page = browser.new_page(viewport={"width": 1400, "height": 900})
            page.set_default_timeout(30_000)
            page.on("console", lambda m: m.type == "error" and problems.append(f"console: {m.text}"))
            page.on("pageerror", lambda e: problems.append(f"page error: {e}"))
            page.goto(args.url)
            check("token=" not in page.url, f"the token stayed in the address: {page.url}")
            page.wait_for_function("document.querySelectorAll('#notebook option').length > 1")
            for path in args.draw:
                _, labelled = check_drawing(page, path)
                print(f"page: {path}: every step drawn, {labelled} labelled edges")
                page.screenshot(path=str(args.screenshots / f"{Path(path).stem}.png"), full_page=True)
            analysis, labelled = check_drawing(page, args.run)
            check(labelled > 0, f"{args.run}: no edge carries a variable; pick a notebook whose steps pass data")
            step = check_details(page, analysis)
            print(f"page: {args.run}: details of step {step['name']} match the plan")
            page.click(f'#graph svg g.step[data-task="{step["task"]}"]')
            page.screenshot(path=str(args.screenshots / "details.png"), full_page=True)
            check_run(page, analysis, args.screenshots)
            print(f"page: {args.run}: the run succeeded, every node shown succeeded")
            long, _ = check_drawing(page, args.long)
            check(len(long["plan"]["steps"]) == args.long_steps, f"the long notebook has {len(long['plan']['steps'])} steps")
            last = long["plan"]["steps"][-1]
            node = page.locator(f'#graph svg g.step[data-task="{last["task"]}"]')
            node.scroll_into_view_if_needed()
            node.click()
            page.wait_for_function("(t) => document.getElementById('details-title').textContent === 'Step ' + t", arg=last["name"])
            page.screenshot(path=str(args.screenshots / "long.png"), full_page=False)
            print(f"page: {args.long}: {args.long_steps} steps drawn, step {last['name']} clickable")
        except (Failure, PlaywrightError) as e:
            page.screenshot(path=str(args.screenshots / "failure.png"), full_page=True)
            print(f"page test failed: {e}", file=sys.stderr)
            return 1
        finally:
            browser.close()
    if problems:
        print("page test failed: the page logged errors:\n" + "\n".join(problems), file=sys.stderr)
        return 1
    print("page: ok")
    return 0


if __name__ == "__main__":
    sys.exit(main())
