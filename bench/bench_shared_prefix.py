"""Shared-prefix sweep vs independent generation for a forced budget sweep, side by side in one run.

For each (item, seed): budgets 0,64,128,256,512 answered (a) independently, one `generate` per budget, and
(b) by `generate_sweep` from one thinking trace. Prints generated tokens (thinking + answer passes, as counted by
the runtime), wall time, and whether every budget's result is identical (target: >= 1.6x fewer tokens, all equal).

    python bench/bench_shared_prefix.py [--items 2] [--budgets 0,64,128,256,512]
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

from overthink.budget import plan_budget
from overthink.providers import load_model
from overthink.providers.base import GenerateRequest
from overthink.tasks import get_task

FIELDS = ("reasoning", "answer_text", "reasoning_tokens", "thinking_stop", "truncated")


async def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--model", default="local:qwen2.5-coder-0.5b")
    ap.add_argument("--items", type=int, default=2, help="items per task")
    ap.add_argument("--budgets", default="0,64,128,256,512")
    ap.add_argument("--answer-tokens", type=int, default=32)
    args = ap.parse_args()
    budgets = [int(b) for b in args.budgets.split(",")]
    model = load_model(args.model, {})
    model.engine()

    rows, totals = [], {"ind_tok": 0, "sh_tok": 0, "ind_s": 0.0, "sh_s": 0.0, "same": 0, "n": 0}
    for task_name in ("misleading-math", "word-problems"):
        task = get_task(task_name)
        for item in task.items(args.items, seed=0):
            reqs = [GenerateRequest(prompt=task.render(item), seed=1,
                                    plan=plan_budget(b, "forced", answer_margin=args.answer_tokens)) for b in budgets]
            t = time.perf_counter()
            ind = {r.plan.budget: await model.generate(r) for r in reqs}
            ind_s = time.perf_counter() - t
            # independent: each run generated its own thinking (its trace length, +1 for an end-of-turn or the
            # stop word's tokens are not counted either side) and its answer
            ind_tok = sum(c.reasoning_tokens + c.extra["answer_tokens"] for c in ind.values())
            t = time.perf_counter()
            shared = {r.plan.budget: c async for r, c in model.generate_sweep(reqs)}
            sh_s = time.perf_counter() - t
            trace = max((c.extra.get("shared_think_tokens", 0) for c in shared.values()), default=0)
            answers = {}
            for c in shared.values():  # one answer pass per distinct cut: count each once
                answers[(c.thinking_stop, c.reasoning_tokens)] = c.extra["answer_tokens"]
            alone = [c for c in shared.values() if not c.shared_trace and c.thinking_stop != "none"]
            sh_tok = trace + sum(answers.values()) + sum(c.reasoning_tokens for c in alone)
            same = sum(all(getattr(shared[b], f) == getattr(ind[b], f) for f in FIELDS) for b in budgets)
            grades = " ".join(f"{b}:{task.grade(item, ind[b].answer_text).answer}" for b in budgets)
            rows.append(f"{item.id:14}{ind_tok:8}{sh_tok:8}{ind_tok / max(sh_tok, 1):7.2f}x{ind_s:8.1f}{sh_s:8.1f}"
                        f"{same:5}/{len(budgets)}  {grades}")
            for k, v in (("ind_tok", ind_tok), ("sh_tok", sh_tok), ("ind_s", ind_s), ("sh_s", sh_s),
                         ("same", same), ("n", len(budgets))):
                totals[k] += v
            print(rows[-1], flush=True)
    print(f"\n{'item':14}{'ind tok':>8}{'sh tok':>8}{'ratio':>8}{'ind s':>8}{'sh s':>8}{'same':>7}  answers by budget")
    print("\n".join(rows))
    print(f"{'TOTAL':14}{totals['ind_tok']:8}{totals['sh_tok']:8}{totals['ind_tok'] / totals['sh_tok']:7.2f}x"
          f"{totals['ind_s']:8.1f}{totals['sh_s']:8.1f}{totals['same']:5}/{totals['n']}")
    print(f"generated tokens: {totals['ind_tok'] / totals['sh_tok']:.2f}x fewer with the shared prefix; "
          f"wall time {totals['ind_s'] / totals['sh_s']:.2f}x faster; identical results "
          f"{totals['same']}/{totals['n']}")


if __name__ == "__main__":
    asyncio.run(main())
