#!/usr/bin/env python3
"""Writes the committed seed corpora in fuzz/seeds/<target>/ from the shared corpus
(../shared/corpus, or $NBKF_SHARED/corpus) and fixtures/*.ipynb.

notebook, convert: whole notebooks; those over 32 KB with their outputs emptied (nbkf
    skips outputs unread, and big inputs only slow the fuzzer down).
python: the source of each code cell, one file per distinct source.
tags: the tag list of each tagged cell, one tag a line, plus every tag form nbkf knows.
Each directory stays well under 2 MB. Run: python3 fuzz/make_seeds.py
"""
import hashlib
import json
import os
import pathlib
import shutil

fuzz = pathlib.Path(__file__).resolve().parent
repo = fuzz.parent
shared = pathlib.Path(os.environ.get("NBKF_SHARED", repo.parent / "shared"))
notebooks = sorted((shared / "corpus").glob("*.ipynb")) + sorted((repo / "fixtures").glob("*.ipynb"))
seeds = fuzz / "seeds"
LIMIT = 2_000_000

# Tag forms from src/tags.rs and the README, so the tags target starts from all of them.
EXTRA_TAGS = [
    "imports", "functions", "pipeline-parameters", "parameters", "pipeline-metrics", "skip",
    "step:train", "block:load_data", "step:", "prev:load_data", "prev:a\nprev:b\nstep:c",
    "limit:cpu:2", "limit:memory:4Gi", "limit:nvidia.com/gpu:1", "limit:cpu", "limit:cpu:-1",
    "annotation:team:ml", "label:tier:gold", "secret:creds:/etc/creds", "image:python:3.11",
    "cache:false", "cache:true", "report:html", "notebook:x", "step:Bad Name", "unknown",
    "step:a\nimports", "skip\nstep:a", "step:a\nlimit:memory:1.5Gi\ncache:false\nimage:busybox",
]


def digest(data: bytes) -> str:
    return hashlib.sha1(data).hexdigest()


def write(target: str, data: bytes, sizes: dict) -> None:
    if sizes[target] + len(data) > LIMIT:
        return
    path = seeds / target / digest(data)
    if not path.exists():
        path.write_bytes(data)
        sizes[target] += len(data)


def main() -> None:
    if seeds.exists():
        shutil.rmtree(seeds)
    sizes = {}
    for target in ("notebook", "convert", "python", "tags"):
        (seeds / target).mkdir(parents=True)
        sizes[target] = 0
    # Small notebooks first, so a size cap drops the biggest ones.
    for path in sorted(notebooks, key=lambda p: p.stat().st_size):
        data = path.read_bytes()
        nb = json.loads(data.decode("utf-8-sig"))
        if len(data) > 32_000:
            for cell in nb.get("cells", []):
                if "outputs" in cell:
                    cell["outputs"] = []
            data = (json.dumps(nb, indent=1, ensure_ascii=False) + "\n").encode()
        if len(data) <= 200_000:
            write("notebook", data, sizes)
            write("convert", data, sizes)
        for cell in nb.get("cells", []):
            source = cell.get("source", "")
            if isinstance(source, list):
                source = "".join(source)
            if cell.get("cell_type") == "code" and source.strip():
                write("python", source.encode(), sizes)
            tags = cell.get("metadata", {}).get("tags")
            if isinstance(tags, list) and tags:
                write("tags", "\n".join(str(t) for t in tags).encode(), sizes)
    for tags in EXTRA_TAGS:
        write("tags", tags.encode(), sizes)
    for target, size in sizes.items():
        print(f"{target}: {len(list((seeds / target).iterdir()))} files, {size} bytes")


main()
