"""`overthink review RUN_DIR [--port P]`: the local labelling web app. The lead registers `review` on the main app."""

from __future__ import annotations

import getpass
from pathlib import Path
from typing import Annotated

import typer


def review(
    run_dir: Path,
    port: Annotated[int, typer.Option(help="port on 127.0.0.1 (0 = a free port)", min=0, max=65535)] = 0,
    reviewer: Annotated[str | None, typer.Option(help="your reviewer name (default: your user name)")] = None,
) -> None:
    """Review and label samples in a local web app (127.0.0.1 only, access token in the printed URL)."""
    try:
        from ..review.app import ReviewConfig, bind, make_server, url_for
    except ImportError as exc:  # starlette / uvicorn are the `review` extra
        from ..errors import UserError, install_hint

        raise UserError(f"the review app needs the package {exc.name!r}: {install_hint('review')}") from None

    config = ReviewConfig(Path(run_dir), default_reviewer=reviewer or _user())
    server = make_server(config)  # checks the run dir first
    sock = bind(port)
    typer.echo(f"review app for {run_dir}: open\n  {url_for(sock, config)}\n(Ctrl+C stops it)", err=True)
    try:
        server.run(sockets=[sock])
    finally:
        sock.close()


def _user() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return ""


app = typer.Typer(help="Review and label samples.")
app.command("review")(review)
