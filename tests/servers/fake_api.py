"""A local HTTP server (starlette + uvicorn on 127.0.0.1, in a thread) speaking the Anthropic Messages + Message
Batches and OpenAI Chat Completions + Responses + Files + Batch wire formats, for driving the real SDKs in tests.

The "model" is deterministic: it thinks a known number of tokens per request (a fraction of budget_tokens, or a
fixed count per effort level) and answers `<answer>{answer}</answer>` (5 tokens). When thinking + answer does not
fit max tokens it is cut exactly as the APIs do. Faults are scripted: `server.faults.append({...})` makes the next
matching request fail with a status, headers and body, hang (timeout), or return a malformed body.

Broken budget controls, for the positive control (`overthink check`) and the enforcement audit: budget_mode
"ignore" thinks `fixed_think` tokens whenever thinking is asked for at all (any budget, any effort, and despite
enable_thinking false); "overshoot" thinks `overshoot` x the requested budget (default 3,538 at 2,048, as in
inspect_ai #2287). The chat endpoint also honours an openai-compatible server's `thinking_token_budget`.
"""

from __future__ import annotations

import asyncio
import json
import socket
import threading
import time
from collections.abc import Callable
from typing import Any

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import Route

EFFORT_TOKENS = {"none": 0, "minimal": 40, "low": 300, "medium": 900, "high": 2500, "xhigh": 5000, "max": 9000}
ANSWER_TOKENS = 5


class FakeAPI:
    def __init__(self, *, answer: str = "2", think_fraction: float = 0.5, report_thinking_tokens: bool = True,
                 batch_polls: int = 1, budget_mode: str = "honour", fixed_think: int = 1500,
                 overshoot: float = 3538 / 2048,
                 answer_for: Callable[[dict[str, Any], int], str] | None = None) -> None:
        assert budget_mode in ("honour", "ignore", "overshoot")
        self.budget_mode = budget_mode
        self.fixed_think = fixed_think
        self.overshoot = overshoot
        self.answer = answer
        # a known truth (tests/servers/truth.py, per-item answers): the answer as a function of the request body and
        # the tokens thought, instead of the fixed `answer`
        self.answer_for = answer_for
        self.think_fraction = think_fraction
        self.visible_reasoning = 0  # tokens of visible reasoning a non-reasoning chat model writes
        self.report_thinking_tokens = report_thinking_tokens
        self.batch_polls = batch_polls  # status polls before a batch ends
        self.faults: list[dict[str, Any]] = []
        self.log: list[dict[str, Any]] = []  # every request: path, headers, body
        self.billed: list[str] = []  # one entry per successfully answered generation (sync or batch)
        self.expire_batches = False
        self.delay_s = 0.0  # delays every chat answer (kill tests)
        self.batches: dict[str, dict[str, Any]] = {}
        self.files: dict[str, bytes] = {}
        self._n = 0
        self.app = Starlette(routes=[
            Route("/v1/messages", self.messages, methods=["POST"]),
            Route("/v1/messages/batches", self.a_batch_create, methods=["POST"]),
            Route("/v1/messages/batches/{bid}", self.a_batch_get, methods=["GET"]),
            Route("/v1/messages/batches/{bid}/results", self.a_batch_results, methods=["GET"]),
            Route("/v1/chat/completions", self.chat, methods=["POST"]),
            Route("/v1/responses", self.responses, methods=["POST"]),
            Route("/v1/files", self.file_create, methods=["POST"]),
            Route("/v1/files/{fid}/content", self.file_content, methods=["GET"]),
            Route("/v1/batches", self.o_batch_create, methods=["POST"]),
            Route("/v1/batches/{bid}", self.o_batch_get, methods=["GET"]),
        ])
        self.url = ""

    # -- lifecycle ------------------------------------------------------------------------------------------
    def start(self, tls: tuple[str, str] | None = None) -> FakeAPI:
        """Serve on a free port; with `tls` (certificate file, key file) over HTTPS."""
        sock = socket.socket()
        sock.bind(("127.0.0.1", 0))
        self.url = f"{'https' if tls else 'http'}://127.0.0.1:{sock.getsockname()[1]}"
        config = uvicorn.Config(self.app, log_level="warning", lifespan="off", ssl_certfile=tls and tls[0],
                                ssl_keyfile=tls and tls[1])
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, kwargs={"sockets": [sock]}, daemon=True)
        self.thread.start()
        deadline = time.time() + 10
        while not self.server.started and time.time() < deadline:
            time.sleep(0.02)
        return self

    def stop(self) -> None:
        # force_exit: do not wait for handlers a test left sleeping (a scripted 30 s delay held teardown 10 s)
        self.server.should_exit = self.server.force_exit = True
        self.thread.join(timeout=10)

    def _id(self, prefix: str) -> str:
        self._n += 1
        return f"{prefix}_{self._n:04d}"

    async def _intake(self, request: Request, *, generation: bool = True) -> tuple[Any, Response | None]:
        raw = await request.body()
        try:
            is_json = request.headers.get("content-type", "").startswith("application/json")
            body = json.loads(raw) if raw and is_json else None
        except json.JSONDecodeError:
            body = None
        self.log.append({"path": request.url.path, "headers": dict(request.headers), "body": body})
        for i, fault in enumerate(self.faults):
            if fault.get("path", request.url.path) == request.url.path and (generation or fault.get("path")):
                self.faults.pop(i)
                if "sleep" in fault:
                    await asyncio.sleep(fault["sleep"])
                if fault.get("malformed"):
                    return body, PlainTextResponse(fault["malformed"], media_type="application/json")
                if "status" in fault:
                    return body, JSONResponse(fault.get("body", _error(fault["status"], request.url.path)),
                                              status_code=fault["status"], headers=fault.get("headers", {}))
                break
        return body, None

    def _answer(self, body: dict[str, Any], think: int) -> str:
        return self.answer if self.answer_for is None else self.answer_for(body, think)

    def _think(self, requested: int | None, effort: str | None) -> int:
        if self.budget_mode == "ignore":  # any budget or effort (even "none") asks for thinking: it thinks
            return self.fixed_think if requested is not None or effort is not None else 0
        if self.budget_mode == "overshoot" and requested:
            return int(requested * self.overshoot)
        if requested:
            return int(requested * self.think_fraction)
        return EFFORT_TOKENS.get(effort or "none", 0)

    # -- Anthropic ------------------------------------------------------------------------------------------
    def anthropic_message(self, body: dict[str, Any]) -> dict[str, Any]:
        thinking = body.get("thinking") or {}
        want = 0
        if thinking.get("type") == "enabled":
            want = self._think(thinking["budget_tokens"], None)
        elif thinking.get("type") == "adaptive":
            effort = (body.get("output_config") or {}).get("effort", "high")
            want = self.fixed_think if self.budget_mode == "ignore" else EFFORT_TOKENS[effort]
        cap = int(body["max_tokens"])
        think = min(want, cap)
        content: list[dict[str, Any]] = []
        if thinking.get("type") in ("enabled", "adaptive"):
            # summarized thinking: deliberately far shorter than what is billed
            content.append({"type": "thinking", "thinking": "summary " * max(1, think // 50), "signature": "sig"})
        stop = "end_turn"
        if think + ANSWER_TOKENS > cap:
            stop = "max_tokens"
            text = f"<answer>{self._answer(body, think)}</answer>"[: max(0, cap - think) * 3] if cap > think else ""
        else:
            text = f"<answer>{self._answer(body, think)}</answer>"
        if text:
            content.append({"type": "text", "text": text})
        out_tokens = min(cap, think + ANSWER_TOKENS)
        usage: dict[str, Any] = {"input_tokens": len(json.dumps(body.get("messages"))) // 4,
                                 "output_tokens": out_tokens}
        if self.report_thinking_tokens and thinking:
            usage["output_tokens_details"] = {"thinking_tokens": think}
        return {"id": self._id("msg"), "type": "message", "role": "assistant", "model": body["model"],
                "content": content, "stop_reason": stop, "stop_sequence": None, "usage": usage}

    async def messages(self, request: Request) -> Response:
        body, fault = await self._intake(request)
        if fault is not None:
            return fault
        self.billed.append(request.url.path)
        return JSONResponse(self.anthropic_message(body))

    def _a_batch(self, bid: str) -> dict[str, Any]:
        b = self.batches[bid]
        ended = b["polls"] >= self.batch_polls
        n = len(b["requests"])
        return {"id": bid, "type": "message_batch", "processing_status": "ended" if ended else "in_progress",
                "request_counts": {"processing": 0 if ended else n, "succeeded": n if ended else 0, "errored": 0,
                                   "canceled": 0, "expired": 0},
                "ended_at": "2026-01-01T00:00:00Z" if ended else None, "created_at": "2026-01-01T00:00:00Z",
                "expires_at": "2026-01-02T00:00:00Z", "cancel_initiated_at": None, "archived_at": None,
                "results_url": f"{self.url}/v1/messages/batches/{bid}/results" if ended else None}

    async def a_batch_create(self, request: Request) -> Response:
        body, fault = await self._intake(request, generation=False)
        if fault is not None:
            return fault
        bid = self._id("msgbatch")
        self.batches[bid] = {"requests": body["requests"], "polls": 0, "kind": "anthropic"}
        return JSONResponse(self._a_batch(bid))

    async def a_batch_get(self, request: Request) -> Response:
        _, fault = await self._intake(request, generation=False)
        if fault is not None:
            return fault
        bid = request.path_params["bid"]
        self.batches[bid]["polls"] += 1
        return JSONResponse(self._a_batch(bid))

    async def a_batch_results(self, request: Request) -> Response:
        await self._intake(request, generation=False)
        b = self.batches[request.path_params["bid"]]
        lines = []
        for i, entry in enumerate(b["requests"]):
            if self.expire_batches and i % 2 == 1:
                result: dict[str, Any] = {"type": "expired"}
            else:
                result = {"type": "succeeded", "message": self.anthropic_message(entry["params"])}
                self.billed.append("batch:" + entry["custom_id"])
            lines.append(json.dumps({"custom_id": entry["custom_id"], "result": result}))
        return PlainTextResponse("\n".join(lines) + "\n", media_type="application/binary")

    # -- OpenAI ---------------------------------------------------------------------------------------------
    def chat_completion(self, body: dict[str, Any]) -> dict[str, Any]:
        cap = int(body.get("max_completion_tokens") or body.get("max_tokens") or 4096)
        think = min(cap, self._think(None, body.get("reasoning_effort")))
        if "thinking_token_budget" in body or "chat_template_kwargs" in body:  # a server's hard budget / switch
            off = (body.get("chat_template_kwargs") or {}).get("enable_thinking") is False
            think = min(cap, self.fixed_think if self.budget_mode == "ignore" else 0 if off else
                        self._think(body.get("thinking_token_budget"), None))
        finish = "stop" if think + ANSWER_TOKENS <= cap else "length"
        text = f"<answer>{self._answer(body, think)}</answer>" if finish == "stop" else ""
        out = min(cap, think + ANSWER_TOKENS)
        if self.visible_reasoning and "reasoning_effort" not in body:
            # a non-reasoning model: it reasons in the visible text and reports reasoning_tokens = 0
            text = "step " * self.visible_reasoning + text
            out = min(cap, self.visible_reasoning + ANSWER_TOKENS)
        return {"id": self._id("chatcmpl"), "object": "chat.completion", "created": 1, "model": body["model"],
                "choices": [{"index": 0, "message": {"role": "assistant", "content": text}, "finish_reason": finish,
                             "logprobs": None}],
                "usage": {"prompt_tokens": 20, "completion_tokens": out, "total_tokens": 20 + out,
                          "completion_tokens_details": {"reasoning_tokens": think}}}

    def response(self, body: dict[str, Any]) -> dict[str, Any]:
        cap = int(body.get("max_output_tokens") or 4096)
        think = min(cap, self._think(None, (body.get("reasoning") or {}).get("effort")))
        done = think + ANSWER_TOKENS <= cap
        output: list[dict[str, Any]] = [{"type": "reasoning", "id": "rs_1", "summary": [
            {"type": "summary_text", "text": "short summary"}]}]
        if done:
            text = f"<answer>{self._answer(body, think)}</answer>"
            output.append({"type": "message", "id": "msg_1", "role": "assistant", "status": "completed",
                           "content": [{"type": "output_text", "text": text, "annotations": []}]})
        out = min(cap, think + ANSWER_TOKENS)
        return {"id": self._id("resp"), "object": "response", "created_at": 1, "model": body["model"],
                "status": "completed" if done else "incomplete",
                "incomplete_details": None if done else {"reason": "max_output_tokens"},
                "output": output, "parallel_tool_calls": True, "tool_choice": "auto", "tools": [],
                "usage": {"input_tokens": 20, "output_tokens": out, "total_tokens": 20 + out,
                          "input_tokens_details": {"cached_tokens": 0},
                          "output_tokens_details": {"reasoning_tokens": think}}}

    async def chat(self, request: Request) -> Response:
        body, fault = await self._intake(request)
        if fault is not None:
            return fault
        if self.delay_s:
            await asyncio.sleep(self.delay_s)
        self.billed.append(request.url.path)
        return JSONResponse(self.chat_completion(body))

    async def responses(self, request: Request) -> Response:
        body, fault = await self._intake(request)
        if fault is not None:
            return fault
        self.billed.append(request.url.path)
        return JSONResponse(self.response(body))

    async def file_create(self, request: Request) -> Response:
        form = await request.form()
        self.log.append({"path": request.url.path, "headers": dict(request.headers), "body": None})
        upload = form["file"]
        data = await upload.read()
        fid = self._id("file")
        self.files[fid] = data
        return JSONResponse({"id": fid, "object": "file", "bytes": len(data), "created_at": 1,
                             "filename": upload.filename, "purpose": form.get("purpose", "batch"),
                             "status": "processed"})

    async def file_content(self, request: Request) -> Response:
        await self._intake(request, generation=False)
        return Response(self.files[request.path_params["fid"]], media_type="application/octet-stream")

    def _o_batch(self, bid: str) -> dict[str, Any]:
        b = self.batches[bid]
        ended = b["polls"] >= self.batch_polls
        status = ("expired" if self.expire_batches else "completed") if ended else "in_progress"
        if ended and "output_file_id" not in b:
            lines = []
            for i, line in enumerate(self.files[b["input_file_id"]].decode().splitlines()):
                entry = json.loads(line)
                if self.expire_batches and i % 2 == 1:
                    continue  # an expired batch returns only what finished in time
                answer = self.chat_completion if entry["url"] == "/v1/chat/completions" else self.response
                body = answer(entry["body"])
                self.billed.append("batch:" + entry["custom_id"])
                lines.append(json.dumps({"id": f"br_{i}", "custom_id": entry["custom_id"],
                                         "response": {"status_code": 200, "request_id": "r", "body": body},
                                         "error": None}))
            fid = self._id("file")
            self.files[fid] = ("\n".join(lines) + "\n").encode()
            b["output_file_id"] = fid
        return {"id": bid, "object": "batch", "endpoint": b["endpoint"], "input_file_id": b["input_file_id"],
                "completion_window": "24h", "status": status, "created_at": 1,
                "output_file_id": b.get("output_file_id"), "error_file_id": None,
                "request_counts": {"total": 0, "completed": 0, "failed": 0}}

    async def o_batch_create(self, request: Request) -> Response:
        body, fault = await self._intake(request, generation=False)
        if fault is not None:
            return fault
        bid = self._id("batch")
        self.batches[bid] = {"input_file_id": body["input_file_id"], "endpoint": body["endpoint"], "polls": 0,
                             "kind": "openai"}
        return JSONResponse(self._o_batch(bid))

    async def o_batch_get(self, request: Request) -> Response:
        await self._intake(request, generation=False)
        bid = request.path_params["bid"]
        self.batches[bid]["polls"] += 1
        return JSONResponse(self._o_batch(bid))


def _error(status: int, path: str) -> dict[str, Any]:
    kind = {429: "rate_limit_error", 529: "overloaded_error", 500: "api_error"}.get(status, "invalid_request_error")
    if path.startswith("/v1/messages"):
        return {"type": "error", "error": {"type": kind, "message": f"fake {status}"}}
    return {"error": {"message": f"fake {status}", "type": kind, "code": None, "param": None}}
