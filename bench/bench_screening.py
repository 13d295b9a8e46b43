"""Benchmark: screening one agreement term in-process (cases.screening.engine.screen: the rules, then the model).

Usage (from the repository's root; PostgreSQL, for the practices' phrases; Redis optional):

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/sulh_screen REDIS_URL=redis://127.0.0.1:6379/9 \\
        .venv/bin/python bench/bench_screening.py [--corpus cases/screening/data/corpus.jsonl] [--rounds 5]

The database must be migrated (the practices' phrases are loaded by migration 0004). Every term of the corpus is
screened --rounds times after one warm-up pass (which compiles the phrases and loads the model); the figures are
per term: p50, p90, p99 and the maximum, in milliseconds. Target (issue 15): p99 ≤ 5 ms.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

from common import percentile  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--corpus", default=str(ROOT / "cases" / "screening" / "data" / "corpus.jsonl"))
    parser.add_argument("--rounds", type=int, default=5)
    options = parser.parse_args()

    import django

    django.setup()
    from cases.screening import compiled, engine, model

    texts = [json.loads(line)["text"] for line in Path(options.corpus).read_text(encoding="utf-8").splitlines() if line]
    started = time.perf_counter()
    compiled.current()
    model.shipped()
    print(f"Compiling the phrases and rules and loading the model: {(time.perf_counter() - started) * 1000:.0f} ms")
    for text in texts:  # warm-up
        engine.screen(text)
    gc.collect()
    gc.freeze()
    times: list[float] = []
    for _round in range(options.rounds):
        for text in texts:
            begun = time.perf_counter()
            engine.screen(text)
            times.append((time.perf_counter() - begun) * 1000)
    print(
        f"{len(texts)} terms x {options.rounds} rounds: p50 {percentile(times, 0.50):.2f} ms, "
        f"p90 {percentile(times, 0.90):.2f} ms, p99 {percentile(times, 0.99):.2f} ms, max {max(times):.2f} ms "
        f"(target: p99 ≤ 5 ms)"
    )


if __name__ == "__main__":
    main()
