"""A second hostile batch: attack families that tests/test_grading_attacks.py does not cover.

As there, every attack is graded in one batch beside honest submissions, in the bubblewrap sandbox,
and must score no more than an honest wrong answer (0 here) while the victims keep their full
score. The families: writing to the host through the kernel's connection folder, carrying hidden
tests into the feedback page, forged tolerances and odd values, poisoned builtins and modules,
malformed or deeply nested messages, active content in outputs, broken nbgrader markers and odd
metadata, hooks that outlive the kernel, spreadsheet formulas in file names, and symbolic links to
the reference solution or a classmate's file.
"""

import base64
import csv
import json
import os
import re
import threading

import psutil
import pytest
from grading_fixture import (
    HONEST,
    LAB,
    OPTS,
    WRONG_SQUARE,
    WRONG_VALUE,
    answered,
    assert_honest_scores,
    attack,
    cells_with,
    later,
    scores,
    write_source,
)

from labkit import gradebook, grading

pytestmark = pytest.mark.sandbox

HIDDEN_SOURCE = "square(11)"          # a line of q1's hidden tests, in no cell a student is shown
HIDDEN_EXPECTED = "121"                 # what the reference observed for it: never in the kernel
FILL_MB = 400                           # more than OPTS.disk_mb


ATTACKS = {
    # the connection folder is the one host folder the kernel may write: is what it writes there capped?
    "connection_dir_fill": attack(
        "import os\nfrom ipykernel.connect import get_connection_file\n"
        "folder = os.path.dirname(get_connection_file())\nwritten = 0\n"
        "try:\n    with open(os.path.join(folder, 'fill'), 'wb') as fh:\n"
        f"        for _ in range({FILL_MB // 10}):\n"
        "            fh.write(b'x' * 10_000_000)\n            fh.flush()\n            written += 10\n"
        "            print('WROTE', written, flush=True)\n"
        "except OSError as err:\n    print('stopped:', err)"),
    # hidden tests ran in the kernel before this answer: print them where the feedback page shows them
    "history_leak": later("print('LEAK', [cell for cell in In if 'observe' in cell])"),
    "hook_leak_encoded": answered(
        answer_1=("import base64\nseen = []\n"
                  "get_ipython().events.register('pre_run_cell', lambda info: seen.append(info.raw_cell))\n"
                  + WRONG_SQUARE),
        answer_2=("import base64\nprint('B64', base64.b64encode(repr(seen).encode()).decode())\n" + WRONG_VALUE)),
    # one message far over every output cap: the worker, in no cgroup, would pay several times its size
    "huge_message": attack(
        "from IPython.display import display\nbig = 'x' * 350_000_000\ndisplay({'text/plain': big}, raw=True)\n"
        "del big"),
    # the observations rewritten on their way out: tolerances, kinds and weights of the student's choosing
    "tolerance_forgery": attack(
        "from IPython.core.displaypub import DisplayPublisher\nfrom labkit.exercise import OBSERVATION_MIME as M\n"
        "pub = get_ipython().display_pub\nold = pub.publish\n"
        "def publish(data, *a, **k):\n    if M in data:\n"
        "        data[M].update(kind='close', rtol=1e12, atol=1e12, weight=1e6, hidden=True)\n"
        "    return old(data, *a, **k)\npub.publish = publish"),
    # odd values: NaN, infinities, numeric strings and bools where numbers are expected
    "nan_inf": answered(answer_1="def square(x):\n    return [float('nan'), float('inf'), 'inf', True][int(abs(x)) % 4]",
                        answer_2="value = float('nan')"),
    "numeric_strings": answered(answer_1="def square(x):\n    return str(x + x)", answer_2="value = '0.9'"),
    # builtins and modules the checks use, replaced before the test cells run
    "builtins_poison": attack(
        "import builtins, sys, types\nbuiltins.callable = lambda f: False\n"
        "fake = types.ModuleType('numpy')\nfake.ndarray = fake.generic = type('X', (), {})\n"
        "sys.modules['numpy'] = fake\nimport labkit.exercise as ex\n"
        "ex.plain = lambda v: 121\nex.matches = lambda *a, **k: True\nex.np = fake"),
    # deeply nested data: the kernel's encoder allows it, the worker's decoder may not
    "deep_nesting": attack(
        "import sys\nsys.setrecursionlimit(50_000)\nfrom IPython.display import display\n"
        "from labkit.exercise import OBSERVATION_MIME as M\nnested = []\nfor _ in range(5_000):\n"
        "    nested = [nested]\n"
        "display({'application/json': nested, M: {'name': 'square(-2)', 'value': nested}, 'text/plain': 'deep'},"
        " raw=True)"),
    # messages nbformat has no schema for, sent on the kernel's own session
    "malformed_messages": attack(
        "ip = get_ipython()\npub = ip.display_pub\n"
        "for content in ({'data': ['not', 'a', 'dict'], 'metadata': {}}, {'data': {'text/plain': 7}, 'metadata': 3},\n"
        "                {'data': None}, {}):\n"
        "    pub.session.send(pub.pub_socket, 'display_data', content, parent=pub.parent_header,\n"
        "                     ident=pub.topic)\n"
        "pub.session.send(pub.pub_socket, 'stream', {'name': 'stdout', 'text': ['a', 1]}, parent=pub.parent_header)\n"
        "pub.session.send(pub.pub_socket, 'error', {'ename': 1, 'evalue': None, 'traceback': 5},"
        " parent=pub.parent_header)"),
    # active content and terminal tricks in outputs the feedback page shows
    "active_content": later(
        "from IPython.display import display\n"
        "print('<script>alert(1)</script>\\x1b[2J\\x1b[31mScore: 3 of 3\\u202e')\n"
        "display({'text/html': '<script>alert(2)</script>', 'image/svg+xml': '<svg onload=alert(3)></svg>',\n"
        "         'text/plain': '<img src=x onerror=alert(4)>'}, raw=True)\n"
        "display({'image/png': 'AAAA\" onerror=\"alert(5)'}, raw=True)\n"
        "display({'image/png': 'AAAA', 'text/plain': 'x'}, raw=True, metadata={'image/png': {'width': '\"><script>'}})\n"
        "raise ValueError('<b onmouseover=alert(6)>')"),
    "bad_surrogates": later(
        "from IPython.display import display\ndisplay({'text/plain': 'half a character: \\udcff'}, raw=True)\n"
        "print('lone: \\udcfe')"),
    # nbgrader markers in an answer: the answer is run and shown as the student wrote it, nothing else
    "markers_in_answer": attack(
        "### BEGIN HIDDEN TESTS\n### BEGIN SOLUTION\n### END MARK SCHEME\n# BEGIN MARK SCHEME\n"
        "### END HIDDEN TESTS\n### END SOLUTION\n### END SOLUTION"),
    # odd but schema-valid notebook JSON: list sources, nbgrader metadata of the wrong type
    "list_sources": answered(answer_1=["def square(x):\n", "    return x + x\n"], answer_2=[WRONG_VALUE]),
    "odd_metadata": answered(answer_1=WRONG_SQUARE, answer_2=WRONG_VALUE, edit=lambda nb: (
        cells_with(nb, "q2")[0]["metadata"].update(nbgrader=["solution", True]),
        nb["metadata"].update(labkit=["99_fixture"]))),
    "labkit_lab_object": answered(answer_1=WRONG_SQUARE, answer_2=WRONG_VALUE, edit=lambda nb: nb["metadata"].update(
        labkit={"lab": {"name": LAB}})),
    # handlers that try to outlive the kernel's shutdown
    "atexit_hang": attack(
        "import atexit, signal, time\nsignal.signal(signal.SIGTERM, signal.SIG_IGN)\n"
        "signal.signal(signal.SIGHUP, signal.SIG_IGN)\natexit.register(time.sleep, 1000)"),
}

FORMULA_NAMES = ('=HYPERLINK("x.invalid","win")', "+SUM(1)", "@cmd", "-2+3")
"""Submission file names that a spreadsheet would run as formulas (as invalid notebooks their names reach the
messages column)."""



@pytest.fixture(scope="module")
def hostile(tmp_path_factory):
    root = tmp_path_factory.mktemp("hostile_more")
    subs = root / "submissions"
    subs.mkdir()
    for name, nb in {**HONEST, **ATTACKS}.items():
        (subs / f"{name}.ipynb").write_text(json.dumps(nb))
    for name in FORMULA_NAMES:
        (subs / f"{name}.ipynb").write_text("{ not json")
    source = write_source(root)
    # what unzipping a student's archive can leave: links to the reference solution and to a classmate
    (subs / "link_to_reference.ipynb").symlink_to(source)
    (subs / "link_to_victim.ipynb").symlink_to(subs / "victim_a.ipynb")
    os.mkfifo(subs / "named_pipe.ipynb")      # reading it would block the grader for ever
    (subs / "folder.ipynb").mkdir()           # rglob finds folders too
    with open(subs / "huge.ipynb", "wb") as fh:  # sparse: 30 GB by its size, nothing on disk
        fh.truncate(30 * 2**30)
    found = grading.collect_submissions([subs], LAB)
    peak, stop = [0], threading.Event()

    def watch_workers():  # the grader's worker processes run outside every sandbox
        me = psutil.Process()
        while not stop.wait(0.05):
            for proc in me.children():
                try:
                    if "multiprocessing" in " ".join(proc.cmdline()):
                        peak[0] = max(peak[0], proc.memory_info().rss)
                except psutil.Error:
                    pass

    watcher = threading.Thread(target=watch_workers, daemon=True)
    watcher.start()
    try:
        results = grading.grade_batch(found, source, root / "out", OPTS, workers=2, progress=lambda line: None)
    finally:
        stop.set()
        watcher.join()
    gradebook.write_gradebook(root / "out")
    yield root, {r["submission"].rsplit("/", 1)[1][:-len(".ipynb")]: r for r in results}, peak[0]


def _outputs_text(result: dict) -> str:
    with open(result["executed_notebook"]) as fh:
        nb = json.load(fh)
    return json.dumps([c.get("outputs", []) for c in nb["cells"]])


def _feedback(result: dict) -> str:
    with open(result["feedback"], encoding="utf-8") as fh:
        return fh.read()


def test_honest_submissions_score_as_they_should(hostile):
    assert_honest_scores(hostile[1])


@pytest.mark.parametrize("name", sorted(ATTACKS))
def test_no_attack_scores_more_than_an_honest_wrong_answer(hostile, name):
    result = hostile[1][name]
    assert result["score"] <= hostile[1]["honest_wrong"]["score"], (result["status"], scores(result),
                                                                       result["messages"])
    assert result["max_score"] == 3.0
    assert result["status"] != "grader-error", result["messages"]


def test_a_symbolic_link_is_refused_not_graded_as_the_file_it_points_to(hostile):
    results = hostile[1]
    for name in ("link_to_reference", "link_to_victim"):
        result = results[name]
        assert result["status"] == "invalid-notebook" and result["score"] == 0.0, (name, result["messages"])
        assert result["student"] == name and "is a symbolic link" in result["messages"][0]
    assert results["victim_a"]["status"] == "graded" and results["victim_a"]["score"] == 3.0


def test_a_pipe_a_folder_or_a_huge_file_is_refused_unread(hostile):
    results = hostile[1]
    for name, why in (("named_pipe", "not a regular file"), ("folder", "not a regular file"),
                      ("huge", "more than the 20 MB")):
        result = results[name]
        assert result["status"] == "invalid-notebook" and result["score"] == 0.0, (name, result["messages"])
        assert why in result["messages"][0], (name, result["messages"])


def test_every_submission_keeps_a_signed_row_and_a_feedback_page(hostile):
    root, results, _ = hostile
    key = grading.signing_key(root / "out")
    for name, result in results.items():
        saved = json.loads((root / "out" / "students" / result["student"] / "result.json").read_text())
        assert grading.verify(saved, key), name
        assert result["feedback"], (name, result["messages"])
    with open(root / "out" / "gradebook.csv", newline="") as fh:
        rows = list(csv.DictReader(fh))
    assert len(rows) == len(results) and all(row["status"] != "unverified" for row in rows)


def test_the_connection_folder_takes_no_more_than_the_disk_cap(hostile):
    result = hostile[1]["connection_dir_fill"]
    written = [int(n) for n in re.findall(r"WROTE (\d+)", _outputs_text(result))]
    assert max(written, default=0) <= OPTS.disk_mb, (result["status"], max(written), result["messages"])
    assert result["status"] == "disk-exceeded" and "connection folder" in " ".join(result["messages"])


def test_a_huge_message_costs_the_worker_little_memory(hostile):
    assert hostile[2] < 400 * 2**20, f"a grading worker reached {hostile[2] / 2**20:.0f} MB"
    assert hostile[1]["huge_message"]["status"] == "graded"


def test_code_after_a_hidden_test_can_show_its_source_but_never_its_expected_values(hostile):
    """Hidden tests run in the student's kernel, so a later answer can print their source (which
    inputs they probe) into its own outputs, as the grader's docstring says. What they compare with
    never enters the kernel: the reference's values, and the signing key, stay out of every page."""
    results = hostile[1]
    key = (hostile[0] / "out" / grading.KEY_FILE).read_text().strip()
    for name in ("history_leak", "hook_leak_encoded"):
        page = _feedback(results[name])
        decoded = [base64.b64decode(b).decode("utf-8", "replace") for b in re.findall(r"B64 ([A-Za-z0-9+/=]+)", page)]
        assert any(HIDDEN_SOURCE in text for text in [page, *decoded]), f"{name}: the attack did not run"
        for text in [page, *decoded]:
            assert not re.search(rf"(?<![\w.]){HIDDEN_EXPECTED}(?![\w.])", text) and key not in text, name
        assert results[name]["score"] == 0.0


def test_feedback_pages_carry_no_active_content(hostile):
    page = _feedback(hostile[1]["active_content"])
    lowered = page.lower()
    assert "<script" not in lowered and "<svg" not in lowered and "<b " not in lowered
    assert "<img src=x" not in lowered and '" onerror' not in lowered and '"><script' not in lowered
    assert page.count("<img") == 1  # the one valid base64 PNG; the one with an attribute in its data is dropped


def test_odd_metadata_and_markers_are_graded_or_refused_with_a_reason(hostile):
    results = hostile[1]
    assert results["markers_in_answer"]["status"] == "graded"
    assert "### BEGIN HIDDEN TESTS" in _feedback(results["markers_in_answer"])  # the student's own text, as written
    assert results["list_sources"]["status"] == "graded"
    assert results["odd_metadata"]["status"] in ("graded", "rejected", "wrong-lab")
    assert results["labkit_lab_object"]["status"] in ("wrong-lab", "graded")


def test_hooks_do_not_hold_the_kernel_past_its_limits(hostile):
    result = hostile[1]["atexit_hang"]
    assert result["status"] == "graded" and result["seconds"] < OPTS.timeout, result


def test_file_names_never_become_spreadsheet_formulas(hostile):
    root, results, _ = hostile
    for name in FORMULA_NAMES:
        assert results[name]["status"] == "invalid-notebook"
    for book in ("gradebook.csv", "gradebook-canvas.csv", "gradebook-moodle.csv"):
        with open(root / "out" / book, newline="") as fh:
            for row in csv.reader(fh):
                for value in row:
                    if value[:1] in ("=", "+", "-", "@", "\t", "\r"):
                        float(value)  # only a number may start so
