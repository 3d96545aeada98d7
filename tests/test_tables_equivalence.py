"""The analysis tables made fast for a million samples (issue 27) equal the tables they replace: each function is
compared with its verbatim old implementation (tests/tables_reference.py) on random real run stores that exercise
the edge cases - errors, truncated and unparsed samples, missing token counts, natural / effort / numeric budgets,
probe cuts (truncated, unparsed, ungraded), shared and independent designs, several runs and models, a model present
in two runs, an rmse task, items with and without distractor spans, recorded and inferred enforcement."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import tables_reference as ref

from overthink.analysis import audit, probes, recommend, sweetspot, trajectories
from overthink.analysis.curves import paper_verdict, score_table
from overthink.analysis.efficiency import efficiency_table, scored_frame
from overthink.analysis.load import RunData, load_runs
from overthink.analysis.trends import verdict_table
from overthink.core import Item, SampleRecord
from overthink.store import Store

WORDS = ("Let me count.", "Wait,", "the answer is 8.", "Hmm, the 40 % chance of rain?", "Actually", "so 8 + 3 = 11.",
         "On second thought", "the answer is 11.", "Double-check: fine.", "the umbrella matters", "<answer>9</answer>")
TASKS = {"acc": "accuracy", "dist": "accuracy", "num": "rmse"}
SOURCES = ("usage", "tokenizer", "estimate", "output_minus_answer_estimate", "none", "no_thinking")
DISTRACTOR = "There is a 40 % chance of rain and an umbrella."


def _trace(rng: np.random.Generator, n: int) -> str:
    return " ".join(WORDS[int(i)] for i in rng.integers(0, len(WORDS), n))


def write_random_run(path: Path, seed: int, *, models=("sim:alpha", "local:beta"), n_items: int = 14,
                     shared: float = 0.5, probe_share: float = 0.6, efforts: bool = True) -> Path:
    """A run store with random samples through the real store API (see the module docstring for what varies)."""
    rng = np.random.default_rng(seed)
    designs = [("forced", [0, 16, 64, 256]), ("prompted", [32, 128])]
    if efforts:
        designs += [("native", ["low", "medium", "high"]), ("native", ["natural"])]
    with Store(path) as store:
        store.set_meta("tasks", {t: {"metric": m} for t, m in TASKS.items()})
        for task in TASKS:
            store.add_items(task, [
                Item(id=f"{task}-{i}", prompt=f"{i % 3 + 5} apples and 3 more. {DISTRACTOR} How many?",
                     answer=str(i % 3 + 8),
                     metadata={"distractor_spans": [DISTRACTOR]} if task == "dist" and i % 4 else {"n": i})
                for i in range(n_items)])
        for model in models:
            provider = model.split(":")[0]
            for task, metric in TASKS.items():
                for mech, budgets in designs:
                    flat = rng.random() < 0.3  # a control that does not change lengths
                    for i in range(n_items):
                        for rep in range(2):
                            is_shared = mech == "forced" and rng.random() < shared
                            full = _trace(rng, int(rng.integers(5, 40)))
                            for b in budgets:
                                cap = b if isinstance(b, int) else {"low": 40, "medium": 90, "high": 200,
                                                                     "natural": 300}[b]
                                status = rng.choice(["ok", "error", "truncated", "unparsed"], p=[.72, .1, .08, .1])
                                tokens = None if rng.random() < 0.08 or status == "error" else int(
                                    rng.integers(0, 60) if flat else min(cap, rng.integers(0, 300)) * 1.3)
                                answer = None if status in ("error", "unparsed") else str(
                                    rng.choice(["8", " 8", "9", "11", "Nine", "nine "]))
                                good = answer is not None and answer.strip() in (str(i % 3 + 8), "9")
                                score = (None if status != "ok" else
                                         float(rng.random() * 4) if metric == "rmse" else float(good))
                                meta: dict = {}
                                if is_shared and b:
                                    meta["shared_think_tokens"] = 300
                                if mech == "forced" and b == budgets[-1] and rng.random() < probe_share:
                                    meta["probe_cuts"] = [
                                        {"cut": int(c), "chars": int(c) * 4, "answer": rng.choice(["8", "9", None]),
                                         **({} if rng.random() < 0.1 else {"correct": rng.choice([True, False, None])}),
                                         "truncated": bool(rng.random() < 0.15)}
                                        for c in rng.integers(1, 300, int(rng.integers(1, 4)))]
                                recorded = rng.random() < 0.6
                                if not recorded and rng.random() < 0.5:
                                    meta["enforced_by"] = "server_field"
                                text = "" if (b == 0 and rng.random() < 0.8) else (
                                    full[:max(1, (tokens or 0) * 3)] if is_shared else _trace(rng, 6))
                                store.record(SampleRecord(
                                    run_id="r", model=model, provider=provider, task=task, item_id=f"{task}-{i}",
                                    budget=b, mechanism=mech, replicate=rep, seed=rep, status=str(status),
                                    reasoning_tokens=tokens, reasoning_tokens_source=str(rng.choice(SOURCES)),
                                    output_tokens=None if rng.random() < 0.1 else (tokens or 0) + 20,
                                    answer=answer, expected=str(i % 3 + 8), score=score, correct=good,
                                    cost_usd=None if rng.random() < 0.3 else float(rng.random() / 100),
                                    reasoning=text, answer_text=f"<answer>{answer}</answer>", metadata=meta,
                                    shared_trace=is_shared and bool(b),
                                    enforced_by=(None if not recorded or status == "error" else
                                                 str(rng.choice(["client_forcing", "prompt", "effort", "none"])))))
    return path


def assert_same(new: pd.DataFrame, old: pd.DataFrame) -> None:
    pd.testing.assert_frame_equal(new, old, check_exact=False, rtol=1e-12, atol=1e-12)


@pytest.fixture(scope="module")
def runs(tmp_path_factory) -> list[RunData]:
    """Random loaded runs: two stores sharing a model (labelled per run), one store alone, and one with numeric
    budgets only (an int budget column rather than a mixed one)."""
    root = tmp_path_factory.mktemp("tables")
    a = write_random_run(root / "a", 1)
    b = write_random_run(root / "b", 2, models=("sim:alpha", "sim:gamma"), shared=1.0)
    c = write_random_run(root / "c", 3, models=("local:delta",), shared=0.0, efforts=False, probe_share=0.0)
    return [load_runs([a, b]), load_runs([a]), load_runs([c])]


def test_the_random_runs_exercise_the_edge_cases(runs):
    s = runs[0].samples
    assert {"ok", "error", "truncated", "unparsed"} <= set(s["status"])
    assert s["reasoning_tokens"].isna().any() and s["enforced_by"].isna().any()
    assert {0, 16, "low", "natural"} <= set(s["budget"]) and s["budget"].dtype == object
    assert s["sample_meta"].str.contains("probe_cuts").any() and s["model"].str.contains(r" \[").any()
    assert runs[2].samples["budget"].dtype == np.int64
    traj = ref.trajectory_table(s, runs[0].metrics())
    assert {"shared", "independent"} <= set(traj["design"]) and (traj["source"] == "probe").any()


@pytest.mark.parametrize("k", [0, 1, 2])
def test_trajectory_table(runs, k):
    data = runs[k]
    assert_same(trajectories.trajectory_table(data.samples, data.metrics()),
                ref.trajectory_table(data.samples, data.metrics()))


def test_trajectory_table_edge_frames(runs):
    s = runs[0].samples
    m = runs[0].metrics()
    for frame in (s.iloc[:0], s[s["status"] == "error"], s[s["mechanism"] != "forced"],
                  s.drop(columns=["sample_meta", "model_id"]), s.sample(frac=1, random_state=4),
                  s.assign(budget=s["budget"].map(lambda b: float(b) if isinstance(b, int) and b % 32 else b)),
                  # keys whose sort order is not their first appearance: case, accents, a missing item id
                  s.assign(item_id=s["item_id"].map({"acc-1": "Été", "acc-2": "été", "acc-3": "Zed",
                                                     "dist-1": "_x"}).fillna(s["item_id"])),
                  s.assign(item_id=s["item_id"].where(s["item_id"] != "acc-4"),
                           replicate=s["replicate"].astype(object))):
        assert_same(trajectories.trajectory_table(frame, m), ref.trajectory_table(frame, m))
    assert_same(trajectories.trajectory_table(s, {"acc": "rmse"}), ref.trajectory_table(s, {"acc": "rmse"}))


@pytest.mark.parametrize("k", [0, 1, 2])
def test_flip_shares_and_flip_table(runs, k):
    data = runs[k]
    traj = ref.trajectory_table(data.samples, data.metrics())
    assert_same(trajectories.flip_shares(traj, n_boot=300), ref.flip_shares(traj, n_boot=300))
    assert_same(trajectories.flip_table(traj, data.items, data.runs), ref.flip_table(traj, data.items, data.runs))
    assert_same(trajectories.flip_table(traj, data.items, data.runs, limit=3),
                ref.flip_table(traj, data.items, data.runs, limit=3))
    shuffled = traj.sample(frac=1, random_state=1)  # rows of a trajectory not adjacent
    assert_same(trajectories.flip_shares(shuffled, n_boot=200), ref.flip_shares(shuffled, n_boot=200))


def test_flip_tables_empty():
    empty = pd.DataFrame()
    assert_same(trajectories.flip_shares(empty), ref.flip_shares(empty))
    assert_same(trajectories.flip_table(empty, pd.DataFrame(), {}), ref.flip_table(empty, pd.DataFrame(), {}))


@pytest.mark.parametrize("k", [0, 1, 2])
def test_audit_and_ledger(runs, k):
    s = runs[k].samples
    assert_same(audit.audit_table(s), ref.audit_table(s))
    assert_same(audit.audit_table(s, tolerance=0.5), ref.audit_table(s, tolerance=0.5))
    assert_same(audit.ledger_table(s), ref.ledger_table(s))
    for frame in (s, s.drop(columns=["enforced_by"]), s.drop(columns=["provider", "model_id"])):
        for got, want in zip(audit.enforcement_column(frame), ref.enforcement_column(frame)):
            pd.testing.assert_series_equal(got, want)
    bare = s.drop(columns=["provider", "enforced_by", "reasoning_chars", "answer_chars", "cost_usd", "model_id"])
    assert_same(audit.audit_table(bare), ref.audit_table(bare))
    if k == 2:  # cells with one token source each (audit._cell_source reads those without counting), and none
        for source in (s["budget"].map(lambda b: "usage" if b != 16 else "none").where(s.index % 9 != 4),
                       s["reasoning_tokens_source"].where(s["budget"] != 64)):
            one = s.assign(reasoning_tokens_source=source)
            assert_same(audit.audit_table(one), ref.audit_table(one))
    assert_same(audit.ledger_table(bare), ref.ledger_table(bare))


@pytest.mark.parametrize("k", [0, 1, 2])
def test_probe_table_and_cues(runs, k):
    data = runs[k]
    assert probes.cues_by_item(data.items) == ref.cues_by_item(data.items)
    for per_group in (1, 5, 10_000):
        assert_same(probes.pick_for_text(data.samples, per_group), ref.pick_for_text(data.samples, per_group))
    odd = data.samples.assign(status=data.samples["status"].where(data.samples.index % 7 != 3))  # missing status
    assert_same(probes.pick_for_text(odd, 4), ref.pick_for_text(odd, 4))
    errors = data.samples.assign(status="error")  # nothing answered: no text to probe
    assert_same(probes.pick_for_text(errors, 4), ref.pick_for_text(errors, 4))
    assert_same(probes.probe_table(errors, data.items, data.runs), ref.probe_table(errors, data.items, data.runs))
    for per_group in (2000, 3):
        assert_same(probes.probe_table(data.samples, data.items, data.runs, per_group=per_group),
                    ref.probe_table(data.samples, data.items, data.runs, per_group=per_group))


@pytest.mark.parametrize("k", [0, 1, 2])
def test_sweet_spot_and_recommendation(runs, k):
    data = runs[k]
    s, m = data.samples, data.metrics()
    controlled = s[s["budget"].astype(str) != "natural"]
    assert_same(sweetspot.sweet_spot_table(controlled, m, n_boot=300),
                ref.sweet_spot_table(controlled, m, n_boot=300))
    scored = scored_frame(s, m)
    table = efficiency_table(s, m, scored=scored, n_boot=200)
    old_table, audit_rows = table.copy(), ref.audit_table(s)
    for a in (audit_rows, None):
        new = recommend.recommendation_table(scored, table, a)
        assert_same(new, ref.recommendation_table(scored, old_table, a))
        assert_same(table, old_table)  # on_frontier, set in place


def test_summary_frames(tmp_path_factory):
    """`overthink summary` hands the tables Store.dataframe(): metadata parsed into dicts, decoded budgets."""
    path = write_random_run(tmp_path_factory.mktemp("summary") / "run", 5, n_items=10)
    with Store(path, create=False) as store:
        frame = store.dataframe()
    s = frame.assign(run="run", sample_meta=frame["metadata"])
    metrics = dict(TASKS)
    assert_same(trajectories.trajectory_table(s, metrics), ref.trajectory_table(s, metrics))
    assert_same(audit.audit_table(frame), ref.audit_table(frame))
    assert_same(audit.ledger_table(s), ref.ledger_table(s))
    traj = ref.trajectory_table(s, metrics)
    assert_same(trajectories.flip_shares(traj, n_boot=200), ref.flip_shares(traj, n_boot=200))
    controlled = s[s["budget"].astype(str) != "natural"]
    assert_same(sweetspot.sweet_spot_table(controlled, metrics, n_boot=200),
                ref.sweet_spot_table(controlled, metrics, n_boot=200))


@pytest.mark.parametrize("k", [0, 1, 2])
def test_trajectory_outcomes_equal_the_waste_loop(runs, k):
    """trajectories.trajectory_outcomes is what efficiency.trajectory_waste's loop computes per trajectory."""
    traj = ref.trajectory_table(runs[k].samples, runs[k].metrics())
    for frame in (traj, traj.assign(design="shared"), traj.sample(frac=1, random_state=2).assign(design="shared")):
        want = ref.trajectory_outcomes_loop(frame)
        got = trajectories.trajectory_outcomes(frame)
        if want.empty:
            assert got.empty
        else:
            assert_same(got, want)


@pytest.mark.parametrize("k", [0, 2])
def test_efficiency_tables(runs, k):
    data = runs[k]
    s, m = data.samples, data.metrics()
    new = recommend.efficiency_tables(s, m, n_boot=200)
    old = ref.efficiency_tables(s, m, n_boot=200)
    assert set(new) == set(old)
    for name in old:
        assert_same(new[name], old[name])


@pytest.mark.parametrize("k", [0, 2])
def test_verdict_rows_and_the_papers_rule(runs, k):
    """verdict_table reads each curve's score rows from columns read once (no frame per curve): the same rows as
    the per-curve frames gave, and paper_verdict (now over those columns) the same calls."""
    s, m = runs[k].samples, runs[k].metrics()
    controlled = s[s["budget"].astype(str) != "natural"]
    scores = score_table(controlled, m, n_boot=50)
    some_keys_missing = controlled.assign(mechanism=controlled["mechanism"].where(controlled["task"] != "dist"))
    for samples in (controlled, some_keys_missing, controlled.sample(frac=1, random_state=3)):
        scores = score_table(samples, m, n_boot=50)
        want = ref.verdict_rows(scores, m)
        got = verdict_table(samples, scores, m, cross_checks=False)
        assert len(got) == len(want) > 0
        assert_same(got[list(want.columns)], want)
    calls = set()
    for _key, curve in scores.groupby(["task", "model", "mechanism"]):
        for frame in (curve, curve.drop(columns="n_items_scored"), curve.iloc[::-1],
                      curve.assign(score=curve["score"].where(curve.index % 3 != 1))):
            for metric in ("accuracy", "rmse"):
                got, want = paper_verdict(frame, metric), ref.paper_verdict(frame, metric)
                assert got[0] == want[0] and (got[1] == want[1] or (np.isnan(got[1]) and np.isnan(want[1])))
                calls.add(want[0])
    assert {"flat", "noisy", "not enough data"} <= calls
