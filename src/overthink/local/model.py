"""The embedded model provider (`local:<pack>`): llama.cpp through xllamacpp, with budget forcing.

Prompt: the pack's chat template, built by us for the completions endpoint, the assistant turn opened with
`<think>\\n`. Mechanisms:

- forced (s1-style hard cap B): pass 1 generates at most B thinking tokens, stopping at `</think>` (an early stop,
  by `</think>` or end-of-turn, is a *natural* stop; reaching B is *capped*). Pass 2 continues from the prompt + the
  thinking token ids + `\\n</think>\\n<answer>` for at most plan.answer_tokens, stopping at `</answer>`. The
  thinking is fed back as the exact token ids the model generated (no re-tokenisation), so a cut at B tokens of a
  longer trace is the same prompt an independent B-token run builds: that is what makes shared-prefix sweeps exact.
- prompted (the paper's soft budget): one pass capped at plan.max_tokens; reasoning = text before `</think>`.
- native: not available locally (ModelUnavailable).
"""

from __future__ import annotations

import asyncio
import os
import threading
import time
import warnings
import weakref
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

from ..budget import BudgetPlan
from ..core import NATURAL, Budget, Completion, Mechanism
from ..errors import ConfigError, ModelUnavailable, install_hint
from ..providers.base import GenerateRequest, ModelBase, ModelSpec, check_known, model_option
from ..providers.registry import natural_cap_for
from .packs import ModelPack, ensure_model, get_pack
from .sweep import ANSWER_CLOSE, Answer, Call, Trace, forced_completion, plan_cuts, sweep

THINK_INSTRUCTION = (
    "Think step by step inside <think></think> tags, then give your final answer inside <answer></answer> tags."
)
THINK_OPEN = "<think>\n"
THINK_CLOSE = "</think>"
ANSWER_CUE = "\n</think>\n<answer>"  # closes the thinking and opens the answer (the s1 "cap" step)
DEFAULT_N_CTX = 8192  # per slot
# llama.cpp slots (model_options n_parallel) are decoded together in one batch (continuous batching): the runner's
# `concurrency` workers each hold a slot, beyond n_parallel they queue. One slot by default: batched decoding changes
# greedy outputs on this runtime (a sequence's numerics depend on what shares its batch: 4 slots left 104 of the
# quickstart's 160 samples identical, for 1.63x its speed), and the shared-trace sweep, seeded determinism and the
# demo's table promise the single-stream tokens. bench/bench_local_throughput.py measures what more slots give.
DEFAULT_N_PARALLEL = 1
LOCAL_OPTIONS = {"n_ctx", "n_threads", "n_parallel", "answer_tokens", "progress", "natural_cap", "time_limit_s"}
# A natural (unbudgeted) thinking pass stops here (providers/registry.py): a 0.5B model on a CPU can otherwise
# think for many minutes per sample (SmolLM2 took 3 min 20 s for one). --natural-cap or model_options changes it.
DEFAULT_NATURAL_CAP = natural_cap_for("local")
PROMPT_ROOM = 2048  # context kept for the prompt (an 8x8 zebra puzzle is ~1,000 tokens)
THREADS_ENV = "OVERTHINK_THREADS"


@lru_cache(maxsize=1)
def free_cores() -> tuple[int, str]:
    """llama.cpp threads by default: the cores this process may run on, less the load already on them, and why.

    llama.cpp's threads meet at a barrier after every layer, so one descheduled thread stalls the others: with two
    threads on a 2-core machine whose cores other jobs also use, the demo ran ~23x slower per item. So a thread
    is only started on a core that is free now (the 1-minute load average, rounded down). OVERTHINK_THREADS=N
    (or model option n_threads) overrides it. Worked out once per process: one model file is one llama.cpp server
    per process, whose thread count cannot change."""
    raw = os.environ.get(THREADS_ENV, "").strip()
    if raw:
        try:
            given = int(raw)
        except ValueError:
            given = 0
        if given < 1:
            raise ConfigError(f"{THREADS_ENV}={raw!r}: give a whole number of threads >= 1")
        return given, f"{THREADS_ENV}={given}"
    try:
        cores = len(os.sched_getaffinity(0))
    except AttributeError:  # macOS, Windows: no affinity mask
        cores = os.cpu_count() or 1
    try:
        load = os.getloadavg()[0]
    except (AttributeError, OSError):
        return cores, f"{cores} cores"
    threads = max(1, min(cores, cores - int(load)))
    return threads, f"{cores} cores, load average {load:.1f}"


@dataclass
class _Engine:
    """One llama.cpp server per process per model file, with n_parallel slots (KV caches).

    A caller takes a slot for a whole generation (`async with engine.slot()`), so the answer passes that follow a
    thinking pass find that pass's KV cache in the slot and only process the answer cue. Queued callers wait in
    asyncio, not in blocked worker threads; each slot has its own worker thread (the default executor has only
    cpu_count + 4, fewer than the slots on a small machine)."""

    path: Path
    options: dict[str, int]
    server: Any = None
    threads: ThreadPoolExecutor | None = None
    # one pool of free slot ids per event loop (asyncio queues are bound to the loop they are used in)
    _pools: weakref.WeakKeyDictionary = field(default_factory=weakref.WeakKeyDictionary)

    def start(self) -> None:
        import xllamacpp

        params = xllamacpp.CommonParams()
        params.model.path = str(self.path)
        params.n_parallel = self.options["n_parallel"]
        params.n_ctx = self.options["n_ctx"] * self.options["n_parallel"]  # llama.cpp splits n_ctx across slots
        params.cpuparams.n_threads = self.options["n_threads"]
        params.cpuparams_batch.n_threads = self.options["n_threads"]
        params.verbosity = -1  # llama.cpp logs every request to stderr otherwise
        self.server = xllamacpp.Server(params)
        self.threads = ThreadPoolExecutor(self.options["n_parallel"], thread_name_prefix="llama-slot")

    def complete(self, body: dict[str, Any], deadline: float | None = None,
                 cancel: threading.Event | None = None) -> dict[str, Any]:
        """One completion, always streamed token by token: a blocking call could not be stopped before its pass
        ends (minutes for a long natural trace), a stream stops at a deadline or on cancel within a token
        (llama.cpp ends the generation when the callback returns True). Returns the same shape as a plain
        completion; a stop by deadline has finish_reason "time_limit"."""
        chunks: list[dict[str, Any]] = []
        stopped: list[str] = []

        def on_chunk(chunk: Any) -> bool:
            chunks.append(chunk)
            if cancel is not None and cancel.is_set():
                stopped.append("cancelled")
            elif deadline is not None and time.monotonic() > deadline:
                stopped.append("time_limit")
            return bool(stopped)

        self.server.handle_completions({**body, "stream": True}, on_chunk)
        if stopped and stopped[0] == "cancelled":
            raise asyncio.CancelledError
        choices = [c["choices"][0] for c in chunks if isinstance(c, dict) and c.get("choices")]
        if not choices:
            err: Any = chunks[-1] if chunks else "no output"
            err = err.get("error", err) if isinstance(err, dict) else err
            raise RuntimeError(f"llama.cpp: {err.get('message', err) if isinstance(err, dict) else err}")
        content = [e for c in choices for e in ((c.get("logprobs") or {}).get("content") or [])]
        text = "".join(c.get("text") or "" for c in choices)
        # a stream lists the stop word's tokens too (a plain completion drops them): keep the tokens of the text
        size, total = len(text.encode()), sum(len(e.get("bytes") or []) for e in content)
        while content and total > size:
            total -= len(content.pop().get("bytes") or [])
        usage = next((c["usage"] for c in reversed(chunks) if isinstance(c, dict) and c.get("usage")), None)
        usage = usage or {"completion_tokens": len(content), "prompt_tokens": 0}
        finish = "time_limit" if stopped else choices[-1].get("finish_reason")
        timings = next((c["timings"] for c in reversed(chunks) if isinstance(c, dict) and c.get("timings")), {})
        return {"choices": [{"text": text, "finish_reason": finish,
                             "logprobs": {"content": content}}], "usage": usage, "timings": timings}

    @asynccontextmanager
    async def slot(self) -> AsyncIterator[Callable[[dict[str, Any]], Awaitable[dict[str, Any]]]]:
        """Hold one slot; yields `call(body)` pinned to it."""
        loop = asyncio.get_running_loop()
        pool = self._pools.get(loop)
        if pool is None:
            pool = self._pools[loop] = asyncio.Queue()
            for i in range(self.options["n_parallel"]):
                pool.put_nowait(i)
        slot_id = await pool.get()

        async def call(body: dict[str, Any]) -> dict[str, Any]:
            deadline = body.pop("_deadline", None)
            cancel = threading.Event()
            try:
                return await loop.run_in_executor(self.threads, self.complete, {**body, "id_slot": slot_id},
                                                  deadline, cancel)
            except asyncio.CancelledError:
                cancel.set()  # Ctrl-C: the generation thread stops at its next token
                raise

        try:
            yield call
        finally:
            pool.put_nowait(slot_id)


_ENGINES: dict[Path, _Engine] = {}
_ENGINES_LOCK = threading.Lock()


def _engine(path: Path, options: dict[str, int]) -> _Engine:
    with _ENGINES_LOCK:
        engine = _ENGINES.get(path)
        if engine is None:
            engine = _Engine(path, options)
            try:
                engine.start()
            except ImportError as exc:
                raise ModelUnavailable(f"the local provider needs xllamacpp: {install_hint('local')}") from exc
            except RuntimeError as exc:
                raise ModelUnavailable(f"llama.cpp could not load {path}: {exc}") from exc
            _ENGINES[path] = engine
        elif engine.options != options:
            warnings.warn(f"local model {path.name} is already loaded with {engine.options}; "
                          f"ignoring {options} (one server per model file per process)", stacklevel=3)
        return engine


def shutdown_engines() -> None:
    """Free every loaded model (tests, benchmarks). Models created afterwards load again."""
    with _ENGINES_LOCK:
        _ENGINES.clear()


class LocalModel(ModelBase):
    # Tokens after thinking: room for an <answer> (forced) or for a visible answer after a soft budget (prompted).
    # The paper's 16,384 fits 30-billion-parameter servers, not a laptop CPU; --answer-margin overrides it.
    stops_at_once = True  # Ctrl-C needs no grace period: nothing is paid for and a generation stops within a token

    def __init__(self, spec: ModelSpec, pack: ModelPack, options: dict[str, Any]) -> None:
        self.spec = spec
        self.pack = pack
        check_known(spec, options, LOCAL_OPTIONS)
        self.progress = options.get("progress")
        threads, self.threads_from = free_cores() if "n_threads" not in options else (None, "model option n_threads")
        self.options = {
            "n_ctx": model_option(spec, options, "n_ctx", int, DEFAULT_N_CTX),
            "n_threads": model_option(spec, options, "n_threads", int, threads),
            "n_parallel": max(1, model_option(spec, options, "n_parallel", int, DEFAULT_N_PARALLEL)),
        }
        # overrides plan.answer_tokens when set
        self.answer_tokens = model_option(spec, options, "answer_tokens", int, None)
        self.natural_cap = model_option(spec, options, "natural_cap", int, DEFAULT_NATURAL_CAP)
        # seconds per sample for the thinking pass(es); past it the thinking stops and the answer is forced
        self.time_limit_s = model_option(spec, options, "time_limit_s", float, None)
        self._engine: _Engine | None = None
        self._lock = threading.Lock()

    def describe(self) -> dict[str, Any]:
        return {"n_threads": self.options["n_threads"], "n_threads_from": self.threads_from}

    @property
    def start_note(self) -> str:
        """One line for the run's start: how many threads and why (a loaded machine gets fewer)."""
        return (f"{self.spec}: {self.options['n_threads']} llama.cpp thread(s) ({self.threads_from}; "
                f"{THREADS_ENV}=N or model option n_threads sets it)")

    # -- plumbing ---------------------------------------------------------------------------------------------
    def engine(self) -> _Engine:
        """The loaded model (blocking: joins/verifies the pack and loads llama.cpp on first use)."""
        with self._lock:
            if self._engine is None:
                path = ensure_model(self.pack, progress=self.progress)
                self._engine = _engine(path, self.options)
            return self._engine

    @asynccontextmanager
    async def session(self) -> AsyncIterator[Call]:
        """Hold one llama.cpp slot for a whole generation; yields `call(body)`."""
        engine = self._engine or await asyncio.to_thread(self.engine)  # never block the event loop on loading
        async with engine.slot() as call:
            yield call

    def prompt(self, request: GenerateRequest) -> str:
        t = self.pack.chat_template
        system = "\n\n".join(p for p in (request.system_text(), THINK_INSTRUCTION) if p)
        return (t["system"].format(content=system) + t["user"].format(content=request.prompt)
                + t["assistant"] + THINK_OPEN)

    def _body(self, request: GenerateRequest, prompt: Any, max_tokens: int, stop: list[str],
              pieces: bool, cached: bool = False) -> dict[str, Any]:
        # A pass that starts a generation never reuses a slot's cache: a prefix left by an earlier request would be
        # computed in other batch shapes and could change greedy outputs. Answer passes (cached=True) reuse only
        # the KV cache of the thinking pass just run in the same slot.
        # Greedy by default; a natural run samples (the paper's open-weight 0.6 / 0.95), or its K samples per
        # item would all be the same text.
        natural = request.plan.budget == NATURAL
        temperature = request.temperature if request.temperature is not None else (0.6 if natural else 0.0)
        top_p = request.top_p if request.top_p is not None else (0.95 if natural else None)
        body: dict[str, Any] = {
            "prompt": prompt, "max_tokens": max_tokens, "stop": stop, "seed": request.seed,
            "temperature": temperature, "cache_prompt": cached,
        }
        if top_p is not None:
            body["top_p"] = top_p
        if pieces:  # per-token ids and bytes; post-sampling probs are the cheap way to get them
            body.update(n_probs=1, post_sampling_probs=True)
        return body

    def _answer_budget(self, plan: BudgetPlan) -> int:
        return int(self.answer_tokens or plan.answer_tokens)

    def think_cap(self, plan: BudgetPlan) -> int:
        if plan.think_tokens is not None:
            return int(plan.think_tokens)
        # "natural": think freely up to natural_cap, and never past what the context leaves
        return max(0, min(plan.max_tokens - plan.answer_tokens, self._room() - self._answer_budget(plan),
                          self.natural_cap))

    def _room(self) -> int:
        """Tokens a slot leaves for thinking + answer after a generous prompt allowance."""
        return self.options["n_ctx"] - PROMPT_ROOM

    def control_budgets(self) -> list[Budget]:
        return [0, 32, 128]  # a small context: budgets it can decode in seconds

    def check_plan(self, plan: BudgetPlan, temperature: float | None = None) -> None:
        """Refuse, before any work, what the embedded model cannot do (the runner calls this per budget)."""
        if plan.mechanism is Mechanism.NATIVE:
            raise ModelUnavailable(
                f"{self.spec}: local models have no native budget control; use --mechanism forced (hard cap) "
                "or prompted (budget stated in the prompt)")
        if plan.budget == NATURAL:
            return  # natural thinking is capped to what the context leaves
        need = (self.think_cap(plan) + self._answer_budget(plan) if plan.mechanism is Mechanism.FORCED
                else plan.max_tokens)
        if need > self._room():
            raise ModelUnavailable(
                f"{self.spec}: budget {plan.budget} needs {need} output tokens but the context leaves "
                f"{self._room()} after the prompt; raise it with model_options: {{{self.spec}: {{n_ctx: "
                f"{need + PROMPT_ROOM}}}}}")

    # -- passes -----------------------------------------------------------------------------------------------
    async def think(self, request: GenerateRequest, cap: int, call: Call, *, exact: bool = False) -> Trace:
        """The thinking pass. It asks for cap + 1 tokens so that the KV of every token up to the cap is computed
        by decoding (a sampled token is only fed back when the next one is generated): the answer pass then
        reuses the same cache whether the cut is at the cap or inside a longer trace. `exact` asks for cap
        tokens (the rare cut that lands inside the stop word)."""
        start = time.perf_counter()
        body = self._body(request, self.prompt(request), cap if exact else cap + 1, [THINK_CLOSE], pieces=True)
        if self.time_limit_s is not None:
            body["_deadline"] = time.monotonic() + self.time_limit_s
        result = await call(body)
        choice, usage = result["choices"][0], result["usage"]
        content = (choice.get("logprobs") or {}).get("content") or []
        total = int(usage["completion_tokens"])
        natural = choice.get("finish_reason") == "stop"
        # At end of turn the runtime lists the end-of-generation token (empty bytes) among the generated tokens;
        # at a stop word it has already removed the stop word's tokens.
        if natural and content and len(content) == total and not content[-1].get("bytes"):
            content = content[:-1]
        return Trace([int(e["id"]) for e in content], [bytes(e.get("bytes") or []) for e in content], natural,
                     total, int(usage["prompt_tokens"]), time.perf_counter() - start,
                     timed_out=choice.get("finish_reason") == "time_limit")

    async def answer(self, request: GenerateRequest, ids: list[int], call: Call) -> Answer:
        """The answer pass after the first len(ids) thinking tokens (run right after `think` in the same slot)."""
        start = time.perf_counter()
        base = self.prompt(request)
        # [text, ids..., text] is one mixed prompt; a list of strings alone would be a batch of prompts.
        prompt: Any = [base, *ids, ANSWER_CUE] if ids else base + ANSWER_CUE
        body = self._body(request, prompt, self._answer_budget(request.plan), [ANSWER_CLOSE], pieces=False,
                          cached=True)
        result = await call(body)
        choice, usage = result["choices"][0], result["usage"]
        return Answer(choice.get("text") or "", choice.get("finish_reason") != "length",
                       int(usage["completion_tokens"]), int(usage["prompt_tokens"]), time.perf_counter() - start)

    # -- protocol ---------------------------------------------------------------------------------------------
    async def generate(self, request: GenerateRequest) -> Completion:
        mech = request.plan.mechanism
        if mech is Mechanism.FORCED:
            return await self._generate_forced(request)
        if mech is Mechanism.PROMPTED:
            return await self._generate_prompted(request)
        raise ModelUnavailable(
            f"{self.spec}: local models have no native budget control; use mechanism 'forced' (hard cap) "
            "or 'prompted' (budget stated in the prompt)"
        )

    async def _generate_forced(self, request: GenerateRequest) -> Completion:
        async with self.session() as call:
            return await self.forced_in_slot(request, call)

    async def forced_in_slot(self, request: GenerateRequest, call: Call) -> Completion:
        cap = self.think_cap(request.plan)
        trace = await self.think(request, cap, call)  # for cap 0 this only fills the slot with the prompt
        cut = plan_cuts(trace, [cap])[0]
        if trace.timed_out and cut is None:  # the time limit cut the thinking short: answer from what is there
            cut = ("capped", len(trace.ids))
        elif cut is None:  # the cap falls inside the stop word: think again, capped exactly
            trace = await self.think(request, cap, call, exact=True)
            cut = ("natural" if trace.natural else "capped", len(trace.ids))
        stop, n = cut
        ans = await self.answer(request, trace.ids[:n], call)
        done = forced_completion(trace, n, stop, ans, cap)
        if trace.timed_out:
            done.extra["time_limit_s"] = self.time_limit_s
        return done

    async def _generate_prompted(self, request: GenerateRequest) -> Completion:
        start = time.perf_counter()
        body = self._body(request, self.prompt(request), min(request.plan.max_tokens, self._room()), [],
                          pieces=True)
        async with self.session() as call:
            result = await call(body)
        choice, usage = result["choices"][0], result["usage"]
        text = choice.get("text") or ""
        content = (choice.get("logprobs") or {}).get("content") or []
        pieces = [bytes(e.get("bytes") or []) for e in content]
        finished = choice.get("finish_reason") != "length"
        extra: dict[str, Any] = {}
        idx = text.find(THINK_CLOSE)
        if idx >= 0:
            reasoning, answer, thinking_stop = text[:idx], text[idx + len(THINK_CLOSE):], "natural"
            truncated = not finished
        elif finished:
            # The model ended its turn without closing </think>: its whole output is reasoning, and the answer it
            # wrote inside the thinking (last <answer> tag) is taken as the answer. Flagged, never silent.
            reasoning, thinking_stop, truncated = text, "unclosed", False
            tag = text.rfind("<answer>")
            answer = text[tag:] if tag >= 0 else ""
            extra["think_unclosed"] = True
        else:
            reasoning, answer, thinking_stop, truncated = text, "", "capped", True
        # reasoning tokens: the generated tokens whose bytes end at or before the </think> delimiter
        limit, used, count = len(reasoning.encode()), 0, 0
        for piece in pieces:
            used += len(piece)
            if used > limit:
                break
            count += 1
        return Completion(
            reasoning=reasoning, answer_text=answer, reasoning_tokens=count, reasoning_tokens_source="tokenizer",
            output_tokens=int(usage["completion_tokens"]), input_tokens=int(usage["prompt_tokens"]),
            stop_reason="max_tokens" if not finished else "stop", truncated=truncated,
            latency_s=time.perf_counter() - start, thinking_stop=thinking_stop, extra=extra,
        )

    async def generate_sweep(
        self, requests: Sequence[GenerateRequest]
    ) -> AsyncIterator[tuple[GenerateRequest, Completion | BaseException]]:
        async for pair in sweep(self, list(requests)):
            yield pair

    async def aclose(self) -> None:
        # The server is shared per process (other models may use the same file); shutdown_engines() frees it.
        self._engine = None


def create(spec: ModelSpec, options: dict[str, Any]) -> LocalModel:
    if spec.base_url:
        raise ModelUnavailable(f"{spec}: local models take no base URL")
    return LocalModel(spec, get_pack(spec.model), options)

