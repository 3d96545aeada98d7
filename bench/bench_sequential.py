"""`overthink run --until-decided` against the fixed design at the same ceiling, on the local OpenAI-compatible
server with a known truth (tests/servers/fake_api.py + tests/servers/truth.py).

Two cells on one model: misleading-math with an inverse truth (EFFECT_PER_DOUBLING points lost per doubling of the
budget, items of varying difficulty: base share correct uniform in 30-90 %) and word-problems with a flat truth (no
effect). Both designs run through the real CLI in a subprocess against the same server with the same ceiling
(--limit); printed side by side: requests the server answered, paid output tokens (the samples' billed output
tokens), items used, and the verdicts (the fixed design's calibrated trend test; the sequential decision).
Target (issue 29): under the effect the same verdict with <= 40 % of the fixed design's paid output tokens; under
no effect flat or undecided, never inverse.

    python bench/bench_sequential.py               # ceiling 400 items per task
    python bench/bench_sequential.py --limit 200
    python bench/bench_sequential.py --seeds 5     # also --until-decided with seeds 1..4 (other item orders and
                                                   # draws): how much a single run's saving varies
"""

from __future__ import annotations

import argparse
import json
import os
import sqlite3
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))

from servers.fake_api import FakeAPI  # noqa: E402
from servers.truth import BUDGET_FIELD, KnownTruth  # noqa: E402

from overthink.tasks import get_task  # noqa: E402

BUDGETS = [256, 512, 1024, 2048, 4096]
EFFECT_PER_DOUBLING = 0.05  # 5 points per doubling: 20 points from 256 to 4096
TASKS = {"misleading-math": EFFECT_PER_DOUBLING * (len(BUDGETS) - 1), "word-problems": 0.0}
KEYS = {"OPENAI_API_KEY": "sk-openai-test-000"}


def run(cfg: Path, run_dir: Path, *extra: str) -> float:
    started = time.perf_counter()
    res = subprocess.run([sys.executable, "-m", "overthink", "run", "--config", str(cfg), "--run-dir", str(run_dir),
                          "--quiet", *extra], capture_output=True, text=True, env={**os.environ, **KEYS})
    if res.returncode != 0:
        sys.exit(f"run failed ({res.returncode}): {res.stderr[-2000:]}")
    return time.perf_counter() - started


def paid(run_dir: Path) -> dict[str, tuple[int, int, int]]:
    """Per task: (requests stored, paid output tokens, items used)."""
    con = sqlite3.connect(run_dir / "overthink.sqlite")
    try:
        rows = con.execute("SELECT task, COUNT(*), SUM(output_tokens), COUNT(DISTINCT item_id) FROM samples "
                           "GROUP BY task").fetchall()
    finally:
        con.close()
    return {t: (n, int(tok or 0), items) for t, n, tok, items in rows}


def fixed_verdicts(run_dir: Path) -> dict[str, str]:
    res = subprocess.run([sys.executable, "-m", "overthink", "summary", str(run_dir), "--json"], capture_output=True,
                         text=True, check=True)
    return {v["task"]: v["verdict"] for v in json.loads(res.stdout)["verdicts"]}


def sequential_decisions(run_dir: Path) -> dict[str, dict]:
    con = sqlite3.connect(run_dir / "overthink.sqlite")
    try:
        meta = json.loads(con.execute("SELECT value FROM meta WHERE key = 'sequential'").fetchone()[0])
    finally:
        con.close()
    return {c["task"]: c for c in meta["cells"]}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--limit", type=int, default=400, help="the ceiling: items per task (both designs)")
    ap.add_argument("--concurrency", type=int, default=16)
    ap.add_argument("--seeds", type=int, default=1, help="sequential runs with seeds 0..N-1 (the fixed: seed 0)")
    args = ap.parse_args()
    # a generated task's items depend on the seed: the truth knows every seed's items
    truth = KnownTruth({name: ([i for seed in range(args.seeds) for i in get_task(name).items(n=args.limit, seed=seed)],
                               get_task(name), effect) for name, effect in TASKS.items()}, BUDGETS)
    api = FakeAPI().start()
    api.answer_for = truth
    try:
        with tempfile.TemporaryDirectory() as tmp:
            spec = f"openai-compatible:qwen3@{api.url}/v1"
            cfg = Path(tmp) / "bench.yaml"
            cfg.write_text(yaml.safe_dump({
                "models": [spec], "tasks": list(TASKS), "budgets": BUDGETS, "mechanism": "native",
                "limit": args.limit, "concurrency": args.concurrency,
                "model_options": {spec: {"capabilities": {"budget_field": BUDGET_FIELD}, "timeout_s": 30}}}))
            results = {}
            for name, extra in (("fixed", ()), ("until-decided", ("--until-decided",))):
                before = len(truth.asked)
                wall = run(cfg, Path(tmp) / name, *extra)
                results[name] = dict(wall=wall, asked=len(truth.asked) - before, paid=paid(Path(tmp) / name))
            verdicts = fixed_verdicts(Path(tmp) / "fixed")
            decisions = sequential_decisions(Path(tmp) / "until-decided")
            others = []
            for seed in range(1, args.seeds):
                run(cfg, Path(tmp) / f"seed{seed}", "--until-decided", "--seed", str(seed))
                others.append((seed, paid(Path(tmp) / f"seed{seed}"), sequential_decisions(Path(tmp) / f"seed{seed}")))
    finally:
        api.stop()

    fixed, seq = results["fixed"], results["until-decided"]
    print(f"ceiling {args.limit} items per task, budgets {BUDGETS}, 1 replicate, one model; server requests: fixed "
          f"{fixed['asked']:,}, until-decided {seq['asked']:,} ({seq['asked'] / fixed['asked']:.0%}); wall "
          f"{fixed['wall']:.0f} s vs {seq['wall']:.0f} s")
    print("| task (truth) | design | requests | paid output tokens | items used | verdict / decision | interval |")
    print("|---|---|---|---|---|---|---|")
    ok = True
    for task, effect in TASKS.items():
        truth_words = f"inverse, {100 * effect:g} points" if effect else "flat"
        f_req, f_tok, f_items = fixed["paid"][task]
        s_req, s_tok, s_items = seq["paid"][task]
        d = decisions[task]
        print(f"| {task} ({truth_words}) | fixed | {f_req:,} | {f_tok:,} | {f_items} | {verdicts.get(task)} "
              f"(descriptive test on all items) | - |")
        print(f"| {task} ({truth_words}) | until-decided | {s_req:,} ({s_req / f_req:.0%}) | {s_tok:,} "
              f"({s_tok / f_tok:.0%}) | {s_items} (round {d['rounds']}) | {d['decision']} | "
              f"{100 * d['low']:+.1f} to {100 * d['high']:+.1f} points |")
        if effect:
            met = d["decision"] == verdicts.get(task) == "inverse" and s_tok <= 0.4 * f_tok
        else:
            met = d["decision"] in ("flat", "undecided")
        ok &= met
        print(f"target for {task}: {'met' if met else 'NOT met'}")
    total_f = sum(v[1] for v in fixed["paid"].values())
    total_s = sum(v[1] for v in seq["paid"].values())
    print(f"all cells: paid output tokens {total_s:,} vs {total_f:,} ({total_s / total_f:.0%}); targets "
          f"{'met' if ok else 'NOT met'}")
    if others:
        inverse_task = next(t for t, e in TASKS.items() if e)
        shares = [seq["paid"][inverse_task][1] / fixed["paid"][inverse_task][1]]
        print("| seed | " + " | ".join(f"{t}: decision, items, share of fixed tokens" for t in TASKS) + " |")
        print("|---|" + "---|" * len(TASKS))
        for seed, p, d in [(0, seq["paid"], decisions), *others]:
            cells = [f"{d[t]['decision']}, {d[t]['items']}, {p[t][1] / fixed['paid'][t][1]:.0%}" for t in TASKS]
            print(f"| {seed} | " + " | ".join(cells) + " |")
            if seed:
                shares.append(p[inverse_task][1] / fixed["paid"][inverse_task][1])
        shares.sort()
        print(f"{inverse_task}: share of the fixed design's paid output tokens over {len(shares)} seeds: median "
              f"{shares[len(shares) // 2]:.0%}, mean {sum(shares) / len(shares):.0%}, range {shares[0]:.0%}-"
              f"{shares[-1]:.0%}")


if __name__ == "__main__":
    main()
