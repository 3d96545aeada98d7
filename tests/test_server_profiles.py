"""Server profiles for openai-compatible (vLLM, SGLang, llama.cpp, Ollama, DeepSeek, xAI) through the real openai SDK
against local servers that speak each wire format (tests/servers/profile_api.py): detection, the exact bodies sent,
the fields read back, refusals before the run, `overthink check` and the audit on a server that ignores its budget
field - and `auto`, the default mechanism, resolved per model and stored resolved."""

from __future__ import annotations

import asyncio

import pytest
from servers.fake_api import FakeAPI
from servers.profile_api import NATURAL, TEMPLATE
from typer.testing import CliRunner

from overthink.analysis.api import analyze
from overthink.budget import plan_budget
from overthink.cli import app
from overthink.config import build_config
from overthink.errors import ConfigError, UserError
from overthink.mechanism import AUTO_MECHANISM, SERVER_PROVIDERS, resolve, resolve_spec
from overthink.providers import PROVIDERS, GenerateRequest, ModelSpec, load_model
from overthink.servers.profiles import _parse, nested, profiles
from overthink.store import Store
from overthink.sweep.check import run_check
from overthink.sweep.estimate import estimate_run
from overthink.sweep.start import run_sync

FAST = {"backoff_initial_s": 0.01, "backoff_max_s": 0.2, "timeout_s": 10, "max_attempts": 2}
KEY = "sk-test-profile-000"


def spec_of(api, model="m") -> str:
    return f"openai-compatible:{model}@{api.url}/v1"


def make(api, model="m", **options):
    return load_model(spec_of(api, model), {**FAST, **options})


def req(budget, mechanism="native", margin=64):
    return GenerateRequest(prompt="What is 1 + 1? Reply <answer>N</answer>.",
                           plan=plan_budget(budget, mechanism, answer_margin=margin), seed=3)


def gen(model, request):
    async def go():
        try:
            return await model.generate(request)
        finally:
            await model.aclose()
    return asyncio.run(go())


def chat_bodies(api):
    return [e["body"] for e in api.log if e["path"] == "/v1/chat/completions"]


# -- the data ---------------------------------------------------------------------------------------------
def test_every_profile_loads_and_bad_rows_name_file_profile_and_field():
    assert set(profiles()) == {"vllm", "sglang", "llamacpp", "ollama", "deepseek", "xai", "generic"}
    assert profiles()["sglang"].budget_field == "custom_params.thinking_budget"
    assert nested("custom_params.thinking_budget", 9) == {"custom_params": {"thinking_budget": 9}}
    with pytest.raises(ConfigError, match=r"x.yaml: profile 'vllm': field 'forcing': Input should be a valid bool"):
        _parse({"vllm": {"title": "t", "forcing": "sometimes"}}, "x.yaml")
    with pytest.raises(ConfigError, match=r"x.yaml: profile 'vllm': field 'budget_feild': Extra inputs"):
        _parse({"vllm": {"title": "t", "budget_feild": "x"}}, "x.yaml")
    with pytest.raises(ConfigError, match="unknown server profile 'vllmm'; known: deepseek, generic"):
        load_model("openai-compatible:m@http://127.0.0.1:9/v1", {"server": "vllmm"})


# -- detection --------------------------------------------------------------------------------------------
@pytest.mark.parametrize("profile, how", [("vllm", "owned_by vllm"), ("sglang", "owned_by sglang"),
                                          ("llamacpp", "owned_by llamacpp"), ("ollama", "GET /api/version")])
def test_a_server_that_identifies_itself_is_detected(serve, profile, how):
    m = make(serve(profile))
    assert m.profile.name == profile and how in m.server_how
    assert m.describe()["server"] == profile


def test_hosted_apis_by_host_and_unknown_servers_are_generic(monkeypatch):
    api = FakeAPI().start()  # answers no identity endpoint
    try:
        assert make(api).profile.name == "generic"
    finally:
        api.stop()
    monkeypatch.setenv("DEEPSEEK_API_KEY", KEY)  # the profile names the key variable; no request is sent
    m = load_model("openai-compatible:deepseek-reasoner@https://api.deepseek.com/v1", {})
    assert m.profile.name == "deepseek" and m.server_how == "host api.deepseek.com"
    asyncio.run(m.aclose())


def test_hosted_profile_needs_its_own_key(monkeypatch):
    monkeypatch.delenv("XAI_API_KEY", raising=False)
    with pytest.raises(UserError, match="XAI_API_KEY is not set"):
        load_model("openai-compatible:grok-4.3@https://api.x.ai/v1", {})


# -- what is sent and read, per profile -------------------------------------------------------------------
def test_vllm_budget_field_and_reasoning_field(serve):
    api = serve("vllm")
    out = gen(make(api), req(256))
    assert chat_bodies(api)[-1]["thinking_token_budget"] == 256 and "cache_prompt" not in chat_bodies(api)[-1]
    assert out.reasoning_tokens == 256 and out.reasoning_tokens_source == "tokenize_endpoint"  # not in usage
    assert out.extra["enforced_by"] == "server_field" and out.extra["server"] == "vllm"
    zero = gen(make(api), req(0))
    assert chat_bodies(api)[-1]["chat_template_kwargs"] == {"enable_thinking": False}
    assert zero.reasoning_tokens == 0 and zero.extra["enforced_by"] == "thinking_switch"


def test_sglang_nested_budget_merges_with_extra_body(serve):
    api = serve("sglang")
    out = gen(make(api, extra_body={"custom_params": {"other": 1}}), req(300))
    assert chat_bodies(api)[-1]["custom_params"] == {"other": 1, "thinking_budget": 300}
    assert out.reasoning_tokens == 300 and out.extra["enforced_by"] == "server_field"
    # the field in the wrong place is silently ignored by SGLang: thinking runs on until max_tokens (B + margin)
    wrong = gen(make(api, capabilities={"budget_field": "thinking_budget"}), req(300))
    assert chat_bodies(api)[-1]["thinking_budget"] == 300 and wrong.reasoning_tokens == 300 + 64 < NATURAL
    assert wrong.truncated


def test_llamacpp_budget_field_with_cache_prompt(serve):
    api = serve("llamacpp")
    out = gen(make(api), req(128))
    body = chat_bodies(api)[-1]
    assert body["thinking_budget_tokens"] == 128 and body["cache_prompt"] is False
    assert out.reasoning_tokens == 128 and out.reasoning


def test_ollama_has_no_budget_so_numeric_budgets_are_forced_and_levels_sent(serve):
    api = serve("ollama")
    m = make(api, chat_template=TEMPLATE)
    assert resolve("auto", m).value == "forced" and "no thinking-token budget" in m.describe()["server_note"]
    out = gen(m, req(100))
    passes = [e["body"] for e in api.log if e["path"] == "/v1/completions"]
    assert len(passes) == 2 and passes[0]["max_tokens"] == 100 and passes[0]["prompt"].endswith("<think>\n")
    assert out.extra["enforced_by"] == "client_forcing" and out.reasoning_tokens == 100
    low = gen(make(api), req("low"))
    assert chat_bodies(api)[-1]["reasoning_effort"] == "low" and low.extra["enforced_by"] == "effort"
    zero = gen(make(api), req(0))
    assert chat_bodies(api)[-1]["reasoning_effort"] == "none" and zero.reasoning_tokens == 0
    assert "think" not in chat_bodies(api)[-1]  # /v1 ignores think; the switch is reasoning_effort


def test_deepseek_thinking_switch_and_effort(serve, monkeypatch):
    monkeypatch.setenv("DEEPSEEK_API_KEY", KEY)
    api = serve("deepseek")
    m = make(api, "deepseek-reasoner", server="deepseek")
    assert resolve("auto", m).value == "native"
    out = gen(m, req(4096))
    body = chat_bodies(api)[-1]
    assert body["thinking"] == {"type": "enabled"} and body["reasoning_effort"] == "medium"
    assert "cache_prompt" not in body and "chat_template_kwargs" not in body
    assert out.reasoning_tokens == 2500 and out.reasoning_tokens_source == "usage"  # medium is served as high
    assert out.extra["enforced_by"] == "effort"
    gen(make(api, "deepseek-reasoner", server="deepseek"), req(0))
    assert chat_bodies(api)[-1]["thinking"] == {"type": "disabled"}
    with pytest.raises(ConfigError, match="needs a raw completions endpoint"):
        m.check_plan(plan_budget(256, "forced", answer_margin=10))


def test_xai_levels_per_model_and_refusals(serve, monkeypatch):
    monkeypatch.setenv("XAI_API_KEY", KEY)
    api = serve("xai")
    out = gen(make(api, "grok-4.3", server="xai"), req(0))
    assert chat_bodies(api)[-1]["reasoning_effort"] == "none" and out.reasoning_tokens == 0
    mini = make(api, "grok-3-mini", server="xai")
    with pytest.raises(ConfigError, match="cannot switch thinking off"):
        mini.check_plan(plan_budget(0, "native", answer_margin=10))
    with pytest.raises(ConfigError, match=r"needs reasoning effort 'medium'.*levels low, high"):
        mini.check_plan(plan_budget(4096, "native", answer_margin=10))
    high = gen(mini, req("high"))
    assert high.reasoning_tokens == 2500 and high.reasoning  # grok-3-mini returns reasoning_content
    with pytest.raises(ConfigError, match="takes no effort levels"):
        make(api, "grok-4.20-reasoning", server="xai").check_plan(plan_budget("low", "native", answer_margin=10))
    # the real API answers 400 when the parameter reaches a model without it: the request fails, not silently
    forced_in = make(api, "grok-4.20-reasoning", server="xai", capabilities={"efforts": ["low"]})
    with pytest.raises(Exception, match="does not support parameter reasoningEffort"):
        gen(forced_in, req("low"))


# -- check and the audit flag a server that ignores its budget field --------------------------------------
@pytest.mark.parametrize("mode", ["honour", "ignore"])
def test_check_flags_a_vllm_server_that_ignores_its_budget(serve, mode):
    api = serve("vllm", budget_mode=mode)
    result = run_check([spec_of(api)], None, model_options={spec_of(api): FAST})
    (m,) = result.models
    c = {x.name: (x.status, x.verdict) for x in m.controls}
    assert m.mechanism == "native" and m.budgets == [0, 128, 512]
    assert any("reasoning-parser" in n for n in m.notes)
    if mode == "honour":
        assert result.ok and "server_field" in c["hard cap"][1]
    else:
        assert c["follows budget"] == ("not honoured", "ignored: lengths do not follow the budget")
        assert c["hard cap"][1].startswith("exceeded: 1,200 observed at 128") and result.exit_code == 1


def test_check_flags_an_sglang_server_that_overshoots(serve):
    api = serve("sglang", budget_mode="overshoot", overshoot=7.0)  # SGLang #25536: 200 asked, ~1,400 spent
    result = run_check([spec_of(api)], [0, 200], model_options={spec_of(api): FAST})
    c = {x.name: (x.status, x.verdict) for x in result.models[0].controls}
    assert c["hard cap"][0] == "not honoured" and "1,400 observed at 200" in c["hard cap"][1]


def sweep(tmp_path, api, budgets, mechanism=None, **options):
    spec = spec_of(api)
    cfg = build_config(overrides={"models": [spec], "tasks": ["misleading-math"], "budgets": budgets, "limit": 3,
                                  "mechanism": mechanism, "run_dir": str(tmp_path / "run"),
                                  "model_options": {spec: {**FAST, **options}}})
    with Store(tmp_path / "run") as store:
        run_sync(cfg, store, progress=False)
        return store.get_meta("models"), store.dataframe(), spec


@pytest.mark.parametrize("mode", ["honour", "ignore"])
def test_auto_run_on_vllm_stores_native_and_the_audit_flags_an_ignored_field(serve, tmp_path, mode):
    meta, df, spec = sweep(tmp_path, serve("vllm", budget_mode=mode), [0, 128, 512])
    assert meta[spec]["mechanism"] == "native" and meta[spec]["server"] == "vllm"
    assert set(df["mechanism"]) == {"native"}  # never "auto" in the store
    assert {m["server"] for m in df["metadata"]} == {"vllm"}
    audit = analyze([tmp_path / "run"], n_boot=50)["audit"]
    assert list(audit["enforced_by"]) == ["thinking_switch", "server_field", "server_field"]
    if mode == "honour":
        assert audit["control_active"].all() and (audit["flag"] == "").all()
    else:
        assert not audit["control_active"].any()
        assert audit["flag"].str.startswith("exceeded").sum() == 2


# -- auto ---------------------------------------------------------------------------------------------------
def test_auto_is_decided_for_every_provider():
    assert set(PROVIDERS) == set(AUTO_MECHANISM) | SERVER_PROVIDERS
    assert resolve("auto", load_model("stub:flat")).value == "forced"
    for spec, mech in [("openai:o4-mini", "native"), ("anthropic:claude-sonnet-4-5", "native"),
                       ("gemini:gemini-2.5-flash", "native"), ("openrouter:x-ai/grok-4", "native"),
                       ("local:qwen2.5-coder-0.5b", "forced")]:
        assert resolve_spec("auto", ModelSpec.parse(spec)).value == mech
    oc = ModelSpec.parse("openai-compatible:m@http://127.0.0.1:9/v1")
    assert resolve_spec("auto", oc).value == "forced"
    assert resolve_spec("auto", oc, {"server": "vllm"}).value == "native"
    assert resolve_spec("forced", oc, {"server": "vllm"}).value == "forced"


def test_auto_is_the_default_and_estimates_resolve_it(serve):
    cfg = build_config(overrides={"models": ["openai-compatible:m@http://127.0.0.1:9/v1", "openai:o4-mini"],
                                  "tasks": ["misleading-math"], "budgets": [0, 4096], "limit": 2, "server": "vllm"})
    assert cfg.mechanism.value == "auto"
    assert cfg.model_options["openai-compatible:m@http://127.0.0.1:9/v1"] == {"server": "vllm"}
    rows = estimate_run(cfg)
    assert len(rows) == 4 and all(r.max_output_tokens > 0 for r in rows)


def test_run_help_shows_the_auto_default_and_server():
    out = CliRunner().invoke(app, ["run", "--help"], env={"COLUMNS": "200"}).output
    assert "auto | forced | prompted | native" in out and "default: auto" in out and "--server" in out


def test_check_cli_server_flag_overrides_detection_and_a_wrong_profile_is_flagged(serve):
    import json

    api = serve("vllm")  # honours thinking_token_budget, knows nothing of SGLang's custom_params
    res = CliRunner().invoke(app, ["check", spec_of(api), "--server", "sglang", "--json", "--budgets", "0,128,512",
                                   "--option", "timeout_s=10"])
    (m,) = json.loads(res.output)["models"]
    assert m["mechanism"] == "native" and res.exit_code == 1
    assert [b.get("custom_params") for b in chat_bodies(api)] == [None, {"thinking_budget": 128},
                                                                  {"thinking_budget": 512}]
    verdicts = {c["name"]: c["verdict"] for c in m["controls"]}
    assert verdicts["hard cap"].startswith("exceeded: 1,200 observed at 128")  # its natural length


def test_check_on_an_effort_only_api_sweeps_its_levels(serve, monkeypatch):
    monkeypatch.setenv("DEEPSEEK_API_KEY", KEY)
    api = serve("deepseek")
    spec = spec_of(api, "deepseek-reasoner")
    result = run_check([spec], None, model_options={spec: {**FAST, "server": "deepseek"}})
    (m,) = result.models
    assert m.budgets == [0, "minimal", "max"] and m.mechanism == "native"
    c = {x.name: x.status for x in m.controls}
    assert c["follows budget"] == "honoured" and c["hard cap"] == "n/a" and result.ok  # levels promise no cap
