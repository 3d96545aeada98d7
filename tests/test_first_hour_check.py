"""`overthink check` on an openai-compatible server that is none of the known profiles (issue 31, item 2): the
fake answers neither /apply-template nor /tokenize (tests/servers/profile_api.py, profile "unknown"), in each of the
ways such servers answer. Before, the check's row said `failed at budget 0: KeyError: 'prompt'`."""

from __future__ import annotations

import pytest
from servers.profile_api import TEMPLATE, UNKNOWN_PATHS
from typer.testing import CliRunner

from overthink.cli import app

FAST = ["--option", "timeout_s=5", "--option", "max_attempts=1"]


@pytest.mark.parametrize("answers", UNKNOWN_PATHS)
def test_check_on_an_unknown_server_names_the_profile_why_and_the_ways_out(serve, answers):
    api = serve("unknown", unknown_paths=answers)
    result = CliRunner().invoke(app, ["check", f"openai-compatible:m@{api.url}/v1", *FAST])
    out = " ".join(result.output.split())
    assert result.exit_code == 2, out
    assert "KeyError" not in out and "Traceback" not in out and "JSONDecodeError" not in out
    assert "server profile 'generic' (detected: nothing identified" in out
    assert "needs the model's chat template" in out and "POST /apply-template answered" in out
    assert "--server vllm|sglang|llamacpp" in out and "chat_template" in out and "--mechanism prompted" in out
    assert not api.billed  # refused before a generation was paid for


def test_a_named_profile_without_the_endpoint_gets_no_server_hint(serve):
    api = serve("unknown", unknown_paths="200")
    result = CliRunner().invoke(app, ["check", f"openai-compatible:m@{api.url}/v1", "--server", "ollama", *FAST])
    out = " ".join(result.output.split())
    assert result.exit_code == 2, out
    assert "server profile 'ollama' (named with --server" in out and "--server vllm" not in out


def test_the_same_unknown_server_with_a_chat_template_is_forced_and_honoured(serve):
    api = serve("unknown", unknown_paths="404")
    result = CliRunner().invoke(app, ["check", f"openai-compatible:m@{api.url}/v1", *FAST,
                                      "--option", f"chat_template={TEMPLATE}", "--budgets", "0,64,256"])
    assert result.exit_code == 0, result.output
    assert "every checked control was honoured" in result.output
    assert any(e["path"] == "/v1/completions" for e in api.log)
