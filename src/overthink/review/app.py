"""The review web app (Starlette + server-rendered jinja2, autoescaped; plain JS/CSS served locally).

Security model: the server binds 127.0.0.1 only. Every request needs the random access token: given once as
`?token=...` (the app then sets an HttpOnly SameSite=Strict cookie and redirects to the same URL without it, so the
token leaves the address bar and history) or carried by that cookie afterwards; anything else gets 403. Writes
(POST /api/labels) additionally need a per-server CSRF token in the `X-CSRF-Token` header and a JSON body, which a
cross-site page cannot send without a CORS preflight that this app never answers. A Content-Security-Policy without
inline script is defence in depth: model text is escaped by jinja2 autoescape and by `data.highlight`.

Pages read the store read-only (a run dir on a read-only mount is reviewable). A label body is read up to MAX_BODY
bytes (413 beyond: the body is never buffered whole) and must be flat JSON (400 for a body nested deeper than
MAX_DEPTH or not JSON); a label the store cannot write (full disk, read-only dir) is a 507 / 403 with the reason.
"""

from __future__ import annotations

import json
import math
import secrets
import socket
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlencode

from jinja2 import Environment, FileSystemLoader
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.middleware.base import BaseHTTPMiddleware, RequestResponseEndpoint
from starlette.middleware.trustedhost import TrustedHostMiddleware
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, RedirectResponse, Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles
from starlette.templating import Jinja2Templates

from ..analysis.flipspan import review_flips
from ..core import budget_sort_key
from ..errors import UserError
from ..store import DB_NAME, Store, StoreError
from . import data
from .labels import BY_CODE, TAXONOMY, agreement, reviewers, validate_label

HERE = Path(__file__).parent
HOST = "127.0.0.1"
PAGE_SIZE = 100
MAX_BODY = 64 * 1024  # a label is a few codes, tags and a note
MAX_DEPTH = 8  # {"labels": [...]} needs 2
MAX_SAMPLE_ID = 2**63 - 1  # SQLite's largest integer
REVIEWER_COOKIE = "overthink_reviewer"
CSP = ("default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; connect-src 'self'; "
       "base-uri 'none'; form-action 'self'; frame-ancestors 'none'")


@dataclass
class ReviewConfig:
    run_dir: Path
    token: str = field(default_factory=lambda: secrets.token_urlsafe(32))
    csrf: str = field(default_factory=lambda: secrets.token_urlsafe(32))
    # Cookies ignore ports: a per-server cookie name keeps two review servers on 127.0.0.1 apart.
    cookie: str = field(default_factory=lambda: "overthink_token_" + secrets.token_hex(4))
    default_reviewer: str = ""


class TokenGate(BaseHTTPMiddleware):
    def __init__(self, app: Any, config: ReviewConfig) -> None:
        super().__init__(app)
        self.config = config

    async def dispatch(self, request: Request, call_next: RequestResponseEndpoint) -> Response:
        cfg = self.config
        given = request.query_params.get("token")
        if given is not None and request.method == "GET" and _same(given, cfg.token):
            response = RedirectResponse(str(request.url.remove_query_params("token")), status_code=303)
            response.set_cookie(cfg.cookie, cfg.token, httponly=True, samesite="strict", path="/")
            return response
        cookie = request.cookies.get(cfg.cookie, "")
        if not _same(cookie, cfg.token):
            return PlainTextResponse("403 Forbidden: open the URL with the access token that `overthink review` "
                                     "printed.\n", status_code=403)
        if request.method not in ("GET", "HEAD"):
            csrf = request.headers.get("x-csrf-token", "")
            if not _same(csrf, cfg.csrf) or \
                    request.headers.get("content-type", "").split(";")[0].strip() != "application/json":
                return PlainTextResponse("403 Forbidden: missing or wrong CSRF token\n", status_code=403)
        response = await call_next(request)
        response.headers["Content-Security-Policy"] = CSP
        response.headers["Referrer-Policy"] = "no-referrer"
        response.headers["X-Content-Type-Options"] = "nosniff"
        response.headers["Cache-Control"] = "no-store"
        return response


def _same(given: str, expected: str) -> bool:
    """A constant-time comparison of a presented token. `compare_digest` on str raises TypeError for non-ASCII
    text (a header, cookie or query value anyone can send): compare the UTF-8 bytes instead."""
    return secrets.compare_digest(given.encode("utf-8", "surrogatepass"), expected.encode("utf-8"))


def _env() -> Environment:
    env = Environment(loader=FileSystemLoader(HERE / "templates"), autoescape=True)
    env.filters["highlight"] = data.highlight
    env.filters["preview"] = data.preview
    env.filters["when"] = lambda ts: time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(ts))
    return env


def create_app(config: ReviewConfig, *, warm: bool = False) -> Starlette:
    """The app. `warm` starts reading the run into the page index in a background thread at once, so the first
    page does not wait for it (seconds at a million samples) while the person opens the URL."""
    templates = Jinja2Templates(env=_env())
    run_dir = config.run_dir
    Store(run_dir, create=False, readonly=True).close()  # fail early (UserError) on a directory that is not a run
    index = data.new_index()  # item rows and verdicts, rebuilt when the store changes (store/pages.py)
    if warm:
        threading.Thread(target=_warm, args=(run_dir, index), daemon=True, name="review-index").start()

    def store(*, write: bool = False) -> Store:
        # One short-lived connection per request: SQLite connections are per thread, and the run may still be
        # writing samples (WAL lets us read alongside).
        return Store(run_dir, create=False, readonly=None if write else True)

    def reviewer_of(request: Request) -> str:
        # The page's script writes this cookie percent-encoded (names may hold spaces or non-ASCII letters).
        return unquote(request.cookies.get(REVIEWER_COOKIE, "")).strip() or config.default_reviewer

    def render(request: Request, name: str, **ctx: Any) -> Response:
        ctx.update(request=request, csrf=config.csrf, reviewer=reviewer_of(request), taxonomy=TAXONOMY,
                   by_code=BY_CODE, verdicts=data.VERDICTS, run_dir=str(run_dir), qs=_qs)
        return templates.TemplateResponse(request, name, ctx)

    async def index_page(request: Request) -> Response:
        filters = data.Filters.from_query(request.query_params)
        with store() as st:
            index.refresh(st)
            by_verdict = index.counts(filters.query())
            n_shown = sum(by_verdict.values())
            pages = max(1, math.ceil(n_shown / PAGE_SIZE))
            page = min(max(1, _int(request.query_params.get("page"), 1)), pages)
            rows = data.page_rows(st, index, filters, (page - 1) * PAGE_SIZE, PAGE_SIZE)
        budgets = sorted(index.budgets, key=budget_sort_key)
        options = {
            "task": index.tasks, "model": index.models,
            "budget": [str(b) for b in budgets], "status": list(data.STATUSES), "verdict": list(data.VERDICTS),
            "tags": index.tags,
        }
        counts = {v: by_verdict.get(v, 0) for v in data.VERDICTS}
        return render(request, "items.html", rows=rows, total=index.total, n_shown=n_shown, page=page, pages=pages,
                      filters=filters, options=options, budgets=budgets, counts=counts)

    async def item(request: Request) -> Response:
        task, item_id = request.query_params.get("task", ""), request.query_params.get("item", "")
        filters = data.Filters.from_query(request.query_params)
        with store() as st:
            index.refresh(st)
            detail = data.item_detail(st, task, item_id, index.models)
            if detail is None:
                return PlainTextResponse(f"no item {item_id!r} in task {task!r}\n", status_code=404)
            order, where = index.item_order(filters.query())
        pos = where.get((task, item_id), -1)
        prev_key = order[pos - 1] if pos > 0 else None
        next_key = order[pos + 1] if 0 <= pos < len(order) - 1 else None
        meta = detail["item"]["metadata"]
        spans = [s for s in meta.get("distractor_spans", []) if isinstance(s, str)]
        expected = str(detail["item"].get("expected") or "")
        numbers = data.distractor_numbers(spans, {expected} if expected else set())
        return render(request, "item.html", d=detail, spans=spans, numbers=numbers, filters=filters,
                      prev_key=prev_key, next_key=next_key, pos=pos, n_items=len(order),
                      flips=review_flips(detail["models"]),
                      meta={k: v for k, v in meta.items() if k != "distractor_spans"})

    async def agreement_page(request: Request) -> Response:
        a, b = request.query_params.get("a") or None, request.query_params.get("b") or None
        with store() as st:
            names = reviewers(st)
            try:
                table = agreement(st, a, b) if (a and b) or len(names) == 2 else None
                error = None
            except UserError as exc:
                table, error = None, str(exc)
        return render(request, "agreement.html", names=names, table=table, error=error,
                      pair=table.attrs["reviewers"] if table is not None else (a, b))

    async def save_label(request: Request) -> Response:
        body, problem = await _json_body(request)
        if problem is not None:
            return problem
        # bool is an int in Python (true would be sample 1); SQLite integers are 64-bit (10**30 overflows)
        sample_id = body.get("sample_id") if isinstance(body, dict) else None
        if type(sample_id) is not int or not 1 <= sample_id <= MAX_SAMPLE_ID:
            return JSONResponse({"error": "sample_id: expected an integer sample id (1 or more)"}, status_code=400)
        try:
            labels, tags, note, who = validate_label(body.get("labels", []), body.get("tags", []),
                                                     body.get("note", ""), body.get("reviewer", ""))
            before = index.stamp_of(run_dir / DB_NAME)
            with store(write=True) as st:
                saved = st.add_label(body["sample_id"], labels, reviewer=who, tags=tags, note=note)
            index.labels_written(before, index.stamp_of(run_dir / DB_NAME))  # only labels changed: keep verdicts
        except StoreError as exc:  # the label is not saved: say why (full disk 507, read-only 403)
            status = 507 if "disk is full" in str(exc) else 403 if "read-only" in str(exc) else 503
            return JSONResponse({"error": f"label not saved: {exc}"}, status_code=status)
        except UserError as exc:
            return JSONResponse({"error": str(exc)}, status_code=400)
        return JSONResponse({"ok": True, "label": saved})

    routes = [
        Route("/", index_page), Route("/item", item), Route("/agreement", agreement_page),
        Route("/api/labels", save_label, methods=["POST"]),
        Mount("/static", StaticFiles(directory=HERE / "static"), name="static"),
    ]
    middleware = [Middleware(TrustedHostMiddleware, allowed_hosts=[HOST, "localhost"]),
                  Middleware(TokenGate, config=config)]
    return Starlette(routes=routes, middleware=middleware)


def _warm(run_dir: Path, index: data.ReviewIndex) -> None:
    try:
        with Store(run_dir, create=False, readonly=True) as st:
            index.refresh(st)
    except UserError:
        pass  # the first page reads the run again and shows the error there


async def _json_body(request: Request) -> tuple[Any, Response | None]:
    """The request's JSON body, read at most MAX_BODY bytes; or a 413 / 400 response."""
    too_big = JSONResponse({"error": f"body: larger than {MAX_BODY} bytes"}, status_code=413)
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > MAX_BODY:
        return None, too_big
    raw = bytearray()
    async for chunk in request.stream():
        raw += chunk
        if len(raw) > MAX_BODY:
            return None, too_big
    try:
        body = json.loads(raw)
    except RecursionError:
        return None, JSONResponse({"error": "body: JSON nested too deeply"}, status_code=400)
    except ValueError:  # also bytes that are not UTF-8
        return None, JSONResponse({"error": "body: expected JSON"}, status_code=400)
    if _depth(body) > MAX_DEPTH:
        return None, JSONResponse({"error": f"body: JSON nested deeper than {MAX_DEPTH} levels"}, status_code=400)
    return body, None


def _depth(value: Any, level: int = 1) -> int:
    if level > MAX_DEPTH:
        return level
    children = value.values() if isinstance(value, dict) else value if isinstance(value, list) else ()
    return max((_depth(v, level + 1) for v in children), default=level)


def _int(value: str | None, default: int) -> int:
    try:
        return int(value) if value is not None else default
    except ValueError:
        return default


def _qs(base: dict[str, Any] | None = None, **extra: Any) -> str:
    """A query string from filters plus extra parameters (empty values dropped)."""
    params = {**(base or {}), **extra}
    return urlencode({k: v for k, v in params.items() if v not in (None, "")})


def bind(port: int = 0) -> socket.socket:
    """A listening socket on 127.0.0.1 (port 0 = a free port). Binding here lets us print the exact URL."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((HOST, port))
    except OSError as exc:
        sock.close()
        raise UserError(f"--port {port}: cannot listen on {HOST}:{port} ({exc.strerror})") from None
    sock.listen(64)
    return sock


def url_for(sock: socket.socket, config: ReviewConfig) -> str:
    return f"http://{HOST}:{sock.getsockname()[1]}/?token={config.token}"


def make_server(config: ReviewConfig, *, log_level: str = "warning") -> Any:
    import uvicorn

    return uvicorn.Server(uvicorn.Config(create_app(config, warm=True), log_level=log_level, access_log=False,
                                         lifespan="off"))
