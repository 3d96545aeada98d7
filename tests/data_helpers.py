"""Test helpers for the data features: the real data samples (tests/fixtures/data) and a small HTTP server on
127.0.0.1."""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

FIXTURE_DATA = Path(__file__).resolve().parent / "fixtures" / "data"


def shared_data() -> Path:
    """The real data samples the tests read, kept in the repository (tests/fixtures/data: each folder's
    LICENSE-NOTE.md names its source, commit and licence; the files are byte-for-byte upstream copies, so the
    dataset registry's checksums verify them)."""
    return FIXTURE_DATA


@dataclass
class FileServer:
    """Serves {url path: bytes}. `cut` bytes -> close the connection after that many bytes on the first
    `cut_times` requests; `ranges` -> honour Range requests (else always 200 with the whole body)."""

    files: dict[str, bytes]
    ranges: bool = True
    cut: int | None = None
    cut_times: int = 1
    requests: list[tuple[str, str | None]] = field(default_factory=list)

    def __post_init__(self) -> None:
        server = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: object) -> None:
                pass

            def do_GET(self) -> None:  # noqa: N802
                rng = self.headers.get("Range")
                server.requests.append((self.path, rng))
                body = server.files.get(self.path)
                if body is None:
                    self.send_response(404)
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                start = 0
                if rng and server.ranges:
                    start = int(rng.split("=")[1].split("-")[0])
                    if start >= len(body):
                        self.send_response(416)
                        self.send_header("Content-Length", "0")
                        self.end_headers()
                        return
                    self.send_response(206)
                    self.send_header("Content-Range", f"bytes {start}-{len(body) - 1}/{len(body)}")
                else:
                    self.send_response(200)
                payload = body[start:]
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                if server.cut is not None and server.cut_times > 0:
                    server.cut_times -= 1
                    self.wfile.write(payload[: server.cut])
                    self.wfile.flush()
                    self.close_connection = True
                    return
                self.wfile.write(payload)

        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._thread = threading.Thread(target=self._httpd.serve_forever, daemon=True)
        self._thread.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._httpd.server_address[1]}"

    def close(self) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()
