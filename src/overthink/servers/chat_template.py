"""A model's Jinja chat template rendered as Hugging Face renders it (`model_options.chat_template`), so client-side
forcing builds the prompt the server's own template would build.

The environment is HF transformers' (`utils/chat_template_utils.py`, `_compile_jinja_template`): jinja2's
ImmutableSandboxedEnvironment with trim_blocks and lstrip_blocks, the loopcontrols extension (`{% break %}`), the
`{% generation %}` block of training templates (rendered as its body), the globals `raise_exception(message)`,
`strftime_now(format)` and HF's guarded `dict` and `namespace` (no underscore attributes), and a `tojson` filter that
is plain json.dumps (no HTML escaping, non-ASCII kept, indent / separators / sort_keys options) instead of jinja2's.
`tools` and `documents` are None, as HF passes them for a plain chat. Undefined names render empty, as in HF (not
StrictUndefined). A template is compiled once per distinct text (a small cache), not per request.

The tokenizer's special tokens are not known without the tokenizer: give them in `model_options.special_tokens`
(e.g. {bos: "<|begin_of_text|>", eos: "<|eot_id|>"}, passed as bos_token / eos_token, HF's special_tokens_map
names), and any other variable the template reads in `model_options.chat_template_vars` (date_string, ...).
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from datetime import datetime
from functools import lru_cache
from typing import Any

import jinja2
from jinja2 import nodes
from jinja2.ext import Extension, loopcontrols
from jinja2.sandbox import ImmutableSandboxedEnvironment

from ..errors import ConfigError


def _raise_exception(message: str) -> None:
    raise jinja2.exceptions.TemplateError(message)


def _tojson(value: Any, ensure_ascii: bool = False, indent: int | None = None,
            separators: tuple[str, str] | None = None, sort_keys: bool = False) -> str:
    return json.dumps(value, ensure_ascii=ensure_ascii, indent=indent, separators=separators, sort_keys=sort_keys)


def _strftime_now(fmt: str) -> str:
    return datetime.now().strftime(fmt)


class _Dict:
    """`dict(...)` in a template without exposing the dict type itself (as HF's TemplateDict)."""

    def __call__(self, *args: Any, **kwargs: Any) -> dict:
        return dict(*args, **kwargs)

    def fromkeys(self, *args: Any, **kwargs: Any) -> dict:
        return dict.fromkeys(*args, **kwargs)


class _Namespace(jinja2.utils.Namespace):
    """jinja2's namespace refusing underscore-prefixed names (as HF's TemplateNamespace)."""

    def __init__(*args: Any, **kwargs: Any) -> None:  # noqa: N805 - jinja2's Namespace signature trick
        self, rest = args[0], args[1:]
        attrs = dict(*rest, **kwargs)
        for name in attrs:
            _Namespace._check(name)
        jinja2.utils.Namespace.__init__(self, attrs)

    def __setitem__(self, name: str, value: Any) -> None:
        _Namespace._check(name)
        jinja2.utils.Namespace.__setitem__(self, name, value)

    @staticmethod
    def _check(name: Any) -> None:
        if isinstance(name, str) and name.startswith("_"):
            raise jinja2.exceptions.SecurityError(f"chat templates cannot store {name!r} on a namespace")


class _Generation(Extension):
    """`{% generation %}...{% endgeneration %}` (HF's AssistantTracker marks assistant tokens with it for training
    masks): for a prompt only its body matters."""

    tags = {"generation"}

    def parse(self, parser: Any) -> nodes.Node:
        lineno = next(parser.stream).lineno
        body = parser.parse_statements(("name:endgeneration",), drop_needle=True)
        return nodes.CallBlock(self.call_method("_body"), [], [], body).set_lineno(lineno)

    def _body(self, caller: Any) -> str:
        return caller()


@lru_cache(maxsize=32)
def compile_template(source: str) -> jinja2.Template:
    """The compiled template (cached per text). A syntax error is a ConfigError naming its line."""
    env = ImmutableSandboxedEnvironment(trim_blocks=True, lstrip_blocks=True, extensions=[_Generation, loopcontrols])
    env.filters["tojson"] = _tojson
    env.globals["raise_exception"] = _raise_exception
    env.globals["strftime_now"] = _strftime_now
    env.globals["dict"] = _Dict()
    env.globals["namespace"] = _Namespace
    try:
        return env.from_string(source)
    except jinja2.TemplateSyntaxError as exc:
        raise ConfigError(f"model_options chat_template: line {exc.lineno}: {exc.message}") from None


def template_variables(options: Mapping[str, Any]) -> dict[str, Any]:
    """The variables a model's options give its chat template: `special_tokens` {bos: ...} as bos_token, ...
    (named without the _token suffix in options: a key ending in _token is refused as a likely secret), then
    `chat_template_vars`."""
    out = {f"{name}_token": value for name, value in dict(options.get("special_tokens") or {}).items()}
    out.update(dict(options.get("chat_template_vars") or {}))
    return out


def render(source: str, messages: Sequence[Mapping[str, Any]], *, add_generation_prompt: bool = True,
           variables: Mapping[str, Any] | None = None) -> str:
    """The prompt `source` makes of `messages`, as HF's apply_chat_template(tokenize=False) renders it. A
    template's raise_exception (or another render error) is a ConfigError: the template refuses these messages."""
    try:
        return compile_template(source).render(messages=[dict(m) for m in messages], tools=None, documents=None,
                                               add_generation_prompt=add_generation_prompt, **dict(variables or {}))
    except jinja2.TemplateError as exc:
        raise ConfigError(f"model_options chat_template: {exc}") from None
