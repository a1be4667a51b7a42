"""The sandbox a submission's kernel runs in: bubblewrap, plus one cgroup for everything inside.

**What is isolated, and how.** ``bwrap`` (the Debian package ``bubblewrap``, the tool Flatpak uses)
starts the kernel in new user, PID, IPC, network, UTS, cgroup and mount namespaces
(``--unshare-all``), as an unprivileged user (uid/gid 1000, no capabilities), in a new terminal
session (``--new-session``: no TIOCSTI into the grader's terminal), killed when the grader's process
dies (``--die-with-parent``). Its file system is built from nothing:

* read-only: ``/usr`` and the ``/bin``, ``/lib*``, ``/sbin`` links or folders, a few files of
  ``/etc`` (the loader cache, fonts, certificates, time zone; never ``/etc/shadow`` and the like),
  a generated ``/etc/passwd`` and ``/etc/group`` naming only ``student``, the Python environment
  (``sys.prefix`` and ``sys.base_prefix`` at their own paths: for a virtual environment inside the
  course repository only its folder is bound, not the repository), and the caller's binds (the
  ``labkit`` package, the data folder);
* size-limited tmpfs (``bwrap --size``, bubblewrap 0.6 or later): a fresh HOME
  (``/home/student``, with the working folder, IPython, Jupyter and matplotlib folders in it), a
  private ``/tmp`` and ``/dev/shm``, each ``disk_mb`` large;
* ``/proc`` of its own PID namespace and a minimal ``/dev``; no ``/sys``;
* read-write: the kernel's private connection folder only (IPC sockets, bound at the same path so
  the notebook client outside uses the same socket files; the new network namespace has nothing
  but a down loopback, so no TCP connection to the grader's 127.0.0.1 or anywhere is possible).
  That folder is on the host's disk, which no tmpfs size or cgroup caps: a watchdog looks at it 20
  times a second and kills the sandbox (``disk-exceeded``) once it holds more than the sockets.

The environment is cleared (``--clearenv``) down to an allow-list plus the caller's variables. So
the kernel does not see the course repository, the prepared notebook, other submissions, the
output folder, the grader's processes or environment, or the network.

**Limits for the whole sandbox.** Memory and the number of processes (threads count too) are
capped with a cgroup made for this sandbox; the launcher joins it (``/bin/sh -c 'echo $$ >
cgroup.procs; exec bwrap ...'``, a plain argv, as jupyter_client launches kernels without a
preexec hook) before bwrap starts, so every process inside, however detached, is in it, and tmpfs
pages written by the sandbox (``/dev/shm``, ``/tmp``, HOME) are charged to it too. cgroup v2: a
child of this process's cgroup (or of its parent) with ``memory.max``, ``memory.swap.max`` = 0,
``pids.max``, torn down with ``cgroup.kill``. cgroup v1: a memory and a pids group
(``memory.limit_in_bytes``, ``memory.memsw.limit_in_bytes`` where swap accounting exists,
``pids.max``), torn down by killing every pid in ``cgroup.procs`` until it is empty. Whether the
cgroups can be made is probed once per process. ``exceeded()`` reads the cgroup's own OOM and
pids-max counters (not ``memory.failcnt``, which also counts ordinary page-cache reclaim).

**Fallback, weaker** (``limits_kind == "rlimit + polling"``, no writable cgroup tree, e.g. an
unprivileged CI user on cgroup v2): RLIMIT_NPROC is set on the launcher (it counts all processes
of the grader's user, so it is set that many above the count at start, and root is exempt from
it), and a watchdog thread counts the sandbox's processes and sums, four times a second, their
proportional memory (PSS) plus the use of its tmpfs folders, and kills the sandbox over a cap. A
fast burst can outrun the watchdog (the host's own limits are then the backstop).
Every process still dies with the sandbox: they all descend from the launcher, and the PID
namespace ends when its init does.

**What it does not protect against**: a kernel or bubblewrap exploit; CPU use up to the grader's
time limits; reading what the read-only binds expose (the whole Python environment, the data).
"""

from __future__ import annotations

import atexit
import contextlib
import functools
import os
import shlex
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import uuid
import weakref
from dataclasses import dataclass
from pathlib import Path
from typing import Self

from jupyter_client.manager import AsyncKernelManager

BWRAP_INSTALL_HINT = ("install bubblewrap: `sudo apt-get install bubblewrap` (Debian, Ubuntu), "
                      "`sudo dnf install bubblewrap` (Fedora, RHEL), `sudo pacman -S bubblewrap` (Arch), "
                      "`sudo zypper install bubblewrap` (openSUSE); the sandbox needs Linux")
HOME = "/home/student"
UID = GID = 1000
CGROUP_ROOT = Path("/sys/fs/cgroup")
ETC_FILES = ("/etc/ld.so.cache", "/etc/ld.so.conf", "/etc/ld.so.conf.d", "/etc/alternatives", "/etc/fonts",
             "/etc/localtime", "/etc/ssl/certs", "/etc/ca-certificates", "/etc/mime.types")
POLL_SECONDS = 0.25
CONNECTION_POLL_SECONDS = 0.05
CONNECTION_MAX_BYTES = 2**20  # the kernel's sockets and connection file; anything more is an attack
CONNECTION_MAX_ENTRIES = 32
LIMITS_FALLBACK = "rlimit + polling"
_OPEN: weakref.WeakSet = weakref.WeakSet()  # sandboxes not closed yet, closed at exit


@dataclass(frozen=True)
class SandboxSpec:
    """What one sandbox may use and see."""

    memory_mb: int = 4096
    max_processes: int = 256
    disk_mb: int = 512                 # the HOME tmpfs (working folder); also the size of /tmp and /dev/shm
    readonly_binds: tuple[tuple[str, str], ...] = ()   # (host path, path inside)
    env: tuple[tuple[str, str], ...] = ()              # set inside, after the environment is cleared
    workdir: str = f"{HOME}/work"                      # the kernel's working folder inside


# ---------------------------------------------------------------------------- is there a sandbox?

@functools.cache
def _bwrap_failure() -> str | None:
    if not sys.platform.startswith("linux"):
        return f"the sandbox needs Linux (this is {sys.platform}); {BWRAP_INSTALL_HINT}"
    path = shutil.which("bwrap")
    if not path:
        return f"bubblewrap (bwrap) is not installed; {BWRAP_INSTALL_HINT}"
    probe_cmd = [path, "--unshare-all", "--die-with-parent", "--new-session", "--uid", str(UID), "--gid", str(GID),
                 "--ro-bind", "/", "/", "--proc", "/proc", "--dev", "/dev", "--size", str(2**20), "--tmpfs", "/tmp",
                 "--", "/bin/sh", "-c", "exit 0"]
    try:
        probe = subprocess.run(probe_cmd, capture_output=True, text=True, timeout=20, check=False)
    except (OSError, subprocess.TimeoutExpired) as err:
        return f"bwrap ({path}) did not run: {err}; {BWRAP_INSTALL_HINT}"
    if probe.returncode != 0:
        why = " ".join(probe.stderr.split())[:200]
        if "--size" in why or "Unknown option" in why:
            return f"bwrap at {path} is too old (needs --size, bubblewrap 0.6 or later): {why}; {BWRAP_INSTALL_HINT}"
        return (f"bwrap at {path} cannot create a sandbox here ({why}); user namespaces may be disabled "
                f"(sysctl kernel.unprivileged_userns_clone=1, user.max_user_namespaces > 0, or AppArmor's "
                f"kernel.apparmor_restrict_unprivileged_userns=0 on Ubuntu 24.04+); {BWRAP_INSTALL_HINT}")
    return None


def find_bwrap() -> str | None:
    """The path of a bwrap that can build a sandbox on this machine (tried once, cached), else None."""
    return None if _bwrap_failure() else shutil.which("bwrap")


def sandbox_problem() -> str | None:
    """None when sandboxing works here; otherwise, in plain words, what is missing and how to fix it."""
    return _bwrap_failure()


# ---------------------------------------------------------------------------- cgroups

def _own_cgroup(controller: str | None) -> str | None:
    """This process's cgroup path for a v1 controller (or the v2 path when ``controller`` is None)."""
    try:
        lines = Path("/proc/self/cgroup").read_text().splitlines()
    except OSError:
        return None
    for line in lines:
        parts = line.split(":", 2)
        if len(parts) != 3:
            continue
        names = parts[1].split(",") if parts[1] else []
        if (controller is None and parts[0] == "0" and not names) or (controller and controller in names):
            return parts[2]
    return None


def _can_join(groups: list[Path]) -> bool:
    """Whether a child process can move itself into these cgroups (the launcher's first step)."""
    script = " && ".join(f"echo $$ > {shlex.quote(str(g / 'cgroup.procs'))}" for g in groups)
    try:
        return subprocess.run(["/bin/sh", "-c", script], capture_output=True, timeout=10, check=False).returncode == 0
    except (OSError, subprocess.TimeoutExpired):
        return False


def _v2_parent() -> Path | None:
    own = (_own_cgroup(None) or "/").strip("/")
    candidates = [own] + ([str(Path(own).parent).strip(".")] if own else [])
    for rel in candidates:
        parent = CGROUP_ROOT / rel if rel else CGROUP_ROOT
        probe = parent / f"labkit-probe-{os.getpid()}-{uuid.uuid4().hex[:6]}"
        try:
            control = parent / "cgroup.subtree_control"
            if not {"memory", "pids"} <= set(control.read_text().split()):
                control.write_text("+memory +pids")
            probe.mkdir()
            try:
                if {"memory", "pids"} <= set((probe / "cgroup.controllers").read_text().split()) and _can_join([probe]):
                    return parent
            finally:
                with contextlib.suppress(OSError):
                    probe.rmdir()
        except OSError:
            continue
    return None


def _v1_parents() -> tuple[Path, Path] | None:
    parents = []
    for controller in ("memory", "pids"):
        root = CGROUP_ROOT / controller
        own = root / (_own_cgroup(controller) or "/").strip("/")
        parents.append(own if own.is_dir() else root)
    probes = [p / f"labkit-probe-{os.getpid()}-{uuid.uuid4().hex[:6]}" for p in parents]
    made = []
    try:
        for probe in probes:
            probe.mkdir()
            made.append(probe)
        return (parents[0], parents[1]) if _can_join(probes) else None
    except OSError:
        return None
    finally:
        for probe in reversed(made):
            with contextlib.suppress(OSError):
                probe.rmdir()


@functools.cache
def _cgroup_layout() -> tuple[str, tuple[Path, ...]] | None:
    """("cgroup v2", (parent,)) or ("cgroup v1", (memory parent, pids parent)) where sandboxes' cgroups
    can be made and joined here (probed once per process), else None."""
    if not sys.platform.startswith("linux"):
        return None
    if (CGROUP_ROOT / "cgroup.controllers").exists():
        parent = _v2_parent()
        return ("cgroup v2", (parent,)) if parent else None
    if (CGROUP_ROOT / "memory" / "cgroup.procs").exists() and (CGROUP_ROOT / "pids" / "cgroup.procs").exists():
        parents = _v1_parents()
        return ("cgroup v1", parents) if parents else None
    return None


def _write(path: Path, value: str, required: bool = True) -> None:
    try:
        path.write_text(value)
    except OSError:
        if required:
            raise


class _Cgroup:
    """One cgroup (v2) or a pair of them (v1 memory + pids) holding every process of one sandbox."""

    def __init__(self, spec: SandboxSpec):
        self.spec = spec
        self.kind, self.dirs = LIMITS_FALLBACK, []
        layout = _cgroup_layout()
        if layout is None:
            return
        kind, parents = layout
        name = f"labkit-{uuid.uuid4().hex[:12]}"
        memory, pids = str(spec.memory_mb * 2**20), str(spec.max_processes)
        try:
            for parent in parents:
                (parent / name).mkdir()
                self.dirs.append(parent / name)
            if kind == "cgroup v2":
                group = self.dirs[0]
                _write(group / "memory.max", memory)
                _write(group / "memory.swap.max", "0", required=False)
                _write(group / "pids.max", pids)
            else:
                mem_group, pids_group = self.dirs
                _write(mem_group / "memory.limit_in_bytes", memory)
                _write(mem_group / "memory.memsw.limit_in_bytes", memory, required=False)
                _write(mem_group / "memory.swappiness", "0", required=False)
                _write(pids_group / "pids.max", pids)
            self.kind = kind
        except OSError:
            self.remove()
            self.kind, self.dirs = LIMITS_FALLBACK, []

    def procs_files(self) -> list[str]:
        return [str(d / "cgroup.procs") for d in self.dirs]

    def _read(self, name: str) -> str:
        for d in self.dirs:
            try:
                return (d / name).read_text()
            except OSError:
                continue
        return ""

    def _counters(self, name: str) -> dict[str, int]:
        pairs = (line.split() for line in self._read(name).splitlines())
        return {p[0]: int(p[1]) for p in pairs if len(p) == 2 and p[1].lstrip("-").isdigit()}

    def exceeded(self) -> str | None:
        if not self.dirs:
            return None
        if self.kind == "cgroup v2":
            events = self._counters("memory.events")
            memory_hit = events.get("oom_kill", 0) > 0 or events.get("oom", 0) > 0
        else:
            control = self._counters("memory.oom_control")
            memory_hit = control.get("oom_kill", 0) > 0 or control.get("under_oom", 0) > 0
            if "oom_kill" not in control:  # kernels before 4.13 do not count kills: the peak reached the cap
                peak, limit = self._read("memory.max_usage_in_bytes").strip(), self._read("memory.limit_in_bytes").strip()
                memory_hit = memory_hit or (peak.isdigit() and limit.isdigit() and int(peak) >= int(limit))
        if memory_hit:
            return "memory-exceeded"
        if self._counters("pids.events").get("max", 0) > 0:
            return "process-limit"
        return None

    def peak_mb(self) -> float | None:
        text = self._read("memory.peak" if self.kind == "cgroup v2" else "memory.max_usage_in_bytes").strip()
        return round(int(text) / 2**20, 1) if text.isdigit() else None

    def pids(self) -> list[int]:
        found: set[int] = set()
        for d in self.dirs:
            try:
                found |= {int(p) for p in (d / "cgroup.procs").read_text().split()}
            except OSError:
                pass
        return sorted(found)

    def kill_all(self) -> None:
        if not self.dirs:
            return
        if self.kind == "cgroup v2":
            _write(self.dirs[0] / "cgroup.kill", "1", required=False)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:  # v1, or v2 without cgroup.kill: kill until nothing is left
            pids = self.pids()
            if not pids:
                return
            for pid in pids:
                with contextlib.suppress(OSError):
                    os.kill(pid, signal.SIGKILL)
            time.sleep(0.01)

    def remove(self) -> None:
        for d in reversed(self.dirs):
            for _ in range(100):
                try:
                    d.rmdir()
                    break
                except FileNotFoundError:
                    break
                except OSError:
                    time.sleep(0.02)
        self.dirs = [d for d in self.dirs if d.exists()]


# ---------------------------------------------------------------------------- the sandbox

@functools.cache
def _identity_files() -> str:
    """A folder with an /etc/passwd and /etc/group that name only the sandbox's user (made once)."""
    folder = tempfile.mkdtemp(prefix="labkit-etc-")
    Path(folder, "passwd").write_text(f"student:x:{UID}:{GID}:student:{HOME}:/bin/sh\n"
                                      f"nobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin\n")
    Path(folder, "group").write_text(f"student:x:{GID}:\nnogroup:x:65534:\n")
    for name in ("passwd", "group"):
        os.chmod(Path(folder, name), 0o644)
    os.chmod(folder, 0o755)
    atexit.register(shutil.rmtree, folder, True)
    return folder


def _python_prefixes() -> list[str]:
    paths = {sys.prefix, sys.base_prefix, os.path.realpath(sys.prefix), os.path.realpath(sys.base_prefix)}
    return sorted(p for p in paths if p and p != "/" and not p.startswith("/usr/") and p != "/usr")


def _user_process_count() -> int:
    uid = os.getuid()
    count = 0
    for entry in os.scandir("/proc"):
        if entry.name.isdigit():
            with contextlib.suppress(OSError):
                count += entry.stat().st_uid == uid
    return count


_RLIMIT_LAUNCHER = ("import os, resource, sys; n = int(sys.argv[1]); "
                    "resource.setrlimit(resource.RLIMIT_NPROC, (n, n)); os.execv(sys.argv[2], sys.argv[2:])")


class Sandbox:
    """One sandbox: created, used for one kernel, torn down.

    ``wrap(argv)`` gives the command that runs argv inside; whoever starts it should call
    ``started(pid)`` (the kernel manager does), which the "rlimit + polling" fallback needs.
    """

    def __init__(self, spec: SandboxSpec, connection_dir: str):
        self.spec = spec
        self.connection_dir = connection_dir
        self._cgroup = _Cgroup(spec)
        self.limits_kind: str = self._cgroup.kind
        self.cgroup_dirs: tuple[str, ...] = tuple(str(d) for d in self._cgroup.dirs)  # empty without a cgroup
        self._launcher_pid: int | None = None
        self._polled_over: str | None = None
        self._polled_peak = 0
        self._watchdog: threading.Thread | None = None
        self._closed = threading.Event()
        self._final: tuple[str | None, float | None] | None = None
        _OPEN.add(self)

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    # -- building the command

    def _filesystem(self) -> list[str]:
        args = ["--ro-bind", "/usr", "/usr"]
        for top in ("/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32"):
            if os.path.islink(top):
                args += ["--symlink", os.readlink(top), top]
            elif os.path.isdir(top):
                args += ["--ro-bind", top, top]
        for path in ETC_FILES:
            args += ["--ro-bind-try", path, path]
        etc = _identity_files()
        args += ["--ro-bind", f"{etc}/passwd", "/etc/passwd", "--ro-bind", f"{etc}/group", "/etc/group"]
        for path in _python_prefixes():
            args += ["--ro-bind", path, path]
        size = str(self.spec.disk_mb * 2**20)
        args += ["--proc", "/proc", "--dev", "/dev",
                 "--perms", "1777", "--size", size, "--tmpfs", "/tmp",
                 "--perms", "1777", "--size", size, "--tmpfs", "/dev/shm",
                 "--perms", "0755", "--size", size, "--tmpfs", HOME]
        args += ["--dir", self.spec.workdir]  # IPython, Jupyter and matplotlib make their folders in HOME
        for host, inside in self.spec.readonly_binds:
            args += ["--ro-bind", host, inside]
        args += ["--bind", self.connection_dir, self.connection_dir, "--remount-ro", "/"]
        return args

    def environment(self) -> dict[str, str]:
        """The variables the code inside sees (nothing else of the grader's environment)."""
        return {"PATH": f"{os.path.dirname(sys.executable)}:/usr/local/bin:/usr/bin:/bin", "HOME": HOME,
                "USER": "student", "LOGNAME": "student", "LANG": "C.UTF-8", "TMPDIR": "/tmp", "SHELL": "/bin/sh",
                "IPYTHONDIR": f"{HOME}/.ipython", "JUPYTER_CONFIG_DIR": f"{HOME}/.jupyter",
                "JUPYTER_DATA_DIR": f"{HOME}/.local/share/jupyter",
                "JUPYTER_RUNTIME_DIR": f"{HOME}/.local/share/jupyter/runtime",
                "MPLCONFIGDIR": f"{HOME}/.config/matplotlib", "XDG_CACHE_HOME": f"{HOME}/.cache",
                "MPLBACKEND": "Agg", "PYTHONDONTWRITEBYTECODE": "1", "JUPYTER_PLATFORM_DIRS": "1",
                **dict(self.spec.env)}

    def wrap(self, argv: list[str]) -> list[str]:
        """The command line that runs ``argv`` inside the sandbox (joining its cgroup first)."""
        bwrap = find_bwrap()
        if bwrap is None:
            raise RuntimeError(f"no sandbox: {sandbox_problem()}")
        env = [arg for name, value in self.environment().items() for arg in ("--setenv", name, value)]
        inner = [bwrap, "--unshare-all", "--die-with-parent", "--new-session", "--uid", str(UID), "--gid", str(GID),
                 "--hostname", "sandbox", "--cap-drop", "ALL", *self._filesystem(), "--clearenv", *env,
                 "--chdir", self.spec.workdir, "--", *argv]
        procs = self._cgroup.procs_files()
        if procs:
            join = " && ".join(f"echo $$ > {shlex.quote(p)}" for p in procs)
            return ["/bin/sh", "-c", f'{join} && exec "$@"', "sh", *inner]
        nproc = _user_process_count() + self.spec.max_processes
        return [sys.executable, "-I", "-S", "-c", _RLIMIT_LAUNCHER, str(nproc), *inner]

    # -- watching and ending it

    def started(self, pid: int) -> None:
        """Note the launcher's pid and start the watchdog (connection folder; memory and processes
        too under "rlimit + polling")."""
        self._launcher_pid = pid
        if self._watchdog is None:  # the connection folder is watched under every kind of limits
            self._watchdog = threading.Thread(target=self._watch, name="labkit-sandbox-watchdog", daemon=True)
            self._watchdog.start()

    def _family(self) -> list:
        import psutil

        if self._launcher_pid is None:
            return []
        try:
            root = psutil.Process(self._launcher_pid)
            return [root, *root.children(recursive=True)]
        except psutil.Error:
            return []

    def _polled_usage(self, family: list) -> int:
        import psutil

        used = 0
        for proc in family:  # proportional set size: pages shared after fork() count once in all
            with contextlib.suppress(psutil.Error):
                info = proc.memory_full_info()
                used += getattr(info, "pss", info.rss)
        for proc in reversed(family):  # the tmpfs folders, seen through a process inside
            try:
                total = 0
                for folder in ("tmp", "dev/shm", HOME.lstrip("/")):
                    st = os.statvfs(f"/proc/{proc.pid}/root/{folder}")
                    total += (st.f_blocks - st.f_bfree) * st.f_frsize
                return used + total
            except OSError:
                continue
        return used

    def _connection_overfull(self) -> bool:
        """Whether the kernel put more than its sockets into its connection folder.

        That folder is the one host folder the sandbox may write, on the host's disk: neither the tmpfs
        size nor the memory cgroup caps it, so a kernel could otherwise fill the grader's disk.
        """
        try:
            entries = list(os.scandir(self.connection_dir))
        except OSError:
            return False
        if len(entries) > CONNECTION_MAX_ENTRIES:
            return True
        used = 0
        for entry in entries:
            with contextlib.suppress(OSError):
                if entry.is_dir(follow_symlinks=False):
                    return True
                st = entry.stat(follow_symlinks=False)
                used += max(st.st_size, st.st_blocks * 512)  # blocks: fallocate can keep the size 0
        return used > CONNECTION_MAX_BYTES

    def _watch(self) -> None:
        ticks = max(1, round(POLL_SECONDS / CONNECTION_POLL_SECONDS))
        tick = 0
        while not self._closed.wait(CONNECTION_POLL_SECONDS):
            tick += 1
            if self._connection_overfull():
                self._polled_over = "disk-exceeded"
            elif self.limits_kind == LIMITS_FALLBACK and tick % ticks == 0:
                family = self._family()
                if not family:
                    continue
                used = self._polled_usage(family)
                self._polled_peak = max(self._polled_peak, used)
                if len(family) > self.spec.max_processes:
                    self._polled_over = "process-limit"
                elif used > self.spec.memory_mb * 2**20:
                    self._polled_over = "memory-exceeded"
            if self._polled_over:
                self.kill_all()
                return

    def exceeded(self) -> str | None:
        """"memory-exceeded", "process-limit" or "disk-exceeded" when the sandbox hit a cap, else None."""
        if self._final is not None:
            return self._final[0]
        return self._cgroup.exceeded() or self._polled_over

    def peak_memory_mb(self) -> float | None:
        """The most memory the sandbox used (cgroup peak, or the watchdog's polled peak)."""
        if self._final is not None:
            return self._final[1]
        if self._cgroup.dirs:
            return self._cgroup.peak_mb()
        return round(self._polled_peak / 2**20, 1) if self._polled_peak else None

    def pids(self) -> list[int]:
        """Host pids of the processes in the sandbox (its cgroup, or the launcher's descendants)."""
        if self._cgroup.dirs:
            return self._cgroup.pids()
        return [p.pid for p in self._family()]

    def kill_all(self) -> None:
        """Kill every process in the sandbox (it may be called any number of times)."""
        self._cgroup.kill_all()
        import psutil

        for _ in range(200):  # the fallback's process tree (and any launcher not yet in a cgroup)
            alive = []
            for proc in self._family():
                with contextlib.suppress(psutil.Error):
                    if proc.status() != psutil.STATUS_ZOMBIE:
                        alive.append(proc)
            if not alive:
                return
            for proc in reversed(alive):
                with contextlib.suppress(psutil.Error):
                    proc.kill()
            time.sleep(0.01)

    def close(self) -> None:
        """Kill everything inside, keep the final limits and peak, remove the cgroup and the socket folder."""
        if self._closed.is_set():
            return
        self._closed.set()
        _OPEN.discard(self)
        self.kill_all()
        self._final = (self.exceeded(), self.peak_memory_mb())
        self._cgroup.remove()
        shutil.rmtree(self.connection_dir, ignore_errors=True)


@atexit.register
def _close_all() -> None:
    for box in list(_OPEN):
        box.close()


class SandboxedKernelManager(AsyncKernelManager):
    """A kernel manager whose kernel runs inside a Sandbox, over IPC sockets in a private folder.

    Interrupts go as ``interrupt_request`` messages (ipykernel raises KeyboardInterrupt), as a
    signal to the launcher would stop at bwrap. Shutting down (or the kernel dying and being
    cleaned up) closes the sandbox: everything it started is killed and its cgroup removed.
    """

    def __init__(self, spec: SandboxSpec | None = None, **kwargs):
        connection_dir = tempfile.mkdtemp(prefix="labkit-kernel-")  # 0700; uid 1000 inside is this user outside
        kwargs["transport"] = "ipc"
        kwargs.setdefault("ip", os.path.join(connection_dir, "kernel-ipc"))
        kwargs.setdefault("connection_file", os.path.join(connection_dir, "kernel.json"))
        super().__init__(**kwargs)
        self.sandbox = Sandbox(spec or SandboxSpec(), connection_dir)

    def format_kernel_cmd(self, extra_arguments=None):
        return self.sandbox.wrap(super().format_kernel_cmd(extra_arguments))

    async def _async_launch_kernel(self, kernel_cmd, **kw):
        kw.pop("cwd", None)  # the sandbox sets its own working folder
        kw.pop("env", None)  # and its own environment (--clearenv); the spec's env is the way in
        kw.setdefault("stdout", subprocess.DEVNULL)  # the kernel's own banner and logs; outputs go over IPC
        kw.setdefault("stderr", subprocess.DEVNULL)
        await super()._async_launch_kernel(kernel_cmd, **kw)
        process = getattr(self.provisioner, "process", None)
        if process is not None:
            self.sandbox.started(process.pid)

    _launch_kernel = _async_launch_kernel

    async def _async_interrupt_kernel(self):
        if self.has_kernel:
            msg = self.session.msg("interrupt_request", content={})
            self._connect_control_socket()
            self.session.send(self._control_socket, msg)

    interrupt_kernel = _async_interrupt_kernel

    async def _async_kill_kernel(self, restart: bool = False):
        self.sandbox.kill_all()
        with contextlib.suppress(ProcessLookupError, OSError):
            await super()._async_kill_kernel(restart=restart)

    _kill_kernel = _async_kill_kernel

    async def _async_cleanup_resources(self, restart: bool = False):
        try:
            await super()._async_cleanup_resources(restart=restart)
        finally:
            if restart:
                self.sandbox.kill_all()
            else:
                self.sandbox.close()

    cleanup_resources = _async_cleanup_resources
