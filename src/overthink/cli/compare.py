"""`overthink compare RUN_A RUN_B [RUN_C ...]`: per task, does B lose more accuracy per doubling than A?"""

from __future__ import annotations

import json
import math
import sys
from pathlib import Path
from typing import Annotated, Any

import typer

from ..errors import UserError

FAIL_ON = ("worse",)
FAIL_EXIT = 1


def _clean(value: Any) -> Any:
    if hasattr(value, "item"):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def _records(frame: Any, fields: tuple[str, ...]) -> list[dict[str, Any]]:
    if frame is None or frame.empty:
        return []
    return [{f: _clean(r.get(f)) for f in fields if f in r} for r in frame.to_dict("records")]


ACC_FIELDS = ("run", "task", "model", "mechanism", "budget", "n", "n_items", "n_not_answered", "accuracy",
              "accuracy_lo", "accuracy_hi", "mean_thinking_tokens", "cost_per_correct_usd", "cost_source",
              "accuracy_per_1k", "auc_oaa", "overthinking_score")
EFF_FIELDS = ("task", "model", "mechanism", "at_budget", "accuracy", "mean_thinking_tokens", "auc_oaa", "auc_oaa_lo",
              "auc_oaa_hi", "t_max", "overthinking_score", "token_efficiency", "outcome_efficiency",
              "wasted_token_share", "wasted_token_share_lo", "wasted_token_share_hi", "wasted_note",
              "cost_per_correct_usd", "cost_source", "accuracy_per_1k", "control_active")


def comparison_dict(comp: Any) -> dict[str, Any]:
    return {"schema": "overthink.compare/1", "runs": comp.runs,
            "tasks": [{k: _clean(v) for k, v in r.items()} for r in comp.rows],
            "accuracy": _records(comp.accuracy, ACC_FIELDS), "efficiency": _records(comp.efficiency, EFF_FIELDS),
            "worse": [r["verdict"] for r in comp.worse]}


def compare(
    runs: Annotated[list[Path], typer.Argument(help="RUN_A RUN_B [RUN_C ...]: each later run is compared with "
                                                    "RUN_A")],
    task: Annotated[str | None, typer.Option(help="compare this task only (default: every task the runs "
                                                  "share)")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="the comparison as JSON on stdout")] = False,
    fail_on: Annotated[str | None, typer.Option(help="worse: exit 1 when a later run is significantly worse "
                                                     "(more inverse) than RUN_A on any task, Holm-adjusted")] = None,
    allow_mixed: Annotated[bool, typer.Option("--allow-mixed", help="compare runs whose budget controls differ in "
                                                                    "kind (native vs forced)")] = False,
) -> None:
    """Per task: the difference of the within-item budget slopes (B - A) with its 95 % interval, accuracy per
    budget and the efficiency metrics side by side, and a one-line verdict."""
    from ..analysis.compare import compare_runs

    if fail_on is not None and fail_on not in FAIL_ON:
        raise UserError(f"--fail-on {fail_on!r}: choose one of {', '.join(FAIL_ON)}")
    comp = compare_runs(runs, task=task, allow_mixed=allow_mixed)
    if as_json:
        json.dump(comparison_dict(comp), sys.stdout, indent=2, allow_nan=False)
        sys.stdout.write("\n")
    else:
        from ..report.efficiency import print_comparison

        print_comparison(comp)
    if fail_on and comp.worse:
        typer.echo(f"--fail-on worse: {len(comp.worse)} task comparison(s) significantly worse (Holm-adjusted): "
                   + "; ".join(f"{r['run_b']} on {r['task']}" for r in comp.worse), err=True)
        raise typer.Exit(FAIL_EXIT)
