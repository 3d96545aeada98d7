"""Result files from elsewhere, made for real: inspect_ai eval logs written by running inspect_ai against the local
OpenAI wire-format server (made once per session: the `inspect_logs` fixture in conftest.py), and rows in the
paper's raw-results format."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from servers.fake_api import EFFORT_TOKENS, FakeAPI

EFFORTS = ("low", "medium", "high")
MAX_TOKENS = 1000  # "high" thinks 2,500 tokens at the fake server: every sample of that log hits the cap
# (id, target, num_distractors): the fake model always answers 2
QUESTIONS = (("q1", "2", 0), ("q2", "3", 1), ("q3", "2", 2))
PRICE = {"input": 2.0, "output": 8.0, "input_cache_write": 0.0, "input_cache_read": 0.0}  # USD per 1M tokens


def inspect_task(name: str = "tiny_math"):
    from inspect_ai import Task
    from inspect_ai.dataset import Sample
    from inspect_ai.scorer import includes, match
    from inspect_ai.solver import generate

    samples = [Sample(input=f"How many? ({qid})", target=target, id=qid, metadata={"num_distractors": n})
               for qid, target, n in QUESTIONS]
    return Task(dataset=samples, solver=generate(), scorer=[includes(), match(location="any")], name=name)


def make_inspect_logs(log_dir: Path) -> dict[str, Path]:
    """Run inspect_ai once per reasoning effort (openai provider, base URL = the local server); effort -> log file.

    Two epochs. The server answers one request of the medium run with HTTP 400, so its log holds one sample in error
    (fail_on_error=False keeps the run going). The low effort log is written as .json, the others as .eval. With
    inspect's own prices (PRICE, model_cost_config) each sample's usage records its total_cost.
    """
    from inspect_ai import eval as inspect_eval
    from inspect_ai.model import ModelCost

    server = FakeAPI().start()
    old_key = os.environ.get("OPENAI_API_KEY")
    os.environ["OPENAI_API_KEY"] = "sk-test-not-a-secret"
    logs = {}
    try:
        for effort in EFFORTS:
            if effort == "medium":
                server.faults.append({"status": 400, "body": {"error": {"message": "fake bad request",
                                                                        "type": "invalid_request_error"}}})
            out = inspect_eval(inspect_task(), model="openai/o4-mini", model_base_url=server.url + "/v1",
                               reasoning_effort=effort, max_tokens=MAX_TOKENS, epochs=2, log_dir=str(log_dir),
                               log_format="json" if effort == "low" else "eval", display="none",
                               fail_on_error=False, max_retries=0, reasoning_summary="auto",
                               model_cost_config={"openai/o4-mini": ModelCost(**PRICE)})
            logs[effort] = Path(out[0].location)
    finally:
        server.stop()
        if old_key is None:
            os.environ.pop("OPENAI_API_KEY", None)
        else:
            os.environ["OPENAI_API_KEY"] = old_key
    return logs


def expected_reasoning_tokens(effort: str) -> int:
    return min(EFFORT_TOKENS[effort], MAX_TOKENS)


def paper_row(instance_id: str, budget: int, *, correct: bool | None = True, answer: str | None = "2",
              **extra: Any) -> dict[str, Any]:
    """One row as the paper's evaluator writes it (raw/{model_id}/{task_id}.jsonl)."""
    row = {"model": "claude-x", "task_id": "synthetic_misleading_math", "instance_id": instance_id,
           "prompt": f"You have an apple and an orange ({instance_id}). How many fruits?", "metric": "accuracy",
           "reasoning_budget": budget, "icl_enabled": False, "icl_num_examples": 0,
           "response": f"<answer>{answer}</answer>" if answer is not None else "I think",
           "extracted_answer": answer, "reasoning_content": "Let me think. " * (budget // 64 + 1),
           "stop_reason": "StopReason.STOP_SEQUENCE", "input_tokens": 120, "output_tokens": budget // 2 + 20,
           "usage": {"input_tokens": 120, "output_tokens": budget // 2 + 20}, "latency": 1.5, "cost": 0.001,
           "error": None, "correct": correct, "predicted_index": None, "correct_answer": "2",
           "correct_answer_index": None, "squared_error": None, "relative_error": None}
    row.update(extra)
    return row


def write_jsonl(path: Path, rows: list[dict[str, Any]]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    return path
