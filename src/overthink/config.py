"""The experiment config: everything `overthink run` flags hold, validated by pydantic.

A YAML file can hold any field; flags override the file. Errors name the file and the field path, exit code 2.
"""

from __future__ import annotations

import difflib
import math
import re
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from .budget import MAX_BUDGET, check_budget_size
from .core import NATURAL, Budget, Mechanism, parse_budget
from .errors import ConfigError, UserError
from .providers import check_spec
from .providers.registry import info_of_spec
from .secrets import check_options, check_url, configured_keys, refuse_keys
from .yaml_text import parse_yaml

DEFAULT_GRACE_S = 30.0
MAX_LIMIT = 1_000_000  # items per task: more is a typo (generated tasks would build them all in memory)

# Fields that change what a sample means: a run dir keeps them fixed, so resumed samples stay comparable.
# `independent` is the design of a forced sweep (cuts of one trace vs independent draws per budget): the analysis
# treats the two differently, so one run never mixes them.
SEMANTIC_FIELDS = ("seed", "temperature", "top_p", "answer_margin", "cautioned", "natural_cap", "independent",
                   "task_args",
                   "model_options", "until_decided", "alpha", "flat_margin")


# model_options that change how a model is called, not what a sample means
OPERATIONAL_OPTIONS = frozenset({"timeout_s", "max_attempts", "max_concurrency", "backoff_initial_s",
                                 "backoff_max_s", "price", "api_key_env", "env_file", "n_threads", "n_parallel",
                                 "progress"})


def parse_shard(value: str) -> tuple[int, int]:
    """"I/N" -> (I, N) with 0 <= I < N (Slurm's SLURM_ARRAY_TASK_ID / COUNT, Kubernetes' JOB_COMPLETION_INDEX)."""
    head, sep, tail = str(value).strip().partition("/")
    if not sep or not head.isascii() or not tail.isascii() or not head.isdigit() or not tail.isdigit():
        raise ValueError(f"shard {value!r}: write I/N, e.g. 0/4 for the first of four shards")
    index, count = int(head), int(tail)
    if count < 1 or not 0 <= index < count:
        raise ValueError(f"shard {value!r}: I must be 0 to N-1 (the first of four shards is 0/4)")
    return index, count


# model_options a number must bound: 0 or less would never send (max_attempts, max_concurrency), time out at once
# or never (timeout_s), or wait a negative time (backoff); each is refused with one line naming it
POSITIVE_OPTIONS = ("timeout_s", "max_attempts", "max_concurrency")
NON_NEGATIVE_OPTIONS = ("backoff_initial_s", "backoff_max_s")


# A model's own name (`--model-name`): what the store, summary, report and review call it instead of its spec
NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._+/:-]{0,79}")


def _named_models(data: dict[str, Any]) -> None:
    """Models given with a name - `SPEC name=NAME` or a mapping {spec: SPEC, name: NAME} in `models`, or a list of
    names (one `--model-name` per model, in order) in `model_names` - become plain specs and a `model_names`
    mapping {spec: name}."""
    names = data.get("model_names")
    names = dict(names) if isinstance(names, dict) else {} if names is None else names
    models = data.get("models")
    if isinstance(models, list):
        specs = []
        for entry in models:
            if isinstance(entry, dict):
                unknown = set(entry) - {"spec", "name"}
                if unknown or not entry.get("spec"):
                    raise ValueError(f"models: an entry is a spec or a mapping {{spec: SPEC, name: NAME}}, got "
                                     f"{entry!r}")
                spec, name = str(entry["spec"]).strip(), entry.get("name")
            else:
                spec, sep, written = str(entry).strip().partition(" name=")
                spec, name = spec.strip(), written if sep else None
            specs.append(spec)
            if name is not None and isinstance(names, dict):
                names[spec] = str(name).strip()
        data["models"] = specs
    if isinstance(names, list):  # --model-name NAME, once per --model
        specs = data.get("models") or []
        if len(names) != len(specs):
            plural = ("" if len(specs) == 1 else "s", "" if len(names) == 1 else "s")
            raise ValueError(f"--model-name: give one name per model, in the order of the models ({len(specs)} "
                             f"model{plural[0]}, {len(names)} name{plural[1]})")
        names = {str(spec).strip(): str(name).strip() for spec, name in zip(specs, names)}
    if names or "model_names" in data:
        data["model_names"] = names


def did_you_mean(name: str, choices: Iterable[str]) -> str:
    """' (did you mean 'x'?)' for the closest of `choices`, or '' when none is close."""
    close = difflib.get_close_matches(name, list(choices), n=1, cutoff=0.75)
    return f" (did you mean {close[0]!r}?)" if close else ""


def _check_option_numbers(spec: str, options: dict[str, Any]) -> None:
    for name in (*POSITIVE_OPTIONS, *NON_NEGATIVE_OPTIONS):
        value = options.get(name)
        if value is None or isinstance(value, bool):
            continue  # a bool or a non-number is the provider's type error (model_option names it)
        try:
            number = float(value)
        except (TypeError, ValueError):
            continue
        positive = name in POSITIVE_OPTIONS
        if not math.isfinite(number) or (number <= 0 if positive else number < 0):
            raise ConfigError(f"model_options for {spec}: {name} must be a number {'> 0' if positive else '>= 0'}, "
                              f"got {value!r}")


def _semantic_options(field: str, options: dict[str, Any]) -> dict[str, Any]:
    if field != "model_options":
        return options
    return {k: v for k, v in options.items() if k not in OPERATIONAL_OPTIONS}


class ExperimentConfig(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    models: list[str] = Field(min_length=1, description="model specs PROVIDER:MODEL[@BASE_URL]")
    tasks: list[str] = Field(min_length=1)
    task_args: dict[str, dict[str, Any]] = Field(default_factory=dict, description="options per task name")
    budgets: list[Budget] = Field(default_factory=lambda: [0, 64, 256])
    mechanism: Mechanism = Field(Mechanism.AUTO, description="auto (the best the provider allows) | forced | "
                                 "prompted | native")
    replicates: int = Field(1, ge=1)
    natural: int | None = Field(None, ge=1, description="natural overthinking: K samples per item, no budget")
    natural_cap: int | None = Field(None, ge=1, le=MAX_BUDGET,
                                    description="natural samples think at most N tokens: the local model's "
                                                "natural_cap (default 2,048); for other providers a natural "
                                                "sample's output cap is N + the answer margin (default N = 16,384)")
    limit: int | None = Field(None, ge=1, le=MAX_LIMIT, description="items per task")
    seed: int = 0
    concurrency: int = Field(1, ge=1, le=1024)
    temperature: float | None = Field(None, ge=0, le=2, allow_inf_nan=False)
    top_p: float | None = Field(None, gt=0, le=1, allow_inf_nan=False)
    answer_margin: int | None = Field(None, ge=1, le=MAX_BUDGET,
                                      description="output tokens after thinking; default per provider")
    cautioned: bool = False
    model_options: dict[str, dict[str, Any]] = Field(default_factory=dict, description="options per model spec")
    model_names: dict[str, str] = Field(default_factory=dict,
                                        description="a name per model spec (--model-name, or `SPEC name=NAME` in "
                                                    "models): the model's identity in the store, summary, report "
                                                    "and review, so a server restarted on another port is the same "
                                                    "model")
    max_cost: float | None = Field(None, ge=0, allow_inf_nan=False)
    batch: bool = False
    server: str | None = Field(None, description="server profile of openai-compatible models (vllm, sglang, llamacpp, "
                               "ollama, deepseek, xai, generic); default: detected. Folded into model_options")
    check: bool = Field(False, description="run `overthink check` on every model first; stop if a control fails")
    grace_s: float | None = Field(None, ge=0, le=3600, allow_inf_nan=False,
                                  description="on SIGINT/SIGTERM: seconds the requests in flight get to finish and "
                                              "be stored before the run exits (default: 30; 0 when every model "
                                              "is local: nothing in flight is paid for)")
    independent: bool = Field(False, description="forced: one request pair per budget, not one shared trace")
    probe_cuts: int = Field(0, ge=0, le=64, description="extra evenly spaced cuts answered for trajectories only")
    shard: str | None = Field(None, description="I/N: run the I-th of N deterministic slices of the items "
                              "(0 <= I < N; every shard gets the same items and seeds); `overthink merge` joins "
                              "the shards' run dirs")
    until_decided: bool = Field(False, description="run items in rounds and stop each task x model once an "
                                "anytime-valid decision is reached; `limit` is the ceiling (sweep/sequential.py)")
    alpha: float = Field(0.05, gt=0, lt=0.5, allow_inf_nan=False, description="until_decided: error rate per cell")
    flat_margin: float = Field(0.02, gt=0, lt=1, allow_inf_nan=False,
                               description="until_decided: 'flat' when the interval of the change lies within "
                                           "+-this share (0.02 = the paper's 2 points)")
    run_dir: str | None = None

    @field_validator("shard")
    @classmethod
    def _shard(cls, value: str | None) -> str | None:
        if value is None:
            return None
        parse_shard(value)
        return value.strip()

    def shard_of(self) -> tuple[int, int] | None:
        """(I, N) of a shard run, else None."""
        return parse_shard(self.shard) if self.shard else None

    @model_validator(mode="before")
    @classmethod
    def _aliases(cls, data: Any) -> Any:
        if isinstance(data, dict):
            data = dict(data)
            for single, plural in (("model", "models"), ("task", "tasks")):
                if single in data:
                    if plural in data:
                        raise ValueError(f"give either {single!r} or {plural!r}, not both")
                    data[plural] = data.pop(single)
            for key in ("models", "tasks", "budgets"):
                if isinstance(data.get(key), (str, int)) and not isinstance(data.get(key), bool):
                    parts = [v.strip() for v in str(data[key]).split(",")]
                    if key == "budgets" and "" in parts[:-1] and any(parts):  # 0,,64: a lost value, not a list
                        raise ValueError(f"budgets: an empty entry in {str(data[key])!r} (two commas in a row?)")
                    data[key] = [v for v in parts if v]
            _named_models(data)
        return data

    @field_validator("budgets", mode="before")
    @classmethod
    def _budgets(cls, value: Any) -> list[Budget]:
        for v in value:  # int() reads any script's digits ('٦٤' is 64): a budget is written in 0-9
            if isinstance(v, str) and not v.isascii():
                raise ValueError(f"budget {v!r}: write a token count in the digits 0-9, or an effort level")
        out = [parse_budget(v) for v in value]
        for b in out:
            if isinstance(b, int):
                check_budget_size(b)
        if not out:
            raise ValueError("at least one budget is needed")
        if len(set(out)) != len(out):
            raise ValueError("budgets repeat")
        return out

    @field_validator("models")
    @classmethod
    def _models(cls, value: list[str]) -> list[str]:
        try:
            specs = [check_spec(v) for v in value]
            for spec in specs:  # the spec is stored with the run: an http(s) URL, no user:key@ in it
                if spec.base_url:
                    check_url(spec.base_url, f"the base URL of {spec.provider}:{spec.model}")
        except UserError as exc:
            raise ValueError(str(exc)) from None
        return [str(spec) for spec in specs]

    @field_validator("run_dir")
    @classmethod
    def _run_dir(cls, value: str | None) -> str | None:
        if value is not None and (not value.strip() or "\0" in value):
            raise ValueError("an empty run dir (or one with a NUL byte) names no directory; give a path, or leave "
                             "--run-dir out for a new one under runs/")
        return value

    @field_validator("model_options")
    @classmethod
    def _no_secrets(cls, value: dict[str, dict[str, Any]]) -> dict[str, dict[str, Any]]:
        """The config is stored with the run: a key written into it is refused for every model, loaded or not."""
        try:
            for spec, options in value.items():
                check_options(spec, options)
                _check_option_numbers(spec, options)
        except UserError as exc:
            raise ValueError(str(exc)) from None
        return value

    @model_validator(mode="after")
    def _names(self) -> ExperimentConfig:
        """Names only for this run's models (a resumed run's stored names for models it no longer has are
        dropped), each a plain word, and no two models with one identity."""
        self.model_names = {spec: name for spec, name in self.model_names.items() if spec in self.models}
        for spec, name in self.model_names.items():
            if not NAME.fullmatch(name):
                raise ValueError(f"model name {name!r} for {spec}: use 1 to 80 letters, digits and . _ + / : - "
                                 f"(starting with a letter or digit)")
        seen: dict[str, str] = {}
        for spec in self.models:
            ident = self.identity(spec)
            if ident in seen:
                raise ValueError(f"models {seen[ident]} and {spec} would both be called {ident!r}: give each its "
                                 f"own --model-name")
            seen[ident] = spec
        return self

    def identity(self, spec: str) -> str:
        """What a model is called in the store and every report: its --model-name, else its spec."""
        return self.model_names.get(spec, spec)

    def model_ids(self) -> dict[str, str]:
        """identity -> spec, in the order of the models."""
        return {self.identity(spec): spec for spec in self.models}

    @model_validator(mode="after")
    def _server(self) -> ExperimentConfig:
        """`server` is each openai-compatible model's `server` option unless its model_options name one."""
        for spec in self.models if self.server else []:
            if (info := info_of_spec(spec)) is not None and info.server:
                self.model_options.setdefault(spec, {}).setdefault("server", self.server)
        return self

    def grace(self, models: Iterable[Any]) -> float:
        """The grace period of a signal: grace_s when set, else 0 for a run of embedded models only (a local
        generation is free to redo and stops within a token) and 30 s otherwise (answers in flight are paid)."""
        if self.grace_s is not None:
            return self.grace_s
        return 0.0 if all(getattr(m, "stops_at_once", False) for m in models) else DEFAULT_GRACE_S

    def sweep_budgets(self) -> list[Budget]:
        """The budgets a run visits: the configured ones, or just 'natural' for a natural run."""
        return [NATURAL] if self.natural else list(self.budgets)

    def sweep_replicates(self) -> int:
        return self.natural or self.replicates

    def semantic_diff(self, other: ExperimentConfig) -> list[str]:
        """Fields whose change would make new samples incomparable with stored ones. Per-task and per-model
        options are compared only for tasks / models in both configs (adding one is fine), and operational
        model options (timeouts, retries, concurrency, prices, key variables) may always change."""
        diff = [f for f in SEMANTIC_FIELDS if f not in ("task_args", "model_options")
                and getattr(self, f) != getattr(other, f)]
        if (self.until_decided or other.until_decided) and self.limit != other.limit:
            diff.append("limit (the ceiling of a sequential run fixes its item order)")
        for field in ("task_args", "model_options"):
            mine, theirs = getattr(self, field), getattr(other, field)
            if field == "model_options":  # a named model is the same model at another URL
                mine = {self.identity(k): v for k, v in mine.items()}
                theirs = {other.identity(k): v for k, v in theirs.items()}
            for key in sorted(set(mine) & set(theirs)):
                a, b = (_semantic_options(field, x[key]) for x in (mine, theirs))
                if a != b:
                    diff.append(f"{field}.{key}")
        return diff


def check_secrets(cfg: ExperimentConfig, source: str = "") -> None:
    """Before any request (a model's load may already probe its server): no text of the config - a value, a
    name, a model spec's URL - holds a configured key (secrets.refuse_keys). Refused without echoing it."""
    options = [o for o in cfg.model_options.values() if isinstance(o, dict)]
    names = [str(o["api_key_env"]) for o in options if o.get("api_key_env")]
    files = [".env", *(str(o["env_file"]) for o in options if isinstance(o.get("env_file"), (str, Path)))]
    try:
        refuse_keys(cfg.model_dump(mode="json"), configured_keys(names, files), "")
    except UserError as exc:
        raise ConfigError(f"{source}: {exc}" if source else str(exc)) from None


def _format_error(exc: ValidationError, source: str) -> str:
    lines = []
    for err in exc.errors():
        path = ".".join(str(p) for p in err["loc"]) or "(top level)"
        msg = err["msg"].removeprefix("Value error, ")
        if err["type"] == "extra_forbidden" and len(err["loc"]) == 1:
            msg = "not a config field" + did_you_mean(path, [*ExperimentConfig.model_fields, "model", "task"])
        lines.append(f"{source}: field '{path}': {msg}" if err["loc"] else f"{source}: {msg}")
    return "\n".join(lines)


def load_yaml(path: str | Path) -> dict[str, Any]:
    p = Path(path)
    try:
        data = parse_yaml(p.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError(f"{p}: no such config file") from None
    except UnicodeDecodeError as exc:
        line = p.read_bytes()[:exc.start].count(b"\n") + 1
        raise ConfigError(f"{p}:{line}: not a YAML text file (byte 0x{exc.object[exc.start]:02x} is not UTF-8)") \
            from None
    except IsADirectoryError:
        raise ConfigError(f"{p}: is a directory, not a YAML config file") from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" line {mark.line + 1}" if mark else ""
        raise ConfigError(f"{p}:{where} is not valid YAML ({getattr(exc, 'problem', exc)})") from None
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise ConfigError(f"{p}: the top level must be a mapping of fields, got {type(data).__name__}")
    return data


def _aliased(data: dict[str, Any]) -> dict[str, Any]:
    """`model:` / `task:` are accepted for `models:` / `tasks:`; normalise so layers merge cleanly."""
    out = dict(data)
    for single in ("model", "task"):
        if single in out and single + "s" not in out:
            out[single + "s"] = out.pop(single)
    return out


def in_file(exc: UserError, file: str | Path | None, overrides: dict[str, Any]) -> UserError:
    """An option error found when building tasks and models, named by the YAML file it came from: model_options
    only come from a file; task options from the file unless --task-args gave some."""
    text = str(exc)
    from_file = text.startswith("model_options") or (text.startswith("task ") and not overrides.get("task_args"))
    if file is None or not from_file or text.startswith(str(file)):
        return exc
    return type(exc)(f"{file}: {text}")


def build_config(file: str | Path | None = None, overrides: dict[str, Any] | None = None,
                 base: dict[str, Any] | None = None) -> ExperimentConfig:
    """Config from layers: `base` (a resumed run's stored config) < the YAML file < flag overrides (None ignored)."""
    data: dict[str, Any] = _aliased(base or {})
    if file:
        data.update(_aliased(load_yaml(file)))
    data.update({k: v for k, v in _aliased(overrides or {}).items() if v is not None})
    source = str(file) if file else "command line"
    try:
        cfg = ExperimentConfig.model_validate(data)
    except ValidationError as exc:
        raise ConfigError(_format_error(exc, source)) from None
    except ValueError as exc:  # from a "before" validator
        raise ConfigError(f"{source}: {exc}") from None
    # task_args given now (not a resumed run's stored ones) must name tasks of this run
    named = {*(load_yaml(file).get("task_args") or {} if file else {}), *((overrides or {}).get("task_args") or {})}
    unknown = sorted(str(t) for t in named if t not in cfg.tasks)
    if unknown:
        raise ConfigError(f"{source}: task_args names task {unknown[0]!r}, which is not one of this run's tasks "
                          f"({', '.join(cfg.tasks)})")
    # model_options given now must name a model of this run: another spelling of a spec would be ignored silently
    given = {*(load_yaml(file).get("model_options") or {} if file else {}), *((overrides or {}).get("model_options")
                                                                              or {})}
    stray = sorted(str(m) for m in given if m not in cfg.models)
    if stray:
        raise ConfigError(f"{source}: model_options names model {stray[0]!r}, which is not one of this run's models"
                          f"{did_you_mean(stray[0], cfg.models)} ({', '.join(cfg.models)}); keys are full specs")
    check_secrets(cfg, source)
    return cfg
