#!/usr/bin/env python3
"""Writes a copy of an untagged notebook split into steps.

Usage: split_sections.py IN.ipynb OUT.ipynb

Each markdown heading starts a new step: the first code cell after it gets a tag
`step:<name>` made from the heading (`## Load the data` -> `step:s3_load_the_data`). A
notebook without headings gets one step per code cell, the hardest split there is.
Nothing else changes.
"""
import json
import re
import sys


def main(src, dst):
    with open(src, encoding="utf-8-sig") as f:
        nb = json.load(f)
    headings = any(
        c.get("cell_type") == "markdown" and re.search(r"^#+\s", "".join(c.get("source", "")) if isinstance(c.get("source"), list) else c.get("source", ""), re.M)
        for c in nb["cells"]
    )
    pending, count = None, 0
    first_code = True
    for cell in nb["cells"]:
        source = cell.get("source", "")
        text = "".join(source) if isinstance(source, list) else source
        if cell.get("cell_type") == "markdown":
            m = re.search(r"^#+\s+(.*)$", text, re.M)
            if m:
                pending = m.group(1)
            continue
        if cell.get("cell_type") != "code":
            continue
        tags = cell.setdefault("metadata", {}).setdefault("tags", [])
        if any(t.startswith(("step:", "block:")) or t in ("skip", "imports", "functions") for t in tags):
            continue
        if not headings or pending is not None or first_code:
            count += 1
            words = re.sub(r"[^a-z0-9]+", "_", (pending or "cell").lower()).strip("_")[:30]
            tags.append("step:s%d_%s" % (count, words or "section"))
            pending = None
        first_code = False
    with open(dst, "w", encoding="utf-8") as f:
        json.dump(nb, f, indent=1)


if __name__ == "__main__":
    main(*sys.argv[1:])
