"""Exercise checks: plain-words verdicts for a student, observations for the grader.

A lab's test cell builds one ``Checks`` and states what a right answer does::

    check = Checks()
    check.equal("code shape", lambda: tuple(encoder.output_shape[1:]), (98,),
                hint="end the encoder with Dense(code_size).")
    check.close("KL of N(1, 1) in 2-D", lambda: kl_divergence(ones, zeros), [1.0, 1.0], atol=1e-5)
    ### BEGIN HIDDEN TESTS
    check.observe("KL at random inputs", lambda: kl_divergence(mu, log_var), rtol=1e-4, atol=1e-4)
    ### END HIDDEN TESTS
    check.result()

**In JupyterLab** ``equal``, ``close`` and ``true`` compare on the spot, and ``result()`` raises an
``AssertionError`` that lists every failed check with its hint. ``observe`` (hidden checks, which a
student version does not contain) compares nothing.

**Under the grader** (``grading()`` was called first, in a cell the grader adds) no check compares
anything: each one only emits the student's value as an *observation*, a display output of MIME type
``OBSERVATION_MIME``, and ``result()`` does nothing. The grader compares those values, in its own
process, with the observations that the instructor's reference solution produced in the same harness,
using the tolerances the reference run declared. A verdict therefore never comes from the student's
kernel, and the expected values of hidden checks never enter it. Only hidden checks of a value earn
points: a visible check's expected value is printed in the student's notebook and a true/false check's
is obvious, so a student who replaces these functions could forge those without an answer; they give
feedback. Hidden checks observe values a student cannot predict without a right answer (a function at
inputs only the hidden test uses, a parameter count, a layer configuration).

Give a check a function (``lambda: ...``) rather than a value when computing the value may raise: the
error then fails that check alone, and the cell's other checks still count.
"""

from __future__ import annotations

import math

import numpy as np

OBSERVATION_MIME = "application/vnd.labkit.observation+json"
MAX_OBSERVED_NUMBERS = 10_000

_grading = {"on": False}


def grading() -> None:
    """Switch this kernel's checks to observing (the grader calls it before the notebook runs)."""
    _grading["on"] = True


def plain(value):
    """``value`` as JSON-ready Python data: arrays and tuples become lists, numpy scalars Python numbers."""
    if hasattr(value, "numpy") and callable(value.numpy):  # a TensorFlow tensor or variable
        value = value.numpy()
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, np.ndarray):
        if value.size > MAX_OBSERVED_NUMBERS:
            raise ValueError(f"an array of {value.size:,} numbers is too large to check; check a slice or a summary.")
        return plain(value.tolist())
    if isinstance(value, (list, tuple)):
        return [plain(v) for v in value]
    if isinstance(value, dict):
        return {str(k): plain(v) for k, v in value.items()}
    if isinstance(value, float) and not math.isfinite(value):
        return repr(value)  # 'nan', 'inf', '-inf': JSON has no such numbers
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    return repr(value)


def _number_array(value):
    """A float64 array of ``value`` (a plain value), or None when it is not all numbers."""
    try:
        arr = np.asarray(value, dtype=np.float64)
    except (TypeError, ValueError, OverflowError):  # OverflowError: an integer no float holds (10**400)
        return None
    if isinstance(value, bool) or arr.dtype == object:
        return None
    return arr


def matches(actual, expected, kind: str, rtol: float = 0.0, atol: float = 0.0) -> bool:
    """Whether two plain values agree: exactly (``kind="equal"``) or within tolerances (``"close"``)."""
    if kind == "close":
        a, b = _number_array(actual), _number_array(expected)
        if a is None or b is None or a.shape != b.shape:
            return False
        return bool(np.allclose(a, b, rtol=rtol, atol=atol, equal_nan=False))
    return type(actual) is type(expected) and actual == expected if isinstance(expected, bool) else actual == expected


def _describe(value, limit: int = 120) -> str:
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


class Checks:
    """The checks of one test cell (see the module docstring)."""

    def __init__(self):
        self.failures: list[str] = []
        self.count = 0
        self._names: set[str] = set()

    # ------------------------------------------------------------------ the checks a cell states

    def equal(self, name: str, actual, expected, hint: str = "") -> bool:
        """The value equals ``expected`` exactly (after turning tuples and arrays into lists)."""
        return self._check(name, actual, expected, "equal", 0.0, 0.0, hint)

    def close(self, name: str, actual, expected, rtol: float = 1e-6, atol: float = 1e-9, hint: str = "") -> bool:
        """The numbers equal ``expected`` within ``atol + rtol * |expected|``, with the same shape."""
        return self._check(name, actual, expected, "close", rtol, atol, hint)

    def true(self, name: str, condition, hint: str = "") -> bool:
        """``condition`` (a value or a function returning one) is true."""
        return self._check(name, lambda: bool(_evaluate(condition)), True, "equal", 0.0, 0.0, hint)

    def observe(self, name: str, actual, rtol: float | None = None, atol: float = 0.0, weight: float = 1.0) -> None:
        """A hidden check: the grader compares this value with the reference solution's.

        Exact unless ``rtol`` is given; then within ``atol + rtol * |reference|``.
        """
        self._claim(name)
        if _grading["on"]:
            kind = "equal" if rtol is None else "close"
            self._emit(name, actual, kind, rtol or 0.0, atol, hidden=True, weight=weight)

    def result(self) -> None:
        """Raise one AssertionError listing every failed check (does nothing under the grader)."""
        if _grading["on"] or not self.failures:
            return
        lines = "\n".join(f"- {failure}" for failure in self.failures)
        raise AssertionError(f"{len(self.failures)} of {self.count} checks failed:\n{lines}")

    # ------------------------------------------------------------------ machinery

    def _claim(self, name: str) -> None:
        """Refuse a second check of the same name in one cell, in JupyterLab as under the grader."""
        if name in self._names:
            raise ValueError(f"two checks in one cell are named {name!r}; give each a name of its own.")
        self._names.add(name)

    def _check(self, name, actual, expected, kind, rtol, atol, hint) -> bool:
        self._claim(name)
        if _grading["on"]:
            self._emit(name, actual, kind, rtol, atol, hidden=False, weight=1.0, hint=hint)
            return True
        self.count += 1
        try:
            value = plain(_evaluate(actual))
        except Exception as err:  # a student's error fails this check only, in plain words
            self.failures.append(f"{name}: raised {type(err).__name__}: {err}" + (f" ({hint})" if hint else ""))
            return False
        if matches(value, plain(expected), kind, rtol, atol):
            return True
        got = "false" if expected is True else f"got {_describe(value)}, expected {_describe(plain(expected))}"
        self.failures.append(f"{name}: {got}." + (f" {hint}" if hint else ""))
        return False

    def _emit(self, name, actual, kind, rtol, atol, hidden, weight, hint=""):
        from IPython.display import display

        payload = {"name": str(name), "kind": kind, "rtol": float(rtol), "atol": float(atol),
                   "hidden": bool(hidden), "weight": float(weight), "hint": str(hint)}
        try:
            payload["value"] = plain(_evaluate(actual))
        except Exception as err:
            payload["error"] = f"{type(err).__name__}: {err}"[:300]
        display({OBSERVATION_MIME: payload, "text/plain": f"observed: {name}"}, raw=True)


def _evaluate(actual):
    return actual() if callable(actual) else actual
