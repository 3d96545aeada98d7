"""The one decision every API provider uses for how a response ended (truncated, thinking stop, stop reason)."""

from __future__ import annotations

import json
from dataclasses import asdict

import pytest

from overthink.core import Completion, ThinkingStop, TokenSource
from overthink.providers.apibase import ending, reasoning_before_answer
from overthink.tokens import estimate_tokens

ANSWER = "<answer>2</answer>"


@pytest.mark.parametrize("finish,text,thought,capped,expected", [
    ("stop", ANSWER, True, None, ("stop", False, "natural")),
    ("end_turn", ANSWER, False, None, ("end_turn", False, "none")),
    ("length", "", True, None, ("max_tokens", True, "capped")),  # cap hit while still thinking
    ("max_tokens", "half an answ", True, None, ("max_tokens", True, "natural")),  # thought ended, answer cut
    ("length", "tail " + ANSWER + " and more", True, None, ("max_tokens", False, "natural")),  # answer complete
    ("length", "", False, None, ("max_tokens", True, "none")),
    ("stop", ANSWER, True, True, ("stop", False, "capped")),  # forcing: pass 1 hit the budget
    ("stop", ANSWER, True, False, ("stop", False, "natural")),
    ("length", "", False, True, ("max_tokens", True, "none")),  # budget 0: no thinking whatever pass 1 said
])
def test_ending(finish, text, thought, capped, expected):
    end = ending(finish, text, thought=thought, capped=capped)
    assert (end.stop_reason, end.truncated, end.thinking_stop) == expected
    assert isinstance(end.thinking_stop, ThinkingStop)


def test_reasoning_before_answer_and_the_one_estimator():
    assert reasoning_before_answer(100, "step one... " + ANSWER) == 100 - estimate_tokens(ANSWER)
    assert reasoning_before_answer(100, "no tag at all") == 100
    assert reasoning_before_answer(3, "long answer text " * 5, all_answer=True) == 0
    assert estimate_tokens("") == 0 and estimate_tokens("abcde") == 2
    assert estimate_tokens("x" * 30, generous=True) == 26


def test_enum_values_are_stored_as_their_text():
    c = Completion(reasoning_tokens_source=TokenSource.OUTPUT_MINUS_ANSWER, thinking_stop=ThinkingStop.CAPPED)
    assert json.loads(json.dumps(asdict(c)))["reasoning_tokens_source"] == "output_minus_answer_estimate"
    assert c.thinking_stop == "capped" and Completion().reasoning_tokens_source == "none"
