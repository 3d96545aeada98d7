"""The API providers send on the SDK's aiohttp transport when aiohttp is installed, and on the SDK's own httpx
client when it is not (issue 16: the transport is most of the client's CPU per request against a fast server)."""

from __future__ import annotations

import asyncio
import importlib
import sys

import pytest
from servers.fake_api import FakeAPI

from overthink.budget import plan_budget
from overthink.providers import GenerateRequest, load_model

FAST = {"backoff_initial_s": 0.01, "backoff_max_s": 0.5, "timeout_s": 5}
PROVIDERS = [  # spec (the fake server's URL appended), key variable, the SDK whose transport it uses (imported by
    # the test: anthropic's import alone is ~3 s of CPU, which an xdist worker that only collects this file skips)
    ("openai:o3@{url}/v1", "OPENAI_API_KEY", "openai"),
    ("openai-compatible:Qwen/Qwen3-8B@{url}/v1", "OPENAI_API_KEY", "openai"),
    ("openrouter:anthropic/claude-sonnet-4.5@{url}/v1", "OPENROUTER_API_KEY", "openai"),
    ("anthropic:claude-sonnet-4-20250514@{url}", "ANTHROPIC_API_KEY", "anthropic"),
]


@pytest.fixture()
def api():
    server = FakeAPI().start()
    yield server
    server.stop()


def _load(api, spec, key_env, monkeypatch):
    monkeypatch.setenv(key_env, "sk-test-transport-0000")
    return load_model(spec.format(url=api.url), FAST)


async def _one(model):
    try:
        return await model.generate(GenerateRequest(prompt="How many fruits?", plan=plan_budget(
            0, "prompted", answer_margin=64), seed=1))
    finally:
        await model.client.close()


def _answers_once(api, model):
    out = asyncio.run(_one(model))
    assert out.stop_reason != "error" and out.answer_text, out
    assert len(api.log) == 1


each_provider = pytest.mark.parametrize(("spec", "key_env", "sdk"), PROVIDERS,
                                        ids=[p[0].split("@")[0] for p in PROVIDERS])


@each_provider
def test_requests_go_over_aiohttp_when_it_is_installed(api, spec, key_env, sdk, monkeypatch):
    model = _load(api, spec, key_env, monkeypatch)
    sdk = importlib.import_module(sdk)
    assert isinstance(model.client._client, sdk.DefaultAioHttpClient)
    _answers_once(api, model)


@each_provider
def test_without_aiohttp_the_sdk_default_client_is_used(api, spec, key_env, sdk, monkeypatch):
    monkeypatch.setitem(sys.modules, "aiohttp", None)  # `import aiohttp` now raises ImportError
    model = _load(api, spec, key_env, monkeypatch)
    client = model.client._client
    sdk = importlib.import_module(sdk)
    # the SDK's own default: its httpx client wrapper (the SDKs vendor httpx, so not httpx.AsyncClient itself)
    assert isinstance(client, sdk._base_client.AsyncHttpxClientWrapper)
    assert not isinstance(client, sdk.DefaultAioHttpClient)
    _answers_once(api, model)
