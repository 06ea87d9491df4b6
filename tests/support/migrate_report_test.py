"""Drives the HTML report of a batch in headless system Chromium (tests/migrate_report.rs).

    migrate_report_test.py REPORT EXPECTED SCREENSHOTS --chromium PATH [--large REPORT --large-rows N]

Opens REPORT (a file written by nbkf::migrate::html) from disk and checks it against
EXPECTED (JSON: the totals given to the writer and the records added):
- the totals shown are the totals given, and agree with the outcomes of the rows;
- clicking a column heading sorts the rows ascending, then descending;
- the text filter and the outcome checkboxes show the rows they should;
- a row opens (click, Enter) and closes (Space) its details: its diagnostics, and its
  pipeline's drawing with one `g.step` per step;
- the page logged no errors.
With --large, a report of N rows loads, sorts and filters quickly.
Screenshots go to SCREENSHOTS. Exits non-zero, saying what failed, on any failure.
"""

import argparse
import json
import sys
import time
from pathlib import Path

from playwright.sync_api import sync_playwright

OTHER_FAILURES = ["unreadable", "invalid", "failed", "timed_out"]
# How long a large report may take to sort or filter, in ms (generous: a shared machine).
LARGE_BUDGET_MS = 1500


class Failure(Exception):
    pass


def check(condition, message):
    if not condition:
        raise Failure(message)


def visible_sources(page):
    return page.eval_on_selector_all("#notebooks tbody.rec:not([hidden])", "bs => bs.map(b => b.dataset.source)")


def check_totals(page, totals, records):
    shown = page.eval_on_selector_all(
        "[data-total]", "es => Object.fromEntries(es.map(e => [e.dataset.total, e.textContent.trim()]))"
    )
    expected = dict(totals)
    expected["other_failures"] = sum(totals[k] for k in OTHER_FAILURES)
    for key, value in expected.items():
        check(shown.get(key) == str(value), f"total {key}: shown {shown.get(key)!r}, given {value}")
    outcomes = page.eval_on_selector_all("#notebooks tbody.rec", "bs => bs.map(b => b.dataset.outcome)")
    check(len(outcomes) == totals["notebooks"] == len(records), f"{len(outcomes)} rows, totals say {totals['notebooks']}")
    counted = {o: outcomes.count(o) for o in set(outcomes)}
    converted = counted.get("converted", 0) + counted.get("converted_with_warnings", 0)
    check(converted == totals["converted"], f"{converted} converted rows, totals say {totals['converted']}")
    for key in ["converted_with_warnings", "refused"] + OTHER_FAILURES:
        check(counted.get(key, 0) == totals[key], f"{counted.get(key, 0)} {key} rows, totals say {totals[key]}")
    # The totals are shown above the table although written after it.
    top = page.locator("section.totals").bounding_box()["y"]
    table = page.locator("section.notebooks").bounding_box()["y"]
    check(top < table, f"the totals (y={top}) are not above the table (y={table})")
    pct = page.text_content("[data-pct=converted]").strip()
    want = f"{round(totals['converted'] * 100 / totals['notebooks'])}%"
    check(pct == want, f"converted share {pct!r}, expected {want!r}")
    chips = page.eval_on_selector_all(
        "[data-chip-count]", "es => Object.fromEntries(es.map(e => [e.dataset.chipCount, +e.textContent]))"
    )
    for outcome, n in chips.items():
        check(n == counted.get(outcome, 0), f"chip {outcome}: {n}, rows {counted.get(outcome, 0)}")
    print(f"totals: ok ({json.dumps(expected)})")


def check_sort(page, shots):
    def order(key):
        return page.eval_on_selector_all("#notebooks tbody.rec", f"bs => bs.map(b => b.dataset.{key})")

    def numbers(key, reverse=False):
        """The column's values in row order, checked sorted with the rows lacking one last."""
        values = order(key)
        known = [float(v) for v in values if v != ""]
        check(known == sorted(known, reverse=reverse), f"not {'de' if reverse else 'a'}scending by {key}: {values}")
        check(values[len(known):] == [""] * (len(values) - len(known)), f"rows without {key} not last: {values}")

    page.click("th[data-sort=time] button")
    numbers("time")
    check(page.get_attribute("th[data-sort=time]", "aria-sort") == "ascending", "time heading not marked ascending")
    page.click("th[data-sort=time] button")
    numbers("time", reverse=True)
    check(page.get_attribute("th[data-sort=time]", "aria-sort") == "descending", "time heading not marked descending")

    page.click("th[data-sort=steps] button")
    numbers("steps")
    check(page.get_attribute("th[data-sort=time]", "aria-sort") == "none", "time heading still marked")

    page.click("th[data-sort=source] button")
    sources = order("source")
    check(sources == sorted(sources), f"not ascending by path: {sources}")
    page.screenshot(path=str(shots / "sorted.png"), full_page=True)
    print("sort: ok")


def matches(record, query):
    texts = [record.get("source") or "", record.get("message") or ""]
    for d in record.get("diagnostics") or []:
        texts += [d.get("message") or "", d.get("code") or "", d.get("hint") or ""]
    return any(query in t.lower() for t in texts)


def check_filter(page, records, shots):
    query = "corpus/"
    page.fill("#filter", query)
    page.press("#filter", "Enter")
    want = sorted(r["source"] for r in records if matches(r, query))
    got = sorted(visible_sources(page))
    check(got == want, f"filter {query!r}: shows {got}, expected {want}")
    check(page.is_visible(f"text={len(want)} of {len(records)} notebooks"), "the count of shown rows is wrong")

    page.uncheck(".chips input[value=refused]")
    want_refused = sorted(r["source"] for r in records if matches(r, query) and r["outcome"] != "refused")
    got = sorted(visible_sources(page))
    check(got == want_refused, f"filter without refused: shows {got}, expected {want_refused}")
    page.screenshot(path=str(shots / "filtered.png"), full_page=True)

    page.fill("#filter", "no notebook has this text")
    page.press("#filter", "Enter")
    check(visible_sources(page) == [], "rows shown for a filter nothing matches")
    check(page.is_visible("#empty"), "no message when nothing matches")

    # Typing filters by itself, after a short pause.
    page.fill("#filter", "")
    page.type("#filter", "fixtures/")
    typed = [r for r in records if matches(r, "fixtures/") and r["outcome"] != "refused"]
    page.wait_for_function(
        "(n) => document.querySelectorAll('#notebooks tbody.rec:not([hidden])').length === n", arg=len(typed)
    )
    page.check(".chips input[value=refused]")
    want = sorted(r["source"] for r in records if matches(r, "fixtures/"))
    got = sorted(visible_sources(page))
    check(got == want, f"filter 'fixtures/': shows {got}, expected {want}")
    page.fill("#filter", "")
    page.press("#filter", "Enter")
    check(len(visible_sources(page)) == len(records), "clearing the filter does not show every row")
    n_fixtures = len(want)
    # A code in the most common diagnostics shows the notebooks having it.
    button = page.locator("#common button.code").first
    code = button.inner_text()
    button.click()
    want = sorted(r["source"] for r in records if matches(r, code.lower()))
    got = sorted(visible_sources(page))
    check(got == want, f"code {code}: shows {got}, expected {want}")
    page.fill("#filter", "")
    page.press("#filter", "Enter")
    print(f"filter: ok ({n_fixtures} fixtures, {len(got)} with {code})")


def check_details(page, records, shots):
    drawn = [r for r in records if r.get("pipeline_name") and r.get("steps")]
    record = max(drawn, key=lambda r: (len(r.get("diagnostics") or []), len(r["steps"])))
    source = record["source"]
    row = page.locator(f'#notebooks tr.row[data-source="{source}"]')
    detail = page.locator(f'#notebooks tbody.rec[data-source="{source}"] tr.detail')
    check(not detail.is_visible(), f"{source}: details shown before the row is opened")
    row.click()
    check(detail.is_visible(), f"{source}: details not shown after a click")
    check(row.get_attribute("aria-expanded") == "true", f"{source}: aria-expanded not true")
    diags = detail.locator("tr.diag")
    expected = record.get("diagnostics") or []
    check(diags.count() == len(expected), f"{source}: {diags.count()} diagnostics shown, {len(expected)} in the record")
    for i, d in enumerate(expected):
        text = diags.nth(i).inner_text()
        check(d["code"] in text and d["message"].splitlines()[0] in text, f"{source}: diagnostic {i} reads {text!r}")
    steps = detail.locator(".graph svg g.step")
    check(steps.count() == len(record["steps"]), f"{source}: {steps.count()} step nodes, {len(record['steps'])} steps")
    check(detail.locator(".graph svg").is_visible(), f"{source}: the drawing is not visible")
    box = detail.locator(".graph").bounding_box()
    check(box["height"] <= 340, f"{source}: the drawing is {box['height']}px high")
    row.scroll_into_view_if_needed()
    page.screenshot(path=str(shots / "expanded.png"))
    page.locator(f'#notebooks tbody.rec[data-source="{source}"]').screenshot(path=str(shots / "expanded-row.png"))
    row.click()
    check(not detail.is_visible(), f"{source}: details still shown after a second click")

    # The keyboard: Enter opens, Space closes.
    refused = next(r for r in records if r["outcome"] == "refused" and "<script>" in r["source"])
    rec = page.locator("#notebooks tbody.rec").filter(has=page.locator("tr.row", has_text="<script>"))
    check(rec.count() == 1, f"{rec.count()} rows with <script> in their path")
    row, detail = rec.locator("tr.row"), rec.locator("tr.detail")
    row.focus()
    page.keyboard.press("Enter")
    check(detail.is_visible(), "Enter does not open a row")
    check(detail.locator(".msg").inner_text() == refused["message"], "the message is not shown as text")
    check(detail.locator("tr.diag").count() == 1, "the made-up diagnostic is not shown")
    page.keyboard.press(" ")
    check(not detail.is_visible(), "Space does not close a row")
    print(f"details: ok ({source}: {len(expected)} diagnostics, {len(record['steps'])} steps)")


def check_large(browser, path, rows, shots, errors):
    page = browser.new_page(viewport={"width": 1400, "height": 1000})
    page.on("console", lambda m: m.type == "error" and errors.append(f"large: {m.text}"))
    page.on("pageerror", lambda e: errors.append(f"large: {e}"))
    started = time.monotonic()
    page.goto(Path(path).resolve().as_uri())
    loaded = (time.monotonic() - started) * 1000
    count = page.eval_on_selector_all("#notebooks tbody.rec", "bs => bs.length")
    check(count == rows, f"large: {count} rows, expected {rows}")
    timed = page.evaluate(
        """() => {
            const th = document.querySelector('th[data-sort=time] button');
            let t = performance.now(); th.click(); const sort = performance.now() - t;
            const f = document.getElementById('filter');
            f.value = 'batch03/'; t = performance.now();
            f.dispatchEvent(new KeyboardEvent('keydown', {key: 'Enter'}));
            const filter = performance.now() - t;
            const shown = document.querySelectorAll('#notebooks tbody.rec:not([hidden])').length;
            return {sort, filter, shown};
        }"""
    )
    check(timed["shown"] > 0, f"large: the filter shows no row: {timed}")
    check(timed["sort"] < LARGE_BUDGET_MS, f"large: sorting took {timed['sort']:.0f} ms")
    check(timed["filter"] < LARGE_BUDGET_MS, f"large: filtering took {timed['filter']:.0f} ms")
    page.screenshot(path=str(shots / "large.png"))
    print(f"large: ok ({rows} rows: loaded in {loaded:.0f} ms, sorted in {timed['sort']:.0f} ms, "
          f"filtered in {timed['filter']:.0f} ms)")
    page.close()


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("report")
    parser.add_argument("expected")
    parser.add_argument("screenshots")
    parser.add_argument("--chromium", required=True)
    parser.add_argument("--large")
    parser.add_argument("--large-rows", type=int, default=0)
    args = parser.parse_args()
    expected = json.loads(Path(args.expected).read_text())
    shots = Path(args.screenshots)
    shots.mkdir(parents=True, exist_ok=True)
    errors = []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=args.chromium, args=["--no-sandbox"])
        try:
            page = browser.new_page(viewport={"width": 1400, "height": 1000})
            page.on("console", lambda m: m.type == "error" and errors.append(m.text))
            page.on("pageerror", lambda e: errors.append(str(e)))
            page.on("dialog", lambda d: (errors.append(f"a dialog opened: {d.message}"), d.dismiss()))
            page.goto(Path(args.report).resolve().as_uri())
            check(page.title() == "Migration of fixtures & corpus <test>", f"title {page.title()!r}")
            page.screenshot(path=str(shots / "overview.png"), full_page=True)
            check_totals(page, expected["totals"], expected["records"])
            check_sort(page, shots)
            check_filter(page, expected["records"], shots)
            check_details(page, expected["records"], shots)
            if args.large:
                check_large(browser, args.large, args.large_rows, shots, errors)
            check(not errors, f"the page logged errors: {errors}")
        except Failure as e:
            print(f"report: FAILED: {e}")
            sys.exit(1)
        finally:
            browser.close()
    print("report: ok")


if __name__ == "__main__":
    main()
