"""`model_options.chat_template` is rendered as Hugging Face renders it (servers/chat_template.py), so client-side
forcing sends the prompt the server's own template builds.

The expected strings were computed with Hugging Face transformers 5.25.0
(`transformers.utils.chat_template_utils.render_jinja_template(..., add_generation_prompt=True)`, the function
`tokenizer.apply_chat_template(tokenize=False)` calls) on 2026-12-07; when transformers is installed the last test
also compares with it live. The Llama-3 template is a real model-card template (tests/fixtures/chat_templates)."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from overthink.budget import plan_budget
from overthink.errors import ConfigError
from overthink.providers import GenerateRequest, load_model
from overthink.servers.chat_template import compile_template, render

LLAMA3 = (Path(__file__).parent / "fixtures" / "chat_templates" / "Meta-Llama-3-8B-Instruct.jinja").read_text()
SYSTEM = "Think step by step.\n\nYou have 1024 tokens to think. "
USER = "  What is 1 + 1? Reply <answer>N</answer>.\n"
MESSAGES = [{"role": "system", "content": SYSTEM}, {"role": "user", "content": USER}]
BOS = {"bos_token": "<|begin_of_text|>"}
LLAMA3_PROMPT = ("<|begin_of_text|><|start_header_id|>system<|end_header_id|>\n\nThink step by step.\n\nYou have 1024 "
                 "tokens to think.<|eot_id|><|start_header_id|>user<|end_header_id|>\n\nWhat is 1 + 1? Reply "
                 "<answer>N</answer>.<|eot_id|><|start_header_id|>assistant<|end_header_id|>\n\n")

# trim_blocks + lstrip_blocks (the indented block tags leave no blank lines), loopcontrols ({% break %}), HF's
# tojson (no HTML escaping, non-ASCII kept), raise_exception, and an undefined name rendering empty
MULTI = """{% for message in messages %}
    {% if message['role'] == 'system' %}
<|system|>{{ message['content'] }}
    {% elif message['role'] == 'user' %}
<|user|>{{ message['content'] | tojson }}
    {% else %}
        {{ raise_exception('unexpected role ' + message['role']) }}
    {% endif %}
    {% if loop.index0 >= 1 %}{% break %}{% endif %}
{% endfor %}
{% if add_generation_prompt %}
<|assistant|>{{ missing_variable }}
{% endif %}
"""
MULTI_MESSAGES = [{"role": "system", "content": "Sé breve <b>&</b>"},
                  {"role": "user", "content": 'naïve "quote" <tag>'},
                  {"role": "user", "content": "never rendered: the loop breaks"}]
MULTI_PROMPT = '<|system|>Sé breve <b>&</b>\n<|user|>"naïve \\"quote\\" <tag>"\n<|assistant|>\n'


def test_llama3_model_card_template_renders_as_transformers_does():
    assert render(LLAMA3, MESSAGES, variables=BOS) == LLAMA3_PROMPT


def test_hf_environment_settings():
    assert render(MULTI, MULTI_MESSAGES) == MULTI_PROMPT


def test_raise_exception_and_syntax_errors_are_one_line_config_errors():
    with pytest.raises(ConfigError, match="chat_template: unexpected role tool"):
        render(MULTI, [{"role": "tool", "content": "x"}])
    with pytest.raises(ConfigError, match="chat_template: line 2: "):
        render("ok\n{% if %}", MESSAGES)


def test_the_sandbox_refuses_unsafe_access():
    with pytest.raises(ConfigError, match="chat_template"):
        render("{{ messages.__class__.__mro__ }}", MESSAGES)
    with pytest.raises(ConfigError, match="chat_template"):
        render("{% set ns = namespace(_x=1) %}", MESSAGES)


def test_a_template_is_compiled_once():
    compile_template.cache_clear()
    for _ in range(3):
        render(LLAMA3, MESSAGES, variables=BOS)
    info = compile_template.cache_info()
    assert info.misses == 1 and info.hits == 2


def test_the_forcing_prompt_sent_to_the_server_is_the_hf_prompt(serve):
    api = serve("vllm")
    model = load_model(f"openai-compatible:m@{api.url}/v1", {"timeout_s": 10, "max_attempts": 1,
                                                            "chat_template": LLAMA3,
                                                            "special_tokens": {"bos": "<|begin_of_text|>"}})
    request = GenerateRequest(prompt=USER, system=SYSTEM, seed=1, plan=plan_budget(16, "forced", answer_margin=16))
    assert request.system_text() == SYSTEM  # forced budgets add no budget prompt

    async def go():
        try:
            return await model.generate(request)
        finally:
            await model.aclose()

    asyncio.run(go())
    prompts = [e["body"]["prompt"] for e in api.log if e["path"] == "/v1/completions"]
    assert prompts and all(p.startswith(LLAMA3_PROMPT + model.think_open) for p in prompts)


def test_live_comparison_with_transformers():
    chat_template_utils = pytest.importorskip("transformers.utils.chat_template_utils")
    for template, messages, variables in ((LLAMA3, MESSAGES, BOS), (MULTI, MULTI_MESSAGES, {})):
        rendered, _ = chat_template_utils.render_jinja_template([messages], chat_template=template,
                                                                add_generation_prompt=True, **variables)
        assert render(template, messages, variables=variables) == rendered[0]
