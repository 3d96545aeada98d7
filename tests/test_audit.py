"""The enforcement audit and the token ledger on real runs: `overthink run` (a second process, the real SDKs) against
the local wire-format server whose "model" honours, ignores or overshoots the budget, then analyze(), the terminal
summary and the HTML report."""

from __future__ import annotations

import math

import pytest
import yaml
from helpers import run_cli
from servers.fake_api import FakeAPI

from overthink.analysis.api import analyze
from overthink.analysis.audit import control_active, curve_rows, effort_overlaps, ledger_summary, length_trend
from overthink.report.html import build_report

KEYS = {"ANTHROPIC_API_KEY": "sk-ant-test-key-000", "OPENAI_API_KEY": "sk-openai-test-000"}
FAST = {"backoff_initial_s": 0.01, "backoff_max_s": 0.2, "timeout_s": 5, "max_attempts": 2}


def sweep(tmp_path, mode: str, spec_of, budgets: str, name: str = "run", **server):
    """Run a 5-item sweep through the CLI against a server in `mode`; returns the run dir and the server."""
    api = FakeAPI(budget_mode=mode, **server).start()
    try:
        spec = spec_of(api)
        cfg = tmp_path / f"{name}.yaml"
        cfg.write_text(yaml.safe_dump({"model_options": {spec: FAST}}))
        run_dir = tmp_path / name
        res = run_cli("run", "-m", spec, "-t", "misleading-math", "--budgets", budgets, "--mechanism", "native",
                      "--limit", "5", "--run-dir", str(run_dir), "--quiet", "--config", str(cfg), env=KEYS)
        assert res.returncode == 0, res.stderr
        return run_dir, res.stdout
    finally:
        api.stop()


def claude(api) -> str:
    return f"anthropic:claude-sonnet-4-20250514@{api.url}"


def test_honoured_budget_has_a_clean_audit_and_a_ledger(tmp_path):
    run_dir, out = sweep(tmp_path, "honour", claude, "0,1024,2048,4096")
    t = analyze([run_dir], n_boot=100)
    audit = t["audit"]
    assert list(audit["budget"]) == [0, 1024, 2048, 4096]
    assert list(audit["enforced_by"]) == ["thinking_off", "budget_tokens", "budget_tokens", "budget_tokens"]
    assert list(audit["median_tokens"]) == [0, 512, 1024, 2048] and (audit["flag"] == "").all()
    assert list(audit["token_source"])[1:] == ["usage"] * 3 and (audit["over_cap_share"] == 0).all()
    assert audit["control_active"].all() and (audit["curve_flags"] == "").all()
    v = t["verdicts"].iloc[0]
    assert v["control_active"] and v["verdict_basis"] == "requested budgets and measured lengths"
    assert v["paper_verdict"] != "control inactive"
    ledger = t["ledger"]
    assert len(ledger) == 20 and (ledger["answer_tokens"] == 5).all()  # billed 5 answer tokens on top of thinking
    thinking = ledger[ledger["budget"] != 0]
    assert (thinking["reasoning_text"] == "summarized").all()  # Claude 4 returns a summary, billed in full
    assert (thinking["billed_output_tokens"] == thinking["reasoning_tokens"] + 5).all()
    assert (ledger.loc[ledger["budget"] == 0, "reasoning_text"] == "none").all()
    summary = ledger_summary(ledger).iloc[0]
    assert summary["samples"] == 20 and summary["reasoning_text"] == "summarized 15, none 5"
    assert math.isclose(summary["cost_usd"], ledger["cost_usd"].sum())
    assert "budget enforcement audit" in out and "no verdict from requested budgets" not in out


def test_ignored_budget_makes_the_control_inactive_everywhere(tmp_path):
    run_dir, out = sweep(tmp_path, "ignore", claude, "0,1024,2048,4096")
    t = analyze([run_dir], n_boot=100)
    audit = t["audit"]
    assert list(audit["median_tokens"]) == [0, 1500, 1500, 1500]
    assert audit.loc[audit["budget"] == 1024, "flag"].item() == "exceeded: 1,500 observed at 1,024"
    assert audit.loc[audit["budget"] == 1024, "over_cap_share"].item() == 1.0
    assert not control_active(curve_rows(audit, {"task": "misleading-math", "model": audit["model"][0],
                                                 "mechanism": "native"}))
    assert "lengths do not rise with the budget" in audit["curve_flags"][0]
    v = t["verdicts"].iloc[0]
    assert v["paper_verdict"] == "control inactive" and not v["control_active"]
    assert v["verdict"] == "not identifiable" and v["verdict_basis"].startswith("none: the budget control was inactive")
    assert "no verdict from requested budgets" in out and "lengths do not rise" in out
    summary = run_cli("summary", str(run_dir))
    assert summary.returncode == 0 and "no verdict from requested budgets" in summary.stdout
    html = build_report([run_dir], tmp_path / "r.html", n_boot=100).read_text()
    assert "Budget control inactive" in html and 'data-control-active="false"' in html
    assert "exceeded: 1,500 observed at 1,024" in html


def test_overshot_cap_is_flagged_but_lengths_still_order_the_curve(tmp_path):
    run_dir, _ = sweep(tmp_path, "overshoot", claude, "0,1024,2048")
    audit = analyze([run_dir], n_boot=100)["audit"]
    assert audit.loc[audit["budget"] == 2048, "flag"].item() == "exceeded: 3,538 observed at 2,048"
    assert audit.loc[audit["budget"] == 2048, "max_tokens"].item() == 3538
    assert "cap exceeded beyond tolerance at 2 of 3 budgets" in audit["curve_flags"][0]
    assert audit["control_active"].all()  # lengths still rise with the budget: the x-axis is measured anyway


def test_effort_levels_that_overlap(tmp_path):
    run_dir, _ = sweep(tmp_path, "ignore", lambda api: f"openai:o4-mini@{api.url}/v1", "low,medium,high")
    t = analyze([run_dir], n_boot=100)
    audit = t["audit"]
    assert (audit["enforced_by"] == "effort").all() and not audit["hard_cap"].any()
    assert (audit["flag"] == "").all() and audit["over_cap_share"].isna().all()  # efforts are not caps
    flags = audit["curve_flags"][0]
    assert "effort levels low and medium overlap" in flags and "effort levels medium and high overlap" in flags
    assert not t["verdicts"].iloc[0]["control_active"]
    assert (t["ledger"]["reasoning_text"] == "absent").all()  # Chat Completions returns no reasoning text


def test_server_budget_field_is_read_from_the_sample_metadata(tmp_path):
    def spec(api):
        return f"openai-compatible:qwen3@{api.url}/v1"

    api = FakeAPI().start()
    try:
        cfg = tmp_path / "c.yaml"
        cfg.write_text(yaml.safe_dump({"model_options": {spec(api): {
            **FAST, "capabilities": {"budget_field": "thinking_token_budget"}}}}))
        res = run_cli("run", "-m", spec(api), "-t", "misleading-math", "--budgets", "0,128,512", "--mechanism",
                      "native", "--limit", "5", "--run-dir", str(tmp_path / "run"), "--quiet", "--config", str(cfg),
                      env=KEYS)
        assert res.returncode == 0, res.stderr
    finally:
        api.stop()
    audit = analyze([tmp_path / "run"], n_boot=100)["audit"]
    assert list(audit["enforced_by"]) == ["thinking_switch", "server_field", "server_field"]
    assert audit["hard_cap"].all() and audit["control_active"].all() and (audit["flag"] == "").all()


def test_trend_and_overlap_rules():
    assert length_trend([0, 64, 256], [[0, 0], [60, 64], [200, 250]])["rises"] is True
    flat = length_trend([0, 64, 256], [[0], [100, 101], [99, 100]])
    assert flat["rises"] is False  # budget 0 going off does not make the thinking budgets work
    assert length_trend([0, 64], [[0], [64]])["rises"] is True  # with one thinking budget, 0 is the baseline
    assert length_trend([64], [[64]])["rises"] is None
    bumpy = length_trend([16, 64, 256, 1024], [[16], [64], [40], [300]])
    assert bumpy["rises"] is True and bumpy["monotone"] is False
    assert effort_overlaps(["low", "high"], [[100, 200, 300], [900, 1000, 1100]]) == []
    assert effort_overlaps(["high", "low"], [[200, 260, 320], [180, 250, 330]]) == [("low", "high")]


@pytest.mark.parametrize("mode", ["ignore"])
def test_prompted_budgets_are_soft(tmp_path, mode):
    """The paper's prompted budget promises no cap: lengths over B are counted, never flagged as exceeded."""
    api = FakeAPI(budget_mode=mode).start()
    api.visible_reasoning = 1500
    spec = f"openai:gpt-4o@{api.url}/v1"
    try:
        cfg = tmp_path / "c.yaml"
        cfg.write_text(yaml.safe_dump({"model_options": {spec: FAST}}))
        res = run_cli("run", "-m", spec, "-t", "misleading-math", "--budgets", "1024,2048", "--mechanism",
                      "prompted", "--limit", "5", "--run-dir", str(tmp_path / "run"), "--quiet", "--config",
                      str(cfg), env=KEYS)
        assert res.returncode == 0, res.stderr
    finally:
        api.stop()
    audit = analyze([tmp_path / "run"], n_boot=100)["audit"]
    assert (audit["enforced_by"] == "prompt").all() and not audit["hard_cap"].any()
    assert (audit["flag"] == "").all() and audit.loc[0, "over_cap_share"] == 1.0
    assert (audit["token_source"] == "estimate").all()
    assert not audit["control_active"].any()  # the stated budget did not change the length


def test_spearman_is_scipys_without_importing_scipy_stats():
    # audit.spearman stands in for scipy.stats.spearmanr in every run summary (importing scipy.stats costs ~1 s)
    import numpy as np
    from scipy.stats import spearmanr

    from overthink.analysis.audit import spearman

    rng = np.random.default_rng(0)
    for _ in range(300):
        n = int(rng.integers(3, 200))
        x = rng.integers(0, int(rng.integers(2, 6)), n).astype(float)  # budget ranks: many ties
        y = np.round(rng.normal(size=n) * 50 + x * rng.normal() * 50, int(rng.integers(0, 2)))  # tied lengths too
        if np.ptp(x) > 0 and np.ptp(y) > 0:
            assert spearman(x, y) == pytest.approx(float(spearmanr(x, y).statistic), abs=1e-12)
    assert math.isnan(spearman(np.array([1.0, 1.0]), np.array([1.0, 2.0])))
