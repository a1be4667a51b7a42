"""The grader's sandbox, tried as an attacker would: files, processes, network, memory, escapes.

Each test runs real code inside a bubblewrap sandbox, through ``Sandbox.wrap`` or through the
kernel manager the grader uses. Skipped, with the reason, where bubblewrap cannot run (failed in CI).
"""

import asyncio
import os
import socket
import subprocess
import sys
import tempfile
import textwrap
import time

import psutil
import pytest

from labkit.sandbox import Sandbox, SandboxedKernelManager, SandboxSpec

pytestmark = pytest.mark.sandbox
REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SPEC = SandboxSpec(memory_mb=400, max_processes=40, disk_mb=64)


class Ran:
    """What running code in a sandbox gave: output, exit code, the cap it hit and the kind of limits."""

    def __init__(self, proc, exceeded, limits_kind):
        self.stdout, self.stderr, self.returncode = proc.stdout, proc.stderr, proc.returncode
        self.exceeded, self.limits_kind = exceeded, limits_kind


def run_inside(code: str, spec: SandboxSpec = SPEC, timeout: float = 60) -> Ran:
    """Run Python code in a fresh sandbox, then close it."""
    box = Sandbox(spec, tempfile.mkdtemp(prefix="labkit-test-"))
    try:
        proc = subprocess.Popen(box.wrap([sys.executable, "-c", textwrap.dedent(code)]), stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, text=True)
        box.started(proc.pid)
        out, err = proc.communicate(timeout=timeout)
        return Ran(subprocess.CompletedProcess(proc.args, proc.returncode, out, err), box.exceeded(), box.limits_kind)
    finally:
        box.close()


def test_the_sandbox_sees_no_course_files_and_cannot_write_outside_its_folders(tmp_path):
    secret = tmp_path / "secret.txt"
    secret.write_text("hidden")
    proc = run_inside(f"""
        import os
        for path in [{str(secret)!r}, {REPO + '/README.md'!r}, {REPO + '/notebooks'!r}, '/root/.cache', '/etc/shadow']:
            print(path, os.path.exists(path) and (os.path.isdir(path) and os.listdir(path) or True))
        for path in ['/usr/evil', {sys.prefix + '/evil'!r}, '/etc/evil', '/evil']:
            try:
                open(path, 'w').write('x')
                print('WROTE', path)
            except OSError as err:
                print('refused', path, err.errno)
        open('/home/student/work/mine.txt', 'w').write('fine')
        print('uid', os.getuid(), 'cwd', os.getcwd())
    """)
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.splitlines()
    assert all(line.endswith(" False") for line in lines[:5]), lines[:5]
    assert not any(line.startswith("WROTE") for line in lines) and sum("refused" in line for line in lines) == 4
    assert "uid 1000 cwd /home/student/work" in proc.stdout


def test_the_environment_is_cleared_and_home_is_fresh(monkeypatch):
    monkeypatch.setenv("LABKIT_SECRET_TEST", "do-not-leak")
    proc = run_inside("import os; print(sorted(os.environ)); print(os.listdir(os.environ['HOME']))",
                         SandboxSpec(env=(("LABKIT_PROFILE", "smoke"),)))
    assert "LABKIT_SECRET_TEST" not in proc.stdout and "do-not-leak" not in proc.stdout
    assert "'LABKIT_PROFILE'" in proc.stdout and proc.stdout.splitlines()[1] == "['work']"


def test_no_host_process_is_visible_and_the_network_is_unreachable():
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(1)
    port = server.getsockname()[1]
    try:
        proc = run_inside(f"""
            import os, socket
            print(len([p for p in os.listdir('/proc') if p.isdigit()]))
            for host, port in [('127.0.0.1', {port}), ('8.8.8.8', 53)]:
                try:
                    socket.create_connection((host, port), timeout=2)
                    print('CONNECTED', host)
                except OSError as err:
                    print('unreachable', host)
        """)
    finally:
        server.close()
    lines = proc.stdout.splitlines()
    assert int(lines[0]) <= 3, lines  # bwrap's init, this python, nothing of the host
    assert lines[1:] == ["unreachable 127.0.0.1", "unreachable 8.8.8.8"]


def test_detached_processes_die_with_the_sandbox():
    marker = f"labkit-detached-{os.getpid()}"
    box = Sandbox(SPEC, tempfile.mkdtemp(prefix="labkit-test-"))
    code = (f"import os, time\nif os.fork() == 0:\n    os.setsid()\n    if os.fork() == 0:\n"
            f"        os.execvp('sleep', ['sleep', '300', '{marker}'])\n    os._exit(0)\ntime.sleep(60)")
    proc = subprocess.Popen(box.wrap([sys.executable, "-c", code]))
    box.started(proc.pid)

    def detached():
        return [p for p in psutil.process_iter(["cmdline"]) if marker in " ".join(p.info["cmdline"] or [])]

    deadline = time.monotonic() + 20
    while not detached() and time.monotonic() < deadline:
        time.sleep(0.2)
    assert detached(), "the detached process should be running before the sandbox closes"
    box.close()
    proc.wait(timeout=10)
    time.sleep(0.3)
    assert detached() == []


def test_memory_is_capped_for_the_whole_sandbox_shared_memory_included():
    proc = run_inside("import numpy as np\nblocks = [np.ones(10_000_000) for _ in range(100)]\nprint('ALIVE')")
    assert "ALIVE" not in proc.stdout and proc.returncode != 0
    if proc.limits_kind != "polling":
        assert proc.exceeded == "memory-exceeded"
    proc = run_inside("""
        try:
            with open('/dev/shm/fill', 'wb') as fh:
                for _ in range(2000):
                    fh.write(b'x' * 1_000_000)
            print('WROTE ALL')
        except OSError as err:
            print('stopped', err.errno)
    """)
    assert "WROTE ALL" not in proc.stdout  # 64 MB of tmpfs, under the 400 MB cap
    assert not os.path.exists("/dev/shm/fill")


def test_the_working_folder_is_size_limited():
    proc = run_inside("""
        try:
            with open('big', 'wb') as fh:
                for _ in range(200):
                    fh.write(b'x' * 1_000_000)
            print('WROTE ALL')
        except OSError as err:
            print('stopped', err.errno)
    """)
    assert "stopped 28" in proc.stdout  # ENOSPC


def test_a_fork_bomb_stops_at_the_process_cap():
    proc = run_inside("""
        import os, time
        made = 0
        try:
            for _ in range(1000):
                if os.fork() == 0:
                    time.sleep(20)
                    os._exit(0)
                made += 1
        except OSError:
            pass
        print('made', made)
    """)
    made = int(proc.stdout.split("made ")[1]) if "made " in proc.stdout else 0
    assert made < SPEC.max_processes, proc.stdout
    if proc.limits_kind != "polling":
        assert proc.exceeded == "process-limit"


async def _kernel_session(code_cells, spec=SPEC):
    km = SandboxedKernelManager(spec=spec, kernel_name="python3")
    await km.start_kernel()
    kc = km.client()
    kc.start_channels()
    outputs = []
    try:
        await kc.wait_for_ready(timeout=60)
        for code, interrupt_after in code_cells:
            msg_id = kc.execute(code)
            if interrupt_after:
                await asyncio.sleep(interrupt_after)
                await km.interrupt_kernel()
            while True:
                msg = await kc.get_iopub_msg(timeout=60)
                if msg["parent_header"].get("msg_id") != msg_id:
                    continue
                if msg["msg_type"] in ("stream", "error"):
                    outputs.append(msg["content"].get("text") or msg["content"].get("ename"))
                if msg["msg_type"] == "status" and msg["content"]["execution_state"] == "idle":
                    break
    finally:
        kc.stop_channels()
        await km.shutdown_kernel(now=True)
        km.sandbox.close()
    return outputs, km


def test_the_kernel_runs_inside_and_an_interrupt_reaches_it():
    start = time.monotonic()
    outputs, km = asyncio.run(_kernel_session([("import os; print(os.getuid(), os.getcwd())", 0),
                                               ("import time; time.sleep(100)", 2),
                                               ("print('after')", 0)]))
    assert outputs[0].strip() == "1000 /home/student/work"
    assert "KeyboardInterrupt" in outputs and outputs[-1].strip() == "after"
    assert time.monotonic() - start < 40
    folder = km.sandbox.connection_dir
    left = [p for p in psutil.process_iter(["cmdline"]) if folder in " ".join(p.info["cmdline"] or [])]
    assert left == [] and not os.path.exists(folder)
