"""Every listed exercise against its plausible wrong answers and its valid alternatives.

A wrong answer (a mutant) must score less than full points under the grader's own scoring, and the
visible test a student runs must flag it already unless the variants file says no visible test could.
A valid alternative must score full points and pass the visible test. The variants are data, beside
the labs, in ``notebooks/variants/<lab>.toml``; ``tests/variants_harness.py`` runs them.
"""

import pytest
from variants_harness import lab_names, load_variants, run_lab

from labkit import settings
from labkit.submissions import test_cells as graded_cells

LABS = lab_names()


def test_every_lab_lists_variants_for_every_exercise_with_at_least_four_mutants():
    import nbformat

    for path in sorted(settings.NOTEBOOK_DIR.glob("[0-9][0-9]_*.ipynb")):
        if path.stem not in LABS:
            continue  # labs without a variants file yet are listed in the README's "Changing a lab"
        exercises, _ = load_variants(path.stem)
        listed = {ex.grade_id + "_tests" for ex in exercises}
        assert listed == set(graded_cells(nbformat.read(path, as_version=4))), path.stem
        for ex in exercises:
            mutants = [v for v in ex.variants if not v.valid]
            assert len(mutants) >= 4, f"{path.stem} {ex.grade_id}: only {len(mutants)} mutants"
            assert any(v.valid for v in ex.variants), f"{path.stem} {ex.grade_id}: no valid alternative"


@pytest.mark.notebooks
@pytest.mark.parametrize("lab", LABS)
def test_mutants_lose_points_and_valid_alternatives_keep_them(lab):
    problems, report = [], []
    for ex, outcomes in run_lab(lab):
        caught = sum(1 for o in outcomes if not o.variant.valid and o.visible_error)
        mutants = sum(1 for o in outcomes if not o.variant.valid)
        report.append(f"{ex.grade_id}: {mutants} mutants, {caught} flagged by the visible test")
        for o in outcomes:
            v, where = o.variant, f"{ex.grade_id} / {o.variant.name}"
            if v.valid and o.score < ex.points:
                problems.append(f"{where}: a valid answer scored {o.score} of {ex.points} ({o.row['message']})")
            if v.valid and o.visible_error:
                problems.append(f"{where}: a valid answer fails the visible test ({o.visible_error[:300]})")
            if not v.valid and o.score >= ex.points:
                problems.append(f"{where}: a wrong answer scored full points")
            if not v.valid and v.visible and not o.visible_error:
                problems.append(f"{where}: a wrong answer passes the visible test")
            if not v.valid and o.visible_error and v.visible and not o.visible_error.startswith("AssertionError"):
                problems.append(f"{where}: the visible test crashed instead of saying what is wrong "
                                f"({o.visible_error[:300]})")
    print("\n".join(report))
    assert not problems, "\n".join(problems)
