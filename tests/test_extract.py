import pytest

from overthink.core import Item, Status
from overthink.tasks import get_task
from overthink.tasks.base import extract_answer, parse_letter, parse_number


@pytest.mark.parametrize("text,expected", [
    ("<answer>2</answer>", "2"),
    ("first <answer>3</answer> then <answer> 2 </answer>", "2"),  # the last tag wins
    ("I think <answer>2", "2"),  # an answer cut after the tag opened
    ("The answer is 2.", None),  # no tag: unparsed, never guessed
    ("<ANSWER>B</ANSWER>", "B"),
    ("<answer></answer>", ""),
])
def test_extract_answer(text, expected):
    assert extract_answer(text) == expected


@pytest.mark.parametrize("text,value", [
    ("2", 2.0), ("2 types", 2.0), ("$1,200", 1200.0), ("-3.5", -3.5), ("two", 2.0), ("1 or 2", None),
    ("none", None), ("", None), ("x2", None), ("7.25 out of 10", None),
])
def test_parse_number(text, value):
    assert parse_number(text) == value


def test_parse_letter_is_strict():
    assert parse_letter("B", 2) == "B"
    assert parse_letter("(A) Yes", 2) == "A"
    assert parse_letter("C", 2) is None  # out of range
    assert parse_letter("Because the answer is A", 2) is None  # no first-capital-letter fallback
    assert parse_letter("yes", 2, ("Yes", "No")) == "A"
    choices = ("Yes", "No", "Maybe", "a lot of them")
    assert parse_letter("a lot of them", 4, choices) == "D"  # the text of choice D, not the letter "a"
    assert parse_letter("B or C", 4, choices) is None
    assert parse_letter("A and B", 4, choices) is None
    assert parse_letter("A) No", 4, choices) is None  # a letter that contradicts its own text
    assert parse_letter("(B) No", 4, choices) == "B" and parse_letter("c.", 4, choices) == "C"


def test_grade_statuses():
    task = get_task("misleading-math")
    item = task.items(1)[0]
    assert task.grade(item, "<answer>2</answer>").status is Status.OK
    assert task.grade(item, "<answer>2</answer>").correct is True
    wrong = task.grade(item, "<answer>5</answer>")
    assert (wrong.status, wrong.correct, wrong.score) == (Status.OK, False, 0.0)
    unparsed = task.grade(item, "It is clearly two, maybe three")
    assert unparsed.status is Status.UNPARSED and unparsed.score is None


def test_choice_and_squared_error_scoring():
    from overthink.tasks.base import Scoring, Task

    class MC(Task):
        family = "mc"
        scoring = Scoring.CHOICE

        def items(self, n=None, seed=0):
            return [Item("q", "Pick", choices=("x", "y", "z"), answer_index=2)]

    class Reg(Task):
        family = "reg"
        scoring = Scoring.SQUARED_ERROR
        valid_range = (0, 10)

        def items(self, n=None, seed=0):
            return [Item("r", "Grade?", answer=7.5)]

    mc = MC()
    item = mc.items()[0]
    assert item.expected == "C"
    assert mc.grade(item, "<answer>C</answer>").correct is True
    assert "(C) z" in mc.render(item)
    reg = Reg()
    r = reg.items()[0]
    assert reg.grade(r, "<answer>8.5</answer>").score == pytest.approx(1.0)
    assert reg.grade(r, "<answer>42</answer>").status is Status.UNPARSED  # out of range is shown, not dropped
