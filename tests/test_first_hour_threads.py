"""The embedded model's thread count follows the cores actually free (issue 31, item 4): llama.cpp's threads meet
at a barrier after every layer, so two threads on two busy cores ran 3 forced items at budget 128 in 570 s against
67 s with one thread (load average ~5.6 on this 2-core machine), with identical outputs."""

from __future__ import annotations

import pytest

from overthink.errors import ConfigError
from overthink.local import model as local


@pytest.fixture(autouse=True)
def fresh(monkeypatch):
    local.free_cores.cache_clear()
    monkeypatch.delenv(local.THREADS_ENV, raising=False)
    monkeypatch.setattr(local.os, "sched_getaffinity", lambda pid: {0, 1, 2, 3}, raising=False)
    yield
    local.free_cores.cache_clear()


@pytest.mark.parametrize(("load", "threads"), [(0.0, 4), (0.9, 4), (1.2, 3), (3.7, 1), (14.8, 1)])
def test_threads_are_the_free_cores(monkeypatch, load, threads):
    monkeypatch.setattr(local.os, "getloadavg", lambda: (load, load, load))
    got, why = local.free_cores()
    assert got == threads
    assert why == f"4 cores, load average {load:.1f}"


def test_the_environment_variable_wins_and_a_bad_one_is_one_line(monkeypatch):
    monkeypatch.setattr(local.os, "getloadavg", lambda: (9.0, 9.0, 9.0))
    monkeypatch.setenv(local.THREADS_ENV, "3")
    assert local.free_cores() == (3, "OVERTHINK_THREADS=3")
    local.free_cores.cache_clear()
    monkeypatch.setenv(local.THREADS_ENV, "two")
    with pytest.raises(ConfigError, match="OVERTHINK_THREADS='two': give a whole number of threads >= 1"):
        local.free_cores()


def test_the_model_says_how_many_threads_and_why(monkeypatch):
    monkeypatch.setattr(local.os, "getloadavg", lambda: (2.4, 2.0, 1.0))
    model = local.LocalModel(local.ModelSpec.parse("local:qwen2.5-coder-0.5b"), local.get_pack("qwen2.5-coder-0.5b"),
                             {})
    assert model.options["n_threads"] == 2
    assert model.describe() == {"n_threads": 2, "n_threads_from": "4 cores, load average 2.4"}
    assert "2 llama.cpp thread(s) (4 cores, load average 2.4; OVERTHINK_THREADS=N" in model.start_note
    given = local.LocalModel(local.ModelSpec.parse("local:qwen2.5-coder-0.5b"), local.get_pack("qwen2.5-coder-0.5b"),
                             {"n_threads": 3})
    assert given.options["n_threads"] == 3 and given.threads_from == "model option n_threads"
