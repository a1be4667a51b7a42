"""Runs a lab's exercises against the answers listed in ``notebooks/variants/<lab>.toml``.

The lab runs once, in one kernel in the smoke profile, up to the test cell of its last listed
exercise. Before each listed exercise's own answer cell, the reference answer and then every variant
is run in its place, each from the same seeds and each once, followed by its test cell twice: first as
the grader runs it (every check observing), on the state the answer left, then as a student sees it
(hidden tests removed, verdicts on the spot). Test cells only read what the answer made, so the
answer (which may train models) need not run again for the second. The grader's own scoring
(``labkit.grading.score_test``) then compares each variant's observations with the reference's, as it
would compare a submission's. The lab's own answer and test cells still run after
the variants, so the cells after them see the state a normal run leaves.
"""

from __future__ import annotations

import copy
import os
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

import nbformat
from nbclient import NotebookClient

from labkit import grading, release, settings
from labkit.submissions import nbgrader_meta

VARIANTS_DIR = settings.NOTEBOOK_DIR / "variants"
RESEED = "import keras as _keras\n_keras.utils.set_random_seed(SEED)\ndel _keras"
STUDENT_MODE = "import labkit.exercise as _exercise\n_exercise._grading['on'] = False\ndel _exercise"
GRADER_MODE = "import labkit.exercise as _exercise\n_exercise.grading()\ndel _exercise"


@dataclass
class Variant:
    """One answer to try: ``code`` is the whole answer cell, or ``replace`` = [old, new] edits the reference."""

    name: str
    valid: bool                  # a correct alternative (full points) or a mistake (fewer points)
    visible: bool = True         # a mistake the visible test must flag already
    code: str | None = None
    replace: tuple[str, str] | None = None

    def answer(self, reference: str) -> str:
        if self.code is not None:
            return self.code
        old, new = self.replace
        if reference.count(old) != 1:
            raise ValueError(f"variant {self.name!r}: {old!r} occurs {reference.count(old)} times in the reference "
                             f"answer, not once")
        return reference.replace(old, new)


@dataclass
class Exercise:
    grade_id: str
    variants: list[Variant]
    points: float = 0.0
    reference: dict = field(default_factory=dict)


@dataclass
class Outcome:
    variant: Variant
    score: float
    visible_error: str | None    # the visible test's error (ename: message), None when it passed
    row: dict


def load_variants(lab: str) -> tuple[list[Exercise], list[str]]:
    """A lab's exercises with their variants, and the ids of cells the harness may leave out."""
    data = tomllib.loads((VARIANTS_DIR / f"{lab}.toml").read_text(encoding="utf-8"))
    skip = list(data.pop("skip_cells", []))
    exercises = []
    for gid, spec in data.items():
        variants = [_variant(v, valid=False) for v in spec.get("mutants", [])]
        variants += [_variant(v, valid=True) for v in spec.get("alternatives", [])]
        exercises.append(Exercise(gid, variants))
    return exercises, skip


def _variant(spec: dict, valid: bool) -> Variant:
    if ("code" in spec) == ("replace" in spec):
        raise ValueError(f"variant {spec.get('name')!r}: give either code or replace = [old, new]")
    return Variant(spec["name"], valid, visible=spec.get("visible", True), code=spec.get("code"),
                   replace=tuple(spec["replace"]) if "replace" in spec else None)


def _code(source: str, **tag) -> nbformat.NotebookNode:
    return nbformat.v4.new_code_cell(source, metadata={"variant": tag} if tag else {})


def _index(cells, grade_id: str) -> int:
    found = [i for i, c in enumerate(cells) if nbgrader_meta(c).get("grade_id") == grade_id]
    if len(found) != 1:
        raise ValueError(f"the lab has {len(found)} cells with grade_id {grade_id!r}; the variants file names "
                         f"an exercise the lab does not have (or has twice)")
    return found[0]


def harness(source: dict, exercises: list[Exercise], skip: list[str]) -> nbformat.NotebookNode:
    """The notebook to run: the lab up to its last listed test cell, with every variant spliced in."""
    nb = nbformat.from_dict(copy.deepcopy(source))
    last = max(_index(nb.cells, ex.grade_id + "_tests") for ex in exercises)
    unknown = set(skip) - {c.get("id") for c in nb.cells}
    if unknown:
        raise ValueError(f"skip_cells names cells the lab does not have: {sorted(unknown)}")
    cells = [c for c in nb.cells[: last + 1] if c.get("id") not in skip]
    for ex in exercises:
        answer, test = _index(cells, ex.grade_id), _index(cells, ex.grade_id + "_tests")
        ex.points = float(nbgrader_meta(cells[test]).get("points", 0))
        visible = release.student_cell(cells[test], ex.grade_id)["source"]
        spliced = []
        for k, variant in enumerate([None, *ex.variants]):
            reference = release.cell_source(cells[answer])
            code = reference if variant is None else variant.answer(reference)
            tag = {"grade_id": ex.grade_id, "k": k}
            spliced += [_code(RESEED), _code(code, **tag, role="answer"), _code(GRADER_MODE),
                        _code(release.cell_source(cells[test]), **tag, role="graded"), _code(STUDENT_MODE),
                        _code(RESEED), _code(visible, **tag, role="visible")]
        cells[answer:answer] = spliced
    nb.cells = cells
    return nb


def run_lab(lab: str, timeout: int = 600) -> list[tuple[Exercise, list[Outcome]]]:
    """Run the harness for one lab; each exercise with the outcome of each of its variants."""
    exercises, skip = load_variants(lab)
    path = settings.NOTEBOOK_DIR / f"{lab}.ipynb"
    source = nbformat.read(path, as_version=4)
    nb = harness(source, exercises, skip)
    env_before = os.environ.get(settings.PROFILE_ENV)
    os.environ[settings.PROFILE_ENV] = "smoke"
    try:
        NotebookClient(nb, timeout=timeout, kernel_name="python3", allow_errors=True,
                       resources={"metadata": {"path": str(settings.NOTEBOOK_DIR)}}).execute()
    finally:
        if env_before is None:
            os.environ.pop(settings.PROFILE_ENV, None)
        else:
            os.environ[settings.PROFILE_ENV] = env_before
    by_tag = {(c.metadata["variant"]["grade_id"], c.metadata["variant"]["k"], c.metadata["variant"]["role"]): c
              for c in nb.cells if "variant" in c.metadata}
    results = []
    for ex in exercises:
        ref_cell = by_tag[(ex.grade_id, 0, "graded")]
        if _error(ref_cell) or _error(by_tag[(ex.grade_id, 0, "visible")]):
            raise AssertionError(f"{lab} {ex.grade_id}: the reference answer fails its own test in the harness: "
                                 f"{_error(ref_cell) or _error(by_tag[(ex.grade_id, 0, 'visible')])}")
        ex.reference = grading.observations(ref_cell)[0]
        outcomes = []
        for k, variant in enumerate(ex.variants, start=1):
            answer_error = _error(by_tag[(ex.grade_id, k, "answer")])
            graded = by_tag[(ex.grade_id, k, "graded")]
            status = "error" if _error(graded) else "ok"
            row = grading.score_test(ex.grade_id + "_tests", ex.points, ex.reference, graded, status)
            visible_error = answer_error or _error(by_tag[(ex.grade_id, k, "visible")])
            outcomes.append(Outcome(variant, row["score"], visible_error, row))
        results.append((ex, outcomes))
    return results


def _error(cell) -> str | None:
    for out in cell.get("outputs", []):
        if out.get("output_type") == "error":
            return f"{out.get('ename')}: {out.get('evalue')}"
    return None


def lab_names() -> list[str]:
    return sorted(p.stem for p in Path(VARIANTS_DIR).glob("*.toml"))
