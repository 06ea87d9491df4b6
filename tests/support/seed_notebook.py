#!/usr/bin/env python3
"""Writes a copy of a notebook that seeds the global random generators it uses.

Usage: seed_notebook.py IN.ipynb OUT.ipynb [SEED]

Notebooks that draw random numbers without a seed give different values on every run, so
no two runs (of the notebook or of its pipeline) can be compared. This adds one cell at
the top, tagged `imports` (it runs at the start of every step, like the notebook's own
imports), that seeds `random` and, when the notebook imports numpy, `numpy.random`.
Everything else is unchanged.
"""
import json
import sys


def main(src, dst, seed="0"):
    with open(src, encoding="utf-8-sig") as f:
        nb = json.load(f)
    text = "".join("".join(c["source"]) if isinstance(c["source"], list) else c["source"] for c in nb["cells"])
    lines = ["import random", "random.seed(%d)" % int(seed)]
    if "numpy" in text:
        lines += ["import numpy", "numpy.random.seed(%d)" % int(seed)]
    cell = {"cell_type": "code", "execution_count": None, "metadata": {"tags": ["imports"]}, "outputs": [], "source": "\n".join(lines)}
    if nb.get("nbformat_minor", 0) >= 5:
        cell["id"] = "nbkf-seed"
    first_code = next((i for i, c in enumerate(nb["cells"]) if c.get("cell_type") == "code"), len(nb["cells"]))
    nb["cells"].insert(first_code, cell)
    with open(dst, "w", encoding="utf-8") as f:
        json.dump(nb, f, indent=1)


if __name__ == "__main__":
    main(*sys.argv[1:])
