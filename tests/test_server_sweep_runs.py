"""`overthink run` against a real llama.cpp HTTP server (xllamacpp, SmolLM2), end to end through the CLI and the
run store: `--independent` sends a request pair per budget and records that design; a shared-trace run gives the
same thinking text and answers, token for token, at temperature 0; `--probe-cuts N` answers extra cuts of the
shared trace, each the answer an independent run at that budget gives."""

from __future__ import annotations

import asyncio

import pytest
from helpers import run_cli

from overthink.analysis.api import analyze
from overthink.budget import plan_budget
from overthink.forcing import probe_positions
from overthink.providers import GenerateRequest, load_model
from overthink.store import Store
from overthink.tasks import get_task

pytestmark = pytest.mark.slow

# The first item is capped at 8 and stops naturally (at 16 tokens) below 24. (A second item, capped at 8 and stopping
# at 9, and a budget 48 took the same paths: dropped, the item cost ~6 s of CPU.)
BUDGETS = [0, 8, 24]
SAME = ("reasoning", "answer_text", "answer", "reasoning_tokens", "thinking_stop", "status", "output_tokens",
        "input_tokens")


def overthink_run(url: str, run_dir, *more: str, limit: int = 1) -> dict[tuple, dict]:
    out = run_cli("run", "--model", f"openai-compatible:smollm2@{url}", "--task", "misleading-math",
                  "--limit", str(limit), "--budgets", ",".join(map(str, BUDGETS)), "--mechanism", "forced",
                  "--temperature", "0",
                  "--answer-margin", "24", "--run-dir", str(run_dir), "--quiet", *more, timeout=900)
    assert out.returncode == 0, out.stderr
    with Store(run_dir) as store:
        return {(r["item_id"], r["budget"]): r for r in store.iter_samples()}


def test_independent_run_sends_a_pair_per_budget_and_matches_the_shared_trace(llama_server_url, tmp_path):
    independent = overthink_run(llama_server_url, tmp_path / "ind", "--independent")
    shared = overthink_run(llama_server_url, tmp_path / "sh")
    assert set(independent) == set(shared) and len(shared) == len(BUDGETS)
    for key, ind in independent.items():
        meta = ind["metadata"]
        assert not ind["shared_trace"] and "shared_think_tokens" not in meta, key
        assert meta["enforced_by"] == "client_forcing"
        if key[1] > 0:  # its own thinking pass (the cap + lookahead) and its own answer pass
            assert meta["passes"] == 2 and key[1] < meta["think_pass_tokens"] or ind["thinking_stop"] == "natural"
        sh = shared[key]
        for f in SAME:
            assert sh[f] == ind[f], (key, f, sh[f], ind[f])
    cut = [s for s in shared.values() if s["shared_trace"] and s["thinking_stop"] == "capped"]
    assert cut, "no budget was a cut of a longer trace: the test does not compare cuts"
    for s in cut:  # one trace per item: every cut is the prefix of the item's longest thinking
        longest = shared[(s["item_id"], max(BUDGETS))]["reasoning"]
        assert longest.startswith(s["reasoning"].rstrip()) and s["reasoning_tokens"] == s["budget"]
    # the design is recorded: in the stored config and in the trajectory table the analysis builds
    with Store(tmp_path / "ind") as store:
        assert store.get_meta("config")["independent"] is True
    with Store(tmp_path / "sh") as store:
        assert store.get_meta("config")["independent"] is False
    assert set(analyze([tmp_path / "ind"], n_boot=50)["trajectories"]["design"]) == {"independent"}
    traj = analyze([tmp_path / "sh"], n_boot=50)["trajectories"]
    assert set(traj.loc[traj["cut"] > 0, "design"]) == {"shared"}  # (budget 0 alone carries no trace marker)


def test_probe_cuts_are_the_answers_of_independent_runs_at_those_cuts(llama_server_url, tmp_path):
    # one item (the second one's answers run out of tokens: truncated, and a truncated sample's probes are not
    # graded, so it checked no probe)
    shared = overthink_run(llama_server_url, tmp_path / "probe", "--probe-cuts", "3")
    m = load_model(f"openai-compatible:smollm2@{llama_server_url}", {"timeout_s": 120})
    loop = asyncio.new_event_loop()
    checked = 0
    task = get_task("misleading-math")
    items = {i.id: i for i in task.items(1, seed=0)}  # the run's items (its seed is 0)
    assert {item for item, _ in shared} == set(items)
    for (item, budget), s in shared.items():
        probes = s["metadata"].get("probe_cuts") or []
        if budget != max(BUDGETS):
            assert not probes  # probes ride on the longest budget only
            continue
        if s["status"] == "truncated":
            continue  # not graded, so its probes are not either
        taken = {r["reasoning_tokens"] for (i, _), r in shared.items() if i == item}
        cuts = [p["cut"] for p in probes]  # evenly spaced over the trace tokens (stop word excluded)
        assert any(cuts == probe_positions(3, n, taken) for n in range(2, min(s["reasoning_tokens"], max(BUDGETS)) + 1))
        for p in probes:
            req = GenerateRequest(prompt=task.render(items[item]), system=task.system, seed=0, temperature=0.0,
                                  plan=plan_budget(p["cut"], "forced", answer_margin=24))
            alone = loop.run_until_complete(m.generate(req))
            assert alone.thinking_stop == "capped" and alone.reasoning_tokens == p["cut"]
            assert p["answer_text"] == alone.answer_text, (item, p["cut"])
            assert p["chars"] == len(alone.reasoning) and "correct" in p
            checked += 1
    loop.run_until_complete(m.aclose())
    assert checked, "no probe cut was answered"
    traj = analyze([tmp_path / "probe"], n_boot=50)["trajectories"]
    assert (traj["source"] == "probe").sum() >= 1
