"""anthropic-bedrock: and anthropic-vertex: through the anthropic SDK's real Bedrock and Vertex clients against a
local server that checks the SigV4 signature (botocore) and a service account's OAuth token (google-auth)."""

from __future__ import annotations

import asyncio
import json

import pytest
from servers.claude_cloud_api import ClaudeCloudAPI
from servers.oauth import service_account

from overthink.budget import plan_budget
from overthink.errors import ConfigError, ModelUnavailable
from overthink.providers import GenerateRequest, ModelSpec, load_model
from overthink.providers.anthropic_cloud import canonical_claude, vertex_spec
from overthink.providers.apibase import ProviderError
from overthink.sweep.batch import supports_batch

FAST = {"backoff_initial_s": 0.01, "backoff_max_s": 0.5, "timeout_s": 5}
AK, SK = "AKIDLOCALTEST0000", "local/secret/key/0000"
BEDROCK_ID = "us.anthropic.claude-sonnet-4-5-20250929-v1:0"
_LOOP = asyncio.new_event_loop()


def run(coro):
    return _LOOP.run_until_complete(coro)


@pytest.fixture()
def api():
    server = ClaudeCloudAPI(aws_key=(AK, SK), region="us-west-2").start()
    yield server
    server.stop()


@pytest.fixture()
def aws(monkeypatch, tmp_path):
    for var in ("AWS_BEARER_TOKEN_BEDROCK", "AWS_PROFILE", "AWS_SESSION_TOKEN"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "no-aws-config"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "no-aws-credentials"))
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", AK)
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", SK)
    monkeypatch.setenv("AWS_REGION", "us-west-2")


@pytest.fixture()
def gcp(api, monkeypatch, tmp_path):
    info, api.public_key = service_account(f"{api.url}/token", project="claude-proj")
    path = tmp_path / "sa.json"
    path.write_text(json.dumps(info))
    monkeypatch.setenv("GOOGLE_APPLICATION_CREDENTIALS", str(path))
    monkeypatch.setenv("CLOUD_ML_REGION", "us-east5")
    monkeypatch.delenv("ANTHROPIC_VERTEX_PROJECT_ID", raising=False)


def req(budget, mechanism="native", **kw):
    return GenerateRequest(prompt="How many fruits?", plan=plan_budget(budget, mechanism, answer_margin=10_000),
                           seed=1, **kw)


def test_model_ids_read_as_anthropic_names():
    assert canonical_claude(BEDROCK_ID) == "claude-sonnet-4-5-20250929"
    assert canonical_claude("anthropic.claude-opus-4-7-v1") == "claude-opus-4-7"
    assert canonical_claude("arn:aws:bedrock:us-east-1:123:inference-profile/global.anthropic.claude-haiku-4-5"
                            "-20251001-v1:0") == "claude-haiku-4-5-20251001"
    assert canonical_claude("claude-sonnet-4-5@20250929") == "claude-sonnet-4-5-20250929"
    spec = ModelSpec.parse("anthropic-vertex:claude-sonnet-4-5@20250929@http://127.0.0.1:9/v1")
    assert vertex_spec(spec) == ModelSpec("anthropic-vertex", "claude-sonnet-4-5@20250929", "http://127.0.0.1:9/v1")
    assert vertex_spec(ModelSpec.parse("anthropic-vertex:claude-opus-4-1@20250805")).base_url is None


@pytest.mark.parametrize("budget", [1024, 8192])
def test_bedrock_budget_tokens_signed_with_sigv4(api, aws, budget):
    m = load_model(f"anthropic-bedrock:{BEDROCK_ID}@{api.url}", FAST)
    m.check_plan(req(budget).plan)
    out = run(m.generate(req(budget)))
    entry = api.log[-1]
    assert entry["path"] == f"/model/{BEDROCK_ID}/invoke"  # the server verified the SigV4 signature
    assert entry["headers"]["authorization"].startswith(f"AWS4-HMAC-SHA256 Credential={AK}/")
    assert "/us-west-2/bedrock/aws4_request" in entry["headers"]["authorization"]
    body = entry["body"]
    assert body["anthropic_version"] and "model" not in body
    assert body["thinking"] == {"type": "enabled", "budget_tokens": budget} and body["max_tokens"] == budget + 10_000
    assert out.reasoning_tokens == budget // 2 and out.reasoning_tokens_source == "usage"
    assert out.extra["platform"] == "bedrock"
    assert out.cost_usd == pytest.approx((out.input_tokens * 3 + out.output_tokens * 15) / 1e6)  # sonnet-4-5 row


def test_bedrock_same_thinking_checks_as_anthropic(api, aws):
    m = load_model(f"anthropic-bedrock:{BEDROCK_ID}@{api.url}", FAST)
    with pytest.raises(ConfigError, match="below the API's minimum thinking budget of 1024"):
        m.check_plan(req(512).plan)
    adaptive = load_model(f"anthropic-bedrock:global.anthropic.claude-opus-4-7-v1@{api.url}", FAST)
    adaptive.check_plan(req("high").plan)
    run(adaptive.generate(req("high")))
    assert api.log[-1]["body"]["thinking"] == {"type": "adaptive"}
    assert api.log[-1]["body"]["output_config"] == {"effort": "high"}
    assert not supports_batch(m)


def test_bedrock_profile_with_a_wrong_secret_is_refused_by_the_signature_check(api, aws, tmp_path, monkeypatch):
    creds = tmp_path / "aws-credentials"
    creds.write_text(f"[stale]\naws_access_key_id = {AK}\naws_secret_access_key = not/the/right/secret\n")
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(creds))
    for var in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"):
        monkeypatch.delenv(var)
    m = load_model(f"anthropic-bedrock:{BEDROCK_ID}@{api.url}", {**FAST, "aws_profile": "stale"})
    with pytest.raises(ProviderError) as err:
        run(m.generate(req(1024)))
    assert err.value.status_code == 403 and "not/the/right/secret" not in str(err.value)
    assert err.value.status_code == 403 and api.billed == []


def test_bedrock_api_key_and_missing_credentials(aws, monkeypatch):
    server = ClaudeCloudAPI(bedrock_api_key="ABSKbedrock-local-key").start()
    try:
        monkeypatch.setenv("AWS_BEARER_TOKEN_BEDROCK", "ABSKbedrock-local-key")
        out = run(load_model(f"anthropic-bedrock:{BEDROCK_ID}@{server.url}", FAST).generate(req(2048)))
        assert server.log[-1]["headers"]["authorization"] == "Bearer ABSKbedrock-local-key"
        assert out.reasoning_tokens == 1024
    finally:
        server.stop()
    monkeypatch.delenv("AWS_BEARER_TOKEN_BEDROCK")
    for var in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"):
        monkeypatch.delenv(var)
    with pytest.raises(ModelUnavailable, match="no AWS credentials found"):
        load_model(f"anthropic-bedrock:{BEDROCK_ID}", FAST)


def test_bedrock_rate_limit_retried(api, aws):
    api.faults.append({"status": 429, "headers": {"retry-after": "0"},
                       "body": {"message": "Too many requests, please wait before trying again."}})
    out = run(load_model(f"anthropic-bedrock:{BEDROCK_ID}@{api.url}", FAST).generate(req(1024)))
    assert out.extra["attempts"] == 2


def test_vertex_rawpredict_with_service_account_token(api, gcp):
    m = load_model(f"anthropic-vertex:claude-sonnet-4-5@20250929@{api.url}/v1", FAST)
    m.check_plan(req(4096).plan)
    out = run(m.generate(req(4096)))
    token, call = api.log[-2], api.log[-1]
    assert token["path"] == "/token"  # the JWT was verified against the key file's public key
    assert call["path"] == ("/v1/projects/claude-proj/locations/us-east5/publishers/anthropic/models/"
                            "claude-sonnet-4-5@20250929:rawPredict")
    assert call["headers"]["authorization"] == f"Bearer {api.token}"
    assert call["body"]["anthropic_version"] and "model" not in call["body"]
    assert call["body"]["thinking"] == {"type": "enabled", "budget_tokens": 4096}
    assert out.reasoning_tokens == 2048 and out.extra["platform"] == "vertex"


def test_vertex_options_and_errors(api, gcp, monkeypatch):
    m = load_model(f"anthropic-vertex:claude-opus-4-1@20250805@{api.url}/v1",
                   {**FAST, "project": "other-proj", "region": "europe-west1"})
    run(m.generate(req(0)))
    assert api.log[-1]["path"].startswith("/v1/projects/other-proj/locations/europe-west1/")
    assert "thinking" not in api.log[-1]["body"]
    api.token = "ya29.rotated"
    with pytest.raises(ProviderError) as err:
        run(m.generate(req(1024)))
    assert err.value.status_code == 401 and len(api.billed) == 1
    monkeypatch.delenv("CLOUD_ML_REGION")
    with pytest.raises(ModelUnavailable, match="no Vertex AI region"):
        load_model(f"anthropic-vertex:claude-opus-4-1@20250805@{api.url}/v1", FAST)
    monkeypatch.setenv("GOOGLE_APPLICATION_CREDENTIALS", "/nonexistent/sa.json")
    with pytest.raises(ModelUnavailable, match="no Google Cloud credentials"):
        load_model("anthropic-vertex:claude-opus-4-1@20250805", {**FAST, "region": "global"})
