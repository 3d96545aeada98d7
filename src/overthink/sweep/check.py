"""`overthink check`: a positive control of a model's budget control, before paying for a sweep.

A handful of cheap requests (one short prompt, budget 0 and two budgets, `repeats` samples each) through the
provider's own `generate`. Plans and requests are built by the run's own code (sweep/plan.py `resolve_run_spec`,
`make_request`) from the run's config (`run --check`) or one made of the flags, so a check sends what the run
would: the same mechanism, answer margin, natural cap, cautioned budget prompt, temperature and top_p (only the
prompt and the seed differ). Per model it answers:
  request        does a request at every budget succeed?
  budget 0       does budget 0 switch thinking off (at most 8 reasoning tokens)?
  follows        does the observed reasoning length rise with the budget (medians, Spearman's rho)?
  hard cap       is a hard cap respected (observed <= B x (1 + tolerance) + 8 tokens) or exceeded?
  token count    are reasoning tokens reported by the API, counted with a tokenizer, or estimated?
Each control gets a plain verdict ("honoured", "ignored: lengths do not follow the budget", "exceeded: 3,538
observed at 2,048"). `CheckResult.exit_code` is 1 when any control is not honoured (the CLI exits with it), 0
otherwise; bad input (an unknown model, a budget the model refuses) is a UserError, exit 2.
"""

from __future__ import annotations

import asyncio
import math
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

from ..analysis.audit import SLACK, SOURCE_KIND, TOLERANCE, allowed, cap_of, is_hard, length_trend
from ..budget import RunSpec
from ..config import ExperimentConfig, build_config
from ..core import Budget, Mechanism, budget_sort_key
from ..errors import UserError
from ..providers import ModelBase, load_model
from ..secrets import redact
from .plan import make_request, resolve_run_spec
from .plan import model_options as run_model_options

CHECK_PROMPT = ("A train leaves at 09:47 and the trip takes 2 hours 38 minutes, with a 17-minute delay on the way. "
                "At what time does it arrive? Work it out step by step and check it, then give the final answer "
                "as <answer>HH:MM</answer>.")
HONOURED, NOT_HONOURED, INCONCLUSIVE, NOT_APPLICABLE, INFO = "honoured", "not honoured", "inconclusive", "n/a", "info"


@dataclass
class CheckSample:
    budget: Budget
    ok: bool
    error: str = ""
    reasoning_tokens: int | None = None
    source: str = "none"
    output_tokens: int | None = None
    cost_usd: float | None = None
    enforced_by: str = ""
    thinking_stop: str = ""


@dataclass
class Control:
    name: str
    status: str  # honoured | not honoured | inconclusive | n/a | info
    verdict: str
    observed: str = ""


@dataclass
class ModelCheck:
    spec: str
    mechanism: str
    budgets: list[Budget]
    samples: list[CheckSample] = field(default_factory=list)
    controls: list[Control] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    @property
    def cost_usd(self) -> float | None:
        costs = [s.cost_usd for s in self.samples if s.cost_usd is not None]
        return sum(costs) if costs else None


@dataclass
class CheckResult:
    models: list[ModelCheck]
    tolerance: float = TOLERANCE

    @property
    def failures(self) -> list[tuple[str, Control]]:
        return [(m.spec, c) for m in self.models for c in m.controls if c.status == NOT_HONOURED]

    @property
    def ok(self) -> bool:
        return not self.failures

    @property
    def exit_code(self) -> int:
        return 0 if self.ok else 1

    @property
    def cost_usd(self) -> float | None:
        costs = [m.cost_usd for m in self.models if m.cost_usd is not None]
        return sum(costs) if costs else None

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready (stored with a run under the meta key "check")."""
        return {"ok": self.ok, "tolerance": self.tolerance, "cost_usd": self.cost_usd,
                "models": [asdict(m) | {"cost_usd": m.cost_usd} for m in self.models]}


def default_budgets(model: ModelBase) -> list[Budget]:
    """Budget 0 and two budgets the model's control should tell apart (the provider declares them)."""
    return model.control_budgets()


def _plans(model: ModelBase, budgets: Sequence[Budget], spec: RunSpec, given: bool,
           notes: list[str]) -> list[tuple[Budget, Any]]:
    out = []
    for budget in sorted(dict.fromkeys(budgets), key=budget_sort_key):
        try:
            plan = spec.plan(budget)  # the run's plan for this budget
            model.check_plan(plan, spec.temperature)
        except (UserError, ValueError) as exc:
            if given:
                raise exc if isinstance(exc, UserError) else UserError(f"{model.spec}: {exc}") from None
            notes.append(f"budget {budget} left out: {exc}")
            continue
        out.append((budget, plan))
    return out


async def _check_model(spec: str, model: ModelBase, budgets: Sequence[Budget] | None, cfg: ExperimentConfig,
                       repeats: int, tolerance: float, prompt: str, system: str | None) -> ModelCheck:
    run_spec = resolve_run_spec(cfg, spec, model)  # what the run would resolve for this model
    mech = run_spec.mechanism.value
    notes: list[str] = [str(v) for k, v in model.describe().items() if k == "server_note" and v]
    plans = _plans(model, budgets or default_budgets(model), run_spec, budgets is not None, notes)
    result = ModelCheck(spec, mech, [b for b, _ in plans], notes=notes)
    for budget, plan in plans:
        for rep in range(repeats):
            request = make_request(run_spec, plan, prompt, seed=1000 + rep, system=system)
            try:
                c = await model.generate(request)
            except UserError:
                raise
            except Exception as exc:  # a failed request is what the `request` control reports
                result.samples.append(CheckSample(budget, False, redact(f"{type(exc).__name__}: {exc}")[:300]))
                continue
            result.samples.append(CheckSample(
                budget, True, reasoning_tokens=c.reasoning_tokens, source=str(c.reasoning_tokens_source),
                output_tokens=c.output_tokens, cost_usd=c.cost_usd, thinking_stop=str(c.thinking_stop),
                enforced_by=(c.extra or {}).get("enforced_by") or model.enforced_by(plan)))
    result.controls = judge(result, tolerance)
    return result


def _n(value: float) -> str:
    return f"{value:,.0f}"


def _by_budget(samples: list[CheckSample]) -> dict[Budget, list[float]]:
    out: dict[Budget, list[float]] = {}
    for s in samples:
        if s.ok and s.reasoning_tokens is not None:
            out.setdefault(s.budget, []).append(float(s.reasoning_tokens))
    return out


def judge(check: ModelCheck, tolerance: float = TOLERANCE) -> list[Control]:
    """The five controls of one model from its samples."""
    samples, lengths = check.samples, _by_budget(check.samples)
    shown = " | ".join(f"{b}: {_n(max(v))}" for b, v in lengths.items())
    failed = [s for s in samples if not s.ok]
    controls = [Control("request", NOT_HONOURED if failed else HONOURED,
                        f"failed at budget {failed[0].budget}: {failed[0].error}" if failed else
                        f"succeeded at every budget ({len(samples)} requests)")]
    soft = check.mechanism == "prompted"
    zero = [b for b in lengths if cap_of(b) == 0]
    if not zero:
        controls.append(Control("budget 0 = off", NOT_APPLICABLE, "budget 0 not requested"))
    else:
        top = max(max(lengths[b]) for b in zero)
        if top <= SLACK:
            controls.append(Control("budget 0 = off", HONOURED, "honoured", f"{_n(top)} reasoning tokens"))
        else:
            controls.append(Control("budget 0 = off", INFO if soft else NOT_HONOURED,
                                    f"{'prompted only' if soft else 'ignored'}: {_n(top)} reasoning tokens at "
                                    f"budget {zero[0]}", f"{_n(top)} reasoning tokens"))
    controls.append(_follows(lengths))
    controls.append(_cap(samples, tolerance, shown))
    kinds = sorted({SOURCE_KIND.get(s.source, "none") for s in samples if s.ok} - {"none"})
    words = {"usage": "reported by the API (usage)", "tokenizer": "counted with the model's tokenizer",
             "estimate": "estimated from the text (about 4 characters per token)"}
    controls.append(Control("token count", INFO, "; ".join(words[k] for k in kinds) or "no reasoning measured",
                            ", ".join(sorted({s.source for s in samples if s.ok}))))
    return controls


def _follows(lengths: dict[Budget, list[float]]) -> Control:
    budgets = list(lengths)
    trend = length_trend(budgets, [lengths[b] for b in budgets])
    meds = " | ".join(f"{b}: {_n(m)}" for b, m in trend["medians"])
    rho = "" if math.isnan(trend["spearman"]) else f" (Spearman {trend['spearman']:+.2f})"
    if trend["rises"] is None:
        return Control("follows budget", NOT_APPLICABLE, "fewer than two budgets measured", meds)
    if trend["rises"]:
        words = "honoured" if trend["monotone"] else "honoured overall, not monotone"
        return Control("follows budget", HONOURED, words, meds + rho)
    caps = [cap_of(b) for b in budgets]
    positive = [c for c in caps if c]
    if positive and all(c is not None for c in caps) and all(
            max(lengths[b]) < min(positive) for b, c in zip(budgets, caps) if c):
        top = max(max(lengths[b]) for b, c in zip(budgets, caps) if c)
        return Control("follows budget", INCONCLUSIVE,
                       f"inconclusive: the model stopped by itself (at most {_n(top)} tokens) below every budget; "
                       f"try smaller --budgets or a harder --prompt", meds + rho)
    return Control("follows budget", NOT_HONOURED, "ignored: lengths do not follow the budget", meds + rho)


def _cap(samples: list[CheckSample], tolerance: float, shown: str) -> Control:
    capped = [s for s in samples if s.ok and s.reasoning_tokens is not None and (cap_of(s.budget) or 0) > 0
              and is_hard(s.enforced_by, cap_of(s.budget))]
    if not capped:
        how = sorted({s.enforced_by for s in samples if s.ok and s.enforced_by}) or ["none"]
        return Control("hard cap", NOT_APPLICABLE, f"no hard cap to check (enforced by {', '.join(how)})", shown)
    worst = max(capped, key=lambda s: (s.reasoning_tokens / cap_of(s.budget), cap_of(s.budget)))
    cap = int(cap_of(worst.budget) or 0)
    rule = f"tolerance {100 * tolerance:.0f} % + {SLACK} tokens"
    if worst.reasoning_tokens > allowed(cap, tolerance):
        return Control("hard cap", NOT_HONOURED, f"exceeded: {_n(worst.reasoning_tokens)} observed at {cap:,} "
                       f"({rule})", shown)
    return Control("hard cap", HONOURED, f"honoured ({rule}; enforced by {worst.enforced_by})", shown)


def check_config(models: Sequence[str], *, mechanism: str | None = None, answer_margin: int | None = None,
                 model_options: dict[str, dict[str, Any]] | None = None) -> ExperimentConfig:
    """The config of a run of `models` with these settings (what `overthink check` vouches for without a run)."""
    try:
        mech = Mechanism(mechanism or Mechanism.AUTO)
    except ValueError:
        raise UserError(f"--mechanism must be auto, forced, prompted or native, got {mechanism!r}") from None
    return build_config(None, dict(models=list(models), tasks=["check"], mechanism=mech, answer_margin=answer_margin,
                                   model_options=dict(model_options or {})))


async def check_async(models: Sequence[str], budgets: Sequence[Budget] | None = None, *,
                      mechanism: str | None = None, model_options: dict[str, dict[str, Any]] | None = None,
                      repeats: int = 1, tolerance: float = TOLERANCE, prompt: str = CHECK_PROMPT,
                      answer_margin: int | None = None, config: ExperimentConfig | None = None,
                      system: str | None = None,
                      loader: Callable[[str, dict[str, Any]], ModelBase] = load_model) -> CheckResult:
    """`config`: the run being vouched for (`run --check`); its mechanism, margin, natural cap, cautioned prompt,
    sampling and model options are what the check's requests carry. Without one, a config is made of the other
    arguments (check_config)."""
    if repeats < 1:
        raise UserError(f"--repeats must be at least 1, got {repeats}")
    if not 0 <= tolerance < 10:
        raise UserError(f"--tolerance is a fraction of the budget (0.1 = 10 %), got {tolerance}")
    cfg = config or check_config(models, mechanism=mechanism, answer_margin=answer_margin,
                                 model_options=model_options)
    out = []
    for spec in models:
        model = loader(spec, run_model_options(cfg, spec))
        try:
            out.append(await _check_model(spec, model, budgets, cfg, repeats, tolerance, prompt, system))
        finally:
            await model.aclose()
    return CheckResult(out, tolerance)


def run_check(models: Sequence[str], budgets: Sequence[Budget] | None = None, **kwargs: Any) -> CheckResult:
    """Check each model's budget control with a few cheap requests; see the module docstring."""
    return asyncio.run(check_async(models, budgets, **kwargs))


def check_budgets(run_budgets: Sequence[Budget]) -> list[Budget]:
    """What `run --check` asks: the run's budget 0 (if any) and its two smallest other budgets (cheapest)."""
    ordered = sorted(dict.fromkeys(b for b in run_budgets if b != "natural"), key=budget_sort_key)
    zero = [b for b in ordered if cap_of(b) == 0]
    rest = [b for b in ordered if cap_of(b) != 0]
    return zero[:1] + rest[:2]
