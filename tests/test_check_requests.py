"""`overthink check` (and `run --check`) sends exactly the requests the run it vouches for sends: the plans and
requests come from the run's own code (sweep/plan.py plan_for / make_request) and config, so the mechanism, answer
margin, cautioned budget prompt, temperature and top_p match. Compared on the wire: every request body the local
vLLM server received for a run and for the check, with only the user prompt and the seed set aside."""

from __future__ import annotations

import json

import pytest

from overthink.config import build_config
from overthink.store import Store
from overthink.sweep.check import run_check
from overthink.sweep.start import run_sync


def bodies(api) -> list[str]:
    out = []
    for entry in api.log:
        if entry["path"] not in ("/v1/chat/completions", "/v1/completions") or not isinstance(entry["body"], dict):
            continue
        body = dict(entry["body"])
        body.pop("seed", None)
        if "messages" in body:  # the check asks its own question: only the user turn may differ
            body["messages"] = [m if m["role"] != "user" else {**m, "content": "<prompt>"} for m in body["messages"]]
        out.append(json.dumps([entry["path"], body], sort_keys=True))
    return sorted(set(out))


@pytest.mark.parametrize("mechanism", ["native", "prompted"])
def test_check_sends_the_requests_the_run_sends(serve, tmp_path, mechanism):
    api = serve("vllm")
    spec = f"openai-compatible:m@{api.url}/v1"
    cfg = build_config(None, dict(models=[spec], tasks=["misleading-math"], budgets=[0, 64], limit=1,
                                  mechanism=mechanism, temperature=0.6, top_p=0.9, cautioned=True, answer_margin=200,
                                  model_options={spec: {"timeout_s": 10, "max_attempts": 1}},
                                  run_dir=str(tmp_path / "r")))
    with Store(cfg.run_dir) as store:
        run_sync(cfg, store, progress=False)
    sent_by_run = bodies(api)
    api.log.clear()
    result = run_check(cfg.models, [0, 64], config=cfg)
    assert [s.ok for s in result.models[0].samples] == [True, True]
    assert bodies(api) == sent_by_run
    # what the run sends carries the settings the check used to leave out
    sent = [json.loads(b)[1] for b in sent_by_run]
    assert all(b["temperature"] == 0.6 and b["top_p"] == 0.9 for b in sent)
    if mechanism == "prompted":
        system = [m["content"] for b in sent for m in b["messages"] if m["role"] == "system"]
        assert any("about 64 tokens" in s and "do not need to use all" in s for s in system)  # cautioned wording


def test_check_without_a_run_uses_the_flags(serve):
    api = serve("vllm")
    spec = f"openai-compatible:m@{api.url}/v1"
    result = run_check([spec], [0, 64], mechanism="native", answer_margin=300,
                       model_options={spec: {"timeout_s": 10, "max_attempts": 1}})
    assert result.models[0].mechanism == "native" and all(s.ok for s in result.models[0].samples)
    sent = [e["body"] for e in api.log if e["path"] == "/v1/chat/completions"]
    assert {b["max_tokens"] for b in sent} == {300, 364}
