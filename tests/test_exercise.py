"""labkit.exercise: plain-words verdicts in student mode, bare observations under the grader."""

import numpy as np
import pytest

from labkit import exercise
from labkit.exercise import OBSERVATION_MIME, Checks, matches, plain


@pytest.fixture
def grading_on(monkeypatch):
    shown = []
    monkeypatch.setitem(exercise._grading, "on", True)
    monkeypatch.setattr("IPython.display.display", lambda obj, raw=False: shown.append(obj))
    return shown


def test_passing_checks_are_silent():
    check = Checks()
    assert check.equal("shape", lambda: np.zeros((2, 3)).shape, (2, 3))
    assert check.close("mean", lambda: np.float32(0.1) * 3, 0.3, rtol=1e-6)
    assert check.true("positive", lambda: 1 > 0)
    check.observe("hidden", lambda: 1 / 0)  # student mode: hidden checks compute nothing
    check.result()


def test_failures_are_listed_with_what_was_got_expected_and_how_to_fix():
    check = Checks()
    check.equal("code shape", lambda: (49,), (98,), hint="end with Dense(98).")
    check.close("KL", lambda: [0.5, 0.5], [1.0, 1.0], atol=1e-5, hint="check the mean^2 term.")
    check.true("sorted", False, hint="sort it.")
    check.equal("fine", 3, 3)
    with pytest.raises(AssertionError) as err:
        check.result()
    text = str(err.value)
    assert text.startswith("3 of 4 checks failed:")
    assert "- code shape: got [49], expected [98]. end with Dense(98)." in text
    assert "- KL: got [0.5, 0.5], expected [1.0, 1.0]. check the mean^2 term." in text
    assert "- sorted: false. sort it." in text


def test_an_error_fails_its_own_check_only():
    check = Checks()
    check.equal("broken", lambda: undefined_name, 1, hint="define it.")  # noqa: F821
    check.equal("fine", lambda: 1, 1)
    with pytest.raises(AssertionError, match=r"1 of 2 checks failed:\n- broken: raised NameError"):
        check.result()


@pytest.mark.parametrize("actual, expected, kind, tol, agree", [
    ([1, 2], [1, 2], "equal", 0, True),
    ([1, 2], [2, 1], "equal", 0, False),          # order matters
    ((98,), [98], "equal", 0, True),              # tuples and lists are the same after plain()
    (True, 1, "equal", 0, True),
    (1, True, "equal", 0, False),                 # an expected bool needs a bool
    ("linear", "sigmoid", "equal", 0, False),
    ([1.0, 2.0], [1.0, 2.0 + 1e-7], "close", 1e-6, True),
    ([1.0, 2.0], [1.0, 2.1], "close", 1e-6, False),
    ([1.0, 2.0], [1.0, 2.0, 3.0], "close", 1e-6, False),  # shape differs
    ([[1.0, 2.0]], [1.0, 2.0], "close", 1e-6, False),     # an extra axis is a wrong shape, not a broadcast
    ("nan", "nan", "close", 1e-6, False),                  # NaN never matches
    (["a"], ["a"], "close", 1e-6, False),                  # close needs numbers
    (0.5 * 4, 2.0, "close", 1e-9, True),
])
def test_matches_rejects_near_misses(actual, expected, kind, tol, agree):
    assert matches(plain(actual), plain(expected), kind, rtol=tol, atol=0.0) is agree


def test_plain_makes_json_data_and_refuses_huge_arrays():
    assert plain({"a": np.arange(3), "b": (np.float32(1.5), None)}) == {"a": [0, 1, 2], "b": [1.5, None]}
    assert plain(float("inf")) == "inf"
    with pytest.raises(ValueError, match="too large to check"):
        plain(np.zeros(exercise.MAX_OBSERVED_NUMBERS + 1))


def test_under_the_grader_checks_emit_values_not_verdicts(grading_on):
    check = Checks()
    check.equal("code shape", lambda: (49,), (98,), hint="end with Dense(98).")
    check.observe("hidden value", lambda: np.array([1.0, 2.0]), rtol=1e-4, atol=1e-6)
    check.observe("raises", lambda: 1 / 0)
    check.result()  # does not raise: verdicts are the grader's
    payloads = [obj[OBSERVATION_MIME] for obj in grading_on]
    assert payloads[0] == {"name": "code shape", "kind": "equal", "rtol": 0.0, "atol": 0.0, "hidden": False,
                           "weight": 1.0, "hint": "end with Dense(98).", "value": [49]}
    assert "98" not in str(payloads[0]["value"])  # the expected value is not what is observed
    assert payloads[1]["kind"] == "close" and payloads[1]["value"] == [1.0, 2.0] and payloads[1]["hidden"]
    assert payloads[2]["error"].startswith("ZeroDivisionError") and "value" not in payloads[2]


def test_two_checks_with_one_name_are_refused_under_the_grader(grading_on):
    check = Checks()
    check.observe("x", 1)
    with pytest.raises(ValueError, match="named 'x'"):
        check.observe("x", 2)


def test_two_checks_with_one_name_are_refused_in_jupyterlab_too():
    check = Checks()
    check.equal("x", 1, 1)
    with pytest.raises(ValueError, match="named 'x'"):
        check.observe("x", 2)
