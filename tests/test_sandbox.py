"""The grader's sandbox, tried as an attacker would: files, processes, network, memory, escapes.

Each test runs real code inside a bubblewrap sandbox, through ``Sandbox.wrap`` or through the
kernel manager the grader uses (with nbclient). The module is skipped, with the reason, where
bubblewrap cannot build a sandbox (and failed in CI, by conftest's ``sandbox`` marker).
"""

import asyncio
import errno
import os
import socket
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path

import psutil
import pytest

from labkit import sandbox as sandbox_module
from labkit.sandbox import Sandbox, SandboxedKernelManager, SandboxSpec, sandbox_problem

if sandbox_problem() is not None and not os.environ.get("CI"):
    pytest.skip(f"no sandbox here: {sandbox_problem()}", allow_module_level=True)

pytestmark = pytest.mark.sandbox
REPO = Path(__file__).resolve().parent.parent
LABKIT = REPO / "labkit"
SPEC = SandboxSpec(memory_mb=300, max_processes=40, disk_mb=64,
                   readonly_binds=((str(LABKIT), "/opt/labkit/labkit"),))


class Ran:
    """What running code in a sandbox gave: output, exit code, the cap it hit, its peak and kind of limits."""

    def __init__(self, proc, box):
        self.stdout, self.stderr, self.returncode = proc.stdout, proc.stderr, proc.returncode
        self.exceeded, self.peak, self.limits_kind = box.exceeded(), box.peak_memory_mb(), box.limits_kind


def run_inside(code: str, spec: SandboxSpec = SPEC, timeout: float = 60) -> Ran:
    """Run Python code in a fresh sandbox, then close it."""
    box = Sandbox(spec, tempfile.mkdtemp(prefix="labkit-test-"))
    try:
        proc = subprocess.Popen(box.wrap([sys.executable, "-c", textwrap.dedent(code)]), stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, text=True)
        box.started(proc.pid)
        out, err = proc.communicate(timeout=timeout)
    finally:
        box.close()
    return Ran(subprocess.CompletedProcess(proc.args, proc.returncode, out, err), box)


def processes_mentioning(text: str) -> list:
    found = []
    for proc in psutil.process_iter(["cmdline"]):
        if text in " ".join(proc.info["cmdline"] or []):
            found.append(proc)
    return found


def test_nothing_of_the_host_is_readable_and_nothing_bound_is_writable(tmp_path):
    secret = tmp_path / "secret.txt"
    secret.write_text("hidden")
    hidden = [str(secret), str(REPO / "README.md"), str(REPO / "notebooks/01_cnn_autoencoder.ipynb"),
              str(REPO / "notebooks"), "/root/.cache", "/etc/shadow", "/etc/hostname", "/sys/kernel"]
    writes = ["/usr/evil", f"{sys.prefix}/evil", f"{sys.base_prefix}/evil", "/opt/labkit/labkit/evil.py",
              "/opt/labkit/labkit/__init__.py", "/etc/evil", "/evil", f"{REPO}/evil"]
    proc = run_inside(f"""
        import os
        for path in {hidden!r}:
            print('SEEN' if os.path.exists(path) else 'absent', path)
        for path in {writes!r}:
            try:
                open(path, 'a').write('x')
                print('WROTE', path)
            except OSError as err:
                print('refused', path)
        print('labkit visible', os.path.exists('/opt/labkit/labkit/sandbox.py'))
        open('/home/student/work/mine.txt', 'w').write('fine')
        repo = {str(REPO)!r}
        print('uid', os.getuid(), os.getgid(), 'cwd', os.getcwd(), 'repo', sorted(os.listdir(repo)) if os.path.exists(repo) else 'absent')
    """)
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.splitlines()
    assert [line.split()[0] for line in lines[:len(hidden)]] == ["absent"] * len(hidden), lines
    assert [line.split()[0] for line in lines[len(hidden):len(hidden) + len(writes)]] == ["refused"] * len(writes)
    assert "labkit visible True" in lines
    in_repo = sorted({Path(p).relative_to(REPO).parts[0] for p in (sys.prefix, sys.base_prefix)
                      if Path(p).is_relative_to(REPO)})  # a virtual environment inside it: only that folder shows
    assert lines[-1] == f"uid 1000 1000 cwd /home/student/work repo {in_repo or 'absent'}"
    assert not secret.with_name("evil").exists() and not (REPO / "evil").exists()


def test_the_environment_is_cleared_and_home_is_fresh(monkeypatch):
    monkeypatch.setenv("LABKIT_SECRET_TEST", "do-not-leak")
    spec = SandboxSpec(memory_mb=300, env=(("LABKIT_PROFILE", "smoke"),))
    proc = run_inside("""
        import os, getpass
        print(sorted(os.environ.items()))
        print(os.listdir(os.environ['HOME']), getpass.getuser(), os.path.expanduser('~'))
    """, spec)
    assert proc.returncode == 0, proc.stderr
    assert "LABKIT_SECRET_TEST" not in proc.stdout and "do-not-leak" not in proc.stdout
    assert "('LABKIT_PROFILE', 'smoke')" in proc.stdout and "('MPLBACKEND', 'Agg')" in proc.stdout
    assert proc.stdout.splitlines()[1] == "['work'] student /home/student"


def test_no_host_process_is_visible_and_the_network_is_unreachable():
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(1)
    port = server.getsockname()[1]
    try:
        proc = run_inside(f"""
            import os, socket
            print(sorted(int(p) for p in os.listdir('/proc') if p.isdigit()))
            os.kill(1, 0)
            print(open('/proc/1/cmdline').read().split(chr(0))[0])
            try:
                os.kill({os.getpid()}, 0)
                print('HOST PID REACHED')
            except ProcessLookupError:
                print('no such pid')
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
    assert proc.returncode == 0, proc.stderr
    assert eval(lines[0]) == [1, 2], lines  # bwrap's init and this python, nothing of the host
    assert lines[1].endswith("bwrap") and lines[2] == "no such pid"
    assert lines[3:] == ["unreachable 127.0.0.1", "unreachable 8.8.8.8"]


def _detach(marker: str) -> str:
    """Code that leaves two detached sleepers (double fork + setsid; nohup in a new session) tagged ``marker``.

    The marker is assembled inside, so only the sleepers' command lines contain it.
    """
    head, tail = marker[:4], marker[4:]
    sleeper = "['python3', '-c', 'import time; time.sleep(300)', M]"
    return (f"import os, subprocess, sys, time\nM = {head!r} + {tail!r}\n"
            f"if os.fork() == 0:\n    os.setsid()\n    if os.fork() == 0:\n"
            f"        os.execv(sys.executable, {sleeper})\n    os._exit(0)\n"
            f"subprocess.Popen(['nohup', sys.executable] + {sleeper}[1:], start_new_session=True,\n"
            f"                 stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)\n")


def test_detached_processes_die_with_the_sandbox():
    marker = f"labkit-detached-{os.getpid()}-{time.monotonic_ns()}"
    box = Sandbox(SPEC, tempfile.mkdtemp(prefix="labkit-test-"))
    proc = subprocess.Popen(box.wrap([sys.executable, "-c", _detach(marker) + "time.sleep(60)"]))
    box.started(proc.pid)
    deadline = time.monotonic() + 20
    while len(processes_mentioning(marker)) < 2 and time.monotonic() < deadline:
        time.sleep(0.1)
    assert len(processes_mentioning(marker)) == 2, "both detached processes should run before the sandbox closes"
    box.close()
    proc.wait(timeout=10)
    assert processes_mentioning(marker) == [] and box.pids() == []
    assert all(not Path(d).exists() for d in box.cgroup_dirs)


def test_a_memory_hog_is_stopped_at_the_cap():
    # twice the cap at once; it then holds the memory (the "rlimit + polling" watchdog needs that long)
    proc = run_inside("import numpy as np, time\nblock = np.ones(2 * 300 * 2**20 // 8)\ntime.sleep(2)\nprint('ALIVE')")
    assert "ALIVE" not in proc.stdout and proc.returncode != 0
    assert proc.exceeded == "memory-exceeded", proc.limits_kind
    if proc.limits_kind.startswith("cgroup"):
        assert proc.peak <= 300


def test_shared_memory_files_count_against_the_memory_cap():
    # /dev/shm is larger than the memory cap: the cgroup, not the tmpfs size, must stop the writer
    spec = SandboxSpec(memory_mb=200, max_processes=40, disk_mb=600)
    proc = run_inside("""
        import time
        try:
            with open('/dev/shm/fill', 'wb') as fh:
                for _ in range(500):
                    fh.write(b'x' * 2**20)
                    fh.flush()
            time.sleep(2)
            print('WROTE ALL')
        except OSError as err:
            print('stopped', err.errno)
    """, spec)
    assert "WROTE ALL" not in proc.stdout
    stopped = f"stopped {errno.ENOSPC}" in proc.stdout or f"stopped {errno.ENOMEM}" in proc.stdout
    assert stopped or proc.exceeded == "memory-exceeded", (proc.stdout, proc.stderr, proc.exceeded)
    if proc.limits_kind.startswith("cgroup"):
        assert proc.peak <= 200
    assert not os.path.exists("/dev/shm/fill")


def test_the_working_folder_and_tmp_are_size_limited():
    proc = run_inside("""
        for path in ['big', '/tmp/big', '/dev/shm/big']:
            try:
                with open(path, 'wb') as fh:
                    for _ in range(100):
                        fh.write(b'x' * 2**20)
                        fh.flush()
                print('WROTE ALL', path)
            except OSError as err:
                print('stopped', err.errno, path)
    """)
    assert proc.stdout.splitlines() == [f"stopped {errno.ENOSPC} {p}" for p in ("big", "/tmp/big", "/dev/shm/big")]


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
        print('made', made, flush=True)
        time.sleep(1)
    """)
    made = int(proc.stdout.split("made ")[1]) if "made " in proc.stdout else 0
    if proc.limits_kind.startswith("cgroup") or os.getuid() != 0:
        assert made < SPEC.max_processes, proc.stdout  # pids.max, or RLIMIT_NPROC under "rlimit + polling"
    if proc.limits_kind.startswith("cgroup") or os.getuid() == 0:
        assert proc.exceeded == "process-limit"  # the cgroup's count, or the watchdog (root ignores RLIMIT_NPROC)
    assert subprocess.run(["true"], check=False).returncode == 0  # the host can still start processes


def test_without_a_cgroup_the_watchdog_still_caps_memory_and_kills_everything(monkeypatch):
    monkeypatch.setattr(sandbox_module, "_cgroup_layout", lambda: None)
    marker = f"labkit-fallback-{os.getpid()}-{time.monotonic_ns()}"
    proc = run_inside(_detach(marker) + textwrap.dedent("""
        import numpy as np
        blocks = []
        for _ in range(200):
            blocks.append(np.ones(2**20))  # 8 MB every 20 ms, up to 1.6 GB
            time.sleep(0.02)
        print('ALIVE')
    """))
    assert proc.limits_kind == "rlimit + polling"
    assert "ALIVE" not in proc.stdout and proc.exceeded == "memory-exceeded"
    assert processes_mentioning(marker) == []


# ---------------------------------------------------------------------------- through the kernel manager

def _notebook(*sources):
    import nbformat

    return nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(s) for s in sources])


def _execute(nb, km):
    """Run the notebook with nbclient; cleanup_kc: nbclient shuts down (gracefully) a manager it was given."""
    from nbclient import NotebookClient

    return NotebookClient(nb, km=km, timeout=60, kernel_name="python3").execute(cleanup_kc=True)


def test_nbclient_runs_numpy_and_matplotlib_inside():
    km = SandboxedKernelManager(spec=SPEC, kernel_name="python3")
    nb = _execute(_notebook(
        "import os, numpy as np, matplotlib\nprint(os.getuid(), os.getcwd(), matplotlib.get_backend())",
        "import io, matplotlib.pyplot as plt\nfrom IPython.display import Image, display\n"
        "fig, ax = plt.subplots()\nax.plot(np.sin(np.linspace(0, 6, 50)))\nbuf = io.BytesIO()\n"
        "fig.savefig(buf, format='png')\ndisplay(Image(buf.getvalue()))",
        "%matplotlib inline\nplt.plot([1, 2, 3])\nplt.show()",
    ), km)
    assert nb.cells[0].outputs[0]["text"].strip().lower() == "1000 /home/student/work agg"
    for cell in nb.cells[1:]:
        assert any("image/png" in out.get("data", {}) for out in cell.outputs), cell.outputs
    assert km.sandbox.limits_kind in ("cgroup v2", "cgroup v1", "rlimit + polling")


def test_nbclient_shutdown_leaves_no_process_and_no_cgroup():
    marker = f"labkit-kernel-detached-{os.getpid()}-{time.monotonic_ns()}"
    km = SandboxedKernelManager(spec=SPEC, kernel_name="python3")
    folder, cgroups = km.sandbox.connection_dir, km.sandbox.cgroup_dirs
    nb = _execute(_notebook(_detach(marker) + "time.sleep(1)\nprint(len(os.listdir('/proc')) > 0)"), km)
    assert nb.cells[0].outputs[0]["text"].strip() == "True"
    assert processes_mentioning(marker) == [] and processes_mentioning(folder) == []
    assert not os.path.exists(folder) and all(not os.path.exists(p) for p in cgroups)


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
    return outputs, km


def test_an_interrupt_reaches_the_kernel_and_shutdown_ends_everything():
    start = time.monotonic()
    outputs, km = asyncio.run(_kernel_session([("import time; time.sleep(100)", 1.5), ("print('after')", 0)]))
    assert outputs == ["KeyboardInterrupt", "after\n"]
    assert time.monotonic() - start < 30
    folder = km.sandbox.connection_dir
    assert processes_mentioning(folder) == [] and not os.path.exists(folder)
    assert bool(km.sandbox.cgroup_dirs) == km.sandbox.limits_kind.startswith("cgroup")
    assert all(not os.path.exists(p) for p in km.sandbox.cgroup_dirs)
