"""A third hostile batch: the sandbox's boundary, forged protocol messages, odd numbers and bloated outputs.

As in tests/test_grading_attacks.py and tests/test_grading_attacks_more.py, every attack is graded in
one batch beside honest submissions, in the bubblewrap sandbox, and must score no more than an
honest wrong answer (0 here) while the victims keep their full, signed score. The families: what
the kernel sees of the host (file descriptors, mounts, processes, /sys, the abstract socket
namespace, ptrace, the clock), messages forged on the kernel's own session with the test cell's
parent (a reply saying ``ok`` for a cell that raised, outputs beside the real ones), numbers the
grader's comparison or its record bands cannot convert (huge integers), raw JSON the worker cannot
decode, look-alike observation names, and outputs that hold far more than the caps by spreading
it over many MIME types, an error's name or a stream's name.
"""

import json
import os
import socket
import threading

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
    later,
    scores,
    write_source,
)

from labkit import expected, gradebook, grading

pytestmark = pytest.mark.sandbox

ABSTRACT = f"labkit-att3-{os.getpid()}"   # an abstract unix socket the grader's side listens on
BLOAT_MB = 40                             # what the bloat attack sends; the caps keep a few MB of it


PROBE = f"""import os, json, socket, ctypes, time
found = {{}}
fds = {{}}
for fd in os.listdir('/proc/self/fd'):
    try:
        fds[fd] = os.readlink(f'/proc/self/fd/{{fd}}')
    except OSError as err:
        fds[fd] = str(err)
found['fds'] = fds
found['mountinfo'] = open('/proc/self/mountinfo').read()
found['pids'] = sorted(int(p) for p in os.listdir('/proc') if p.isdigit())
found['pid1'] = open('/proc/1/cmdline', 'rb').read().replace(b'\\0', b' ').decode()
found['sys'] = os.path.exists('/sys/fs/cgroup') or os.path.exists('/sys/class')
found['dev'] = sorted(os.listdir('/dev'))
found['status'] = [l for l in open('/proc/self/status') if l.startswith(('Cap', 'Uid', 'NoNewPrivs', 'Seccomp'))]
s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
try:
    s.connect('\\0{ABSTRACT}')
    s.send(b'reached')
    found['abstract'] = 'connected'
except OSError as err:
    found['abstract'] = str(err)
libc = ctypes.CDLL(None, use_errno=True)
found['ptrace_pid1'] = libc.ptrace(16, 1, None, None)  # PTRACE_ATTACH
try:
    os.kill(1, 9)
    found['kill_pid1'] = 'sent'
except OSError as err:
    found['kill_pid1'] = str(err)
try:
    time.clock_settime(time.CLOCK_REALTIME, 0)
    found['clock'] = 'set'
except OSError as err:
    found['clock'] = str(err)
print('PROBE', json.dumps(found))"""

FORGE = """import time
from labkit.exercise import OBSERVATION_MIME as M
ip = get_ipython()
pub, kernel = ip.display_pub, ip.kernel
def square(x):
    parent = pub.parent_header
    # a reply that says ok, sent first on the shell socket, for the test cell that is about to raise
    kernel.session.send(kernel.shell_stream, 'execute_reply', {'status': 'ok', 'execution_count': 1,
                        'user_expressions': {}, 'payload': []}, parent=parent,
                        ident=kernel._parent_ident['shell'])
    for name in ('square(-2)', 'square(0.5)', 'square(11)'):
        pub.session.send(pub.pub_socket, 'display_data', {'data': {M: {'name': name, 'value': x + x}},
                         'metadata': {}}, parent=parent, ident=pub.topic)
    # a forged idle status: the client would stop listening before the real outputs
    pub.session.send(pub.pub_socket, 'status', {'execution_state': 'idle'}, parent=parent)
    time.sleep(0.05)
    raise RuntimeError('the real cell raised')"""

BIG = "10 ** 400"  # a JSON number a float cannot hold

RAW_JSON = """ip = get_ipython()
pub = ip.display_pub
from labkit.exercise import OBSERVATION_MIME as M
def square(x):
    content = ('{"data": {"%s": {"name": "square(-2)", "value": 1%s}}, "metadata": {}}' % (M, '0' * 5000)).encode()
    pub.session.send(pub.pub_socket, 'display_data', content, parent=pub.parent_header, ident=pub.topic)
    return x + x"""

LOOKALIKES = """from IPython.display import display
from labkit.exercise import OBSERVATION_MIME as M
def square(x):
    for name in ('square(\\u22122)', 'square(-2) ', 'ｓquare(-2)', 'square(-2)\\u200b', 'SQUARE(-2)'):
        display({M: {'name': name, 'value': 4, 'kind': 'close', 'hidden': True, 'weight': 1e9}}, raw=True)
    return x + x"""

ODD_VALUES = """import math
def square(x):
    return {-2: [[1, float('nan')], [-0.0]], 0.5: '(0.25+0j)', 11: {'value': 121}}.get(x, -0.0)"""

SWARM = """from IPython.display import display, clear_output
from labkit.exercise import OBSERVATION_MIME as M
def square(x):
    for i in range(3000):  # clearing resets the count of outputs the cap looks at
        display({M: {'name': f'o{i}', 'value': i}}, raw=True)
        if i % 50 == 49:
            clear_output()
    return x + x"""

BLOAT = f"""from IPython.display import display
ip = get_ipython()
pub = ip.display_pub
chunk = 'x' * 45_000  # under the 50 kB cap on one text output
for i in range({BLOAT_MB // 4}):  # each output: 60 MIME types of 45 kB
    display({{**{{f'text/x-{{k}}': chunk for k in range(60)}}, 'text/plain': 'bloat'}}, raw=True)
for i in range({BLOAT_MB // 4}):
    pub.session.send(pub.pub_socket, 'error', {{'ename': 'E' * 1_000_000, 'evalue': '', 'traceback': []}},
                     parent=pub.parent_header)
    pub.session.send(pub.pub_socket, 'stream', {{'name': 'n' * 1_000_000, 'text': 'x'}}, parent=pub.parent_header)
"""

RECORD_BIG = f"""import labkit
from IPython.display import display
from labkit.results import MIME
display({{MIME: {{'name': 'fixture_error', 'value': {BIG}, 'unit': '', 'standin': True}}}}, raw=True)
labkit.record = lambda *a, **k: None  # the lab's own record, in the last cell, would overwrite this one"""

ATTACKS = {
    # the sandbox's boundary, seen from inside (after q1's hidden tests ran)
    "boundary_probe": later(PROBE),
    # protocol forgery on the kernel's own session, with the running test cell's parent
    "forged_parent": answered(answer_1=FORGE, answer_2=WRONG_VALUE),
    # numbers that no float holds: the comparison of a "close" check and a record's band
    "huge_int_close": answered(answer_1=f"def square(x):\n    return {BIG}", answer_2=f"value = {BIG}"),
    "huge_int_record": answered(answer_1=WRONG_SQUARE, answer_2=RECORD_BIG + "\n" + WRONG_VALUE),
    # raw JSON (already packed) the worker's decoder refuses: a 5001-digit integer
    "raw_json_bigint": answered(answer_1=RAW_JSON, answer_2=WRONG_VALUE),
    # observation names that look like, or normalise to, the reference's, with forged extra keys
    "lookalike_names": answered(answer_1=LOOKALIKES, answer_2=WRONG_VALUE),
    # values that numpy or == handle oddly: NaN inside lists, -0.0, complex as text, a dict for a number
    "odd_values": answered(answer_1=ODD_VALUES, answer_2="value = [0.5, float('nan')]"),
    # thousands of observations, the count cap reset by clear_output
    "observation_swarm": answered(answer_1=SWARM, answer_2=WRONG_VALUE),
    # outputs far over the caps, spread over MIME types, error names and stream names
    "bloat": attack(BLOAT),
}



@pytest.fixture(scope="module")
def hostile(tmp_path_factory):
    root = tmp_path_factory.mktemp("hostile_third")
    subs = root / "submissions"
    subs.mkdir()
    for name, nb in {**HONEST, **ATTACKS}.items():
        (subs / f"{name}.ipynb").write_text(json.dumps(nb))
    source = write_source(root)
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    listener.bind("\0" + ABSTRACT)
    listener.listen(5)
    listener.settimeout(0.5)
    reached, stop = [], threading.Event()

    def listen():
        while not stop.is_set():
            try:
                conn, _ = listener.accept()
                reached.append(conn.recv(100))
            except OSError:
                pass

    threading.Thread(target=listen, daemon=True).start()
    mp = pytest.MonkeyPatch()  # give the fixture lab a recorded result with a band, as real labs have
    mp.setitem(expected.RUBRIC, LAB, ("fixture_error",))
    mp.setitem(expected.BANDS, LAB, {OPTS.profile: {"fixture_error": expected.Band(0.0, 0.1)}})
    try:
        found = grading.collect_submissions([subs], LAB)
        results = grading.grade_batch(found, source, root / "out", OPTS, workers=2, progress=lambda line: None)
        gradebook.write_gradebook(root / "out")
        yield root, {r["student"]: r for r in results}, reached
    finally:
        stop.set()
        listener.close()
        mp.undo()


def _stdout(result: dict) -> str:
    nb = json.loads(open(result["executed_notebook"]).read())
    return "".join(str(o.get("text", "")) for c in nb["cells"] for o in c.get("outputs", []))


def test_honest_submissions_score_as_they_should(hostile):
    assert_honest_scores(hostile[1])


@pytest.mark.parametrize("name", sorted(ATTACKS))
def test_no_attack_scores_more_than_an_honest_wrong_answer(hostile, name):
    _, results, _ = hostile
    result = results[name]
    assert result["score"] <= results["honest_wrong"]["score"], (result["status"], result["questions"])
    assert all(s == 0 for s in scores(result).values())


def test_victims_keep_signed_rows_and_every_submission_is_graded_not_a_grader_error(hostile):
    root, results, _ = hostile
    key = grading.signing_key(root / "out")
    for name in ("victim_a", "victim_b"):
        saved = json.loads((root / "out" / grading.STUDENTS_DIR / name / grading.RESULT_FILE).read_text())
        assert grading.verify(saved, key) and saved["score"] == 3.0
    rows = {r["student"]: r for r in gradebook.read_results(root / "out")}
    assert rows["victim_a"]["score"] == rows["victim_b"]["score"] == 3.0
    for name, result in results.items():
        assert result["status"] != "grader-error", (name, result["messages"])
        assert result["feedback"] and os.path.exists(result["feedback"]), name


def test_the_kernel_sees_nothing_of_the_host_beyond_its_binds(hostile):
    root, results, reached = hostile
    line = next(ln for ln in _stdout(results["boundary_probe"]).splitlines() if ln.startswith("PROBE "))
    found = json.loads(line[len("PROBE "):])
    # file descriptors: pipes, sockets, anonymous inodes and devices; no host file or folder
    for fd, target in found["fds"].items():
        if target.startswith("[Errno"):  # the folder listing's own descriptor, closed by then
            continue
        assert target.startswith(("pipe:", "socket:", "anon_inode:", "/dev/", "/proc/")), (fd, target)
    # the mounts name only what the sandbox binds: never the batch's folders or the course's tests
    assert str(root) not in found["mountinfo"]
    assert "/tests" not in found["mountinfo"]
    assert len(found["pids"]) < 10
    assert not found["sys"]
    assert found["abstract"] != "connected" and not reached
    assert found["clock"] != "set"
    # pid 1 is bubblewrap's init in the sandbox's own PID namespace: tracing it or signalling it (init
    # ignores SIGKILL from inside) stays inside, and the grader goes on
    assert found["pid1"].startswith(("bwrap", "/usr/bin/bwrap"))
    assert results["boundary_probe"]["status"] == "graded"
    assert any(ln.split()[1:] == ["0000000000000000"] for ln in found["status"] if ln.startswith("CapEff"))


def test_forged_replies_and_outputs_do_not_make_a_failed_cell_count(hostile):
    _, results, _ = hostile
    q1 = next(q for q in results["forged_parent"]["questions"] if q["grade_id"] == "q1_tests")
    assert q1["score"] == 0


def test_numbers_no_float_holds_are_graded_as_wrong(hostile):
    _, results, _ = hostile
    for name in ("huge_int_close", "huge_int_record"):
        assert results[name]["status"] == "graded", results[name]["messages"]
    records = results["huge_int_record"]["records"]
    assert records and "fixture_error" in records[0]["note"], records


def test_outputs_spread_over_mime_types_and_names_stay_within_the_caps(hostile):
    _, results, _ = hostile
    result = results["bloat"]
    size = os.path.getsize(result["executed_notebook"])
    assert size < 10_000_000, size
    assert any("were cut" in m for m in result["messages"])
    assert os.path.getsize(result["feedback"]) < 5_000_000
