"""The sandbox a submission's kernel runs in: bubblewrap, plus one cgroup for everything inside.

**What is isolated, and how.** ``bwrap`` (the Debian package ``bubblewrap``, the tool Flatpak uses)
starts the kernel in new user, PID, IPC, network, UTS, cgroup and mount namespaces, as an
unprivileged user (uid 1000) with no capabilities, in a new terminal session, killed when the
grader's worker dies. Its file system is built from nothing: the system (``/usr`` and its
symlinks, a few files of ``/etc``) and the Python environment read-only, the folders the grader
names read-only (the ``labkit`` package, the data), a fresh HOME with an empty working folder, and a
private ``/tmp`` and ``/dev/shm``, all size-limited tmpfs. The kernel's sockets live in one private
folder, the only host folder it can write to, which the notebook client outside uses too (IPC
transport: the new network namespace has no route anywhere, the grader's loopback included). The
environment is cleared down to an allow-list. So the kernel does not see the course repository,
the prepared notebook, other submissions, the output folder, the grader's processes or the network.

**Limits for the whole sandbox.** Memory and the number of processes are capped with a cgroup made
for this sandbox before bwrap starts (cgroup v2: ``memory.max``, ``pids.max``, ``cgroup.kill``;
cgroup v1: the memory and pids controllers). Every process inside, however detached, is in it, and
files in the tmpfs folders are charged to it too, so nothing slips past the cap; closing the
sandbox kills everything in the cgroup. Where no cgroup can be made (a container without a
writable cgroup tree), ``limits_kind`` says "polling": a watchdog thread sums the memory of the
sandbox's processes twice a second and kills it over the cap, which a fast burst can outrun, and
the PID namespace still ends every process when the kernel goes.

**What it does not protect against**: a kernel or bubblewrap exploit, and CPU use up to the time
limits (the grader's per-cell and per-notebook timeouts).
"""

from __future__ import annotations

import functools
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

from jupyter_client.manager import AsyncKernelManager

BWRAP_INSTALL_HINT = ("install bubblewrap: `sudo apt-get install bubblewrap` (Debian, Ubuntu), "
                      "`sudo dnf install bubblewrap` (Fedora), `sudo pacman -S bubblewrap` (Arch)")
HOME = "/home/student"
CGROUP_ROOT = Path("/sys/fs/cgroup")
ETC_FILES = ("/etc/ld.so.cache", "/etc/ld.so.conf", "/etc/ld.so.conf.d", "/etc/alternatives", "/etc/fonts",
             "/etc/localtime", "/etc/ssl/certs", "/etc/mime.types")


@dataclass(frozen=True)
class SandboxSpec:
    memory_mb: int = 4096
    max_processes: int = 256
    disk_mb: int = 512                 # each of: the HOME folder, /tmp, /dev/shm
    readonly_binds: tuple[tuple[str, str], ...] = ()   # (host path, path inside)
    env: tuple[tuple[str, str], ...] = ()              # set inside, after the environment is cleared
    workdir: str = f"{HOME}/work"


# ---------------------------------------------------------------------------- is there a sandbox?

@functools.cache
def find_bwrap() -> str | None:
    """The path of a bwrap that can build a sandbox on this machine, else None."""
    return None if _bwrap_failure() else shutil.which("bwrap")


@functools.cache
def _bwrap_failure() -> str | None:
    if not sys.platform.startswith("linux"):
        return f"the sandbox needs Linux (this is {sys.platform}); run the grader on a Linux machine"
    path = shutil.which("bwrap")
    if not path:
        return f"bubblewrap (bwrap) is not installed; {BWRAP_INSTALL_HINT}"
    try:
        probe = subprocess.run([path, "--unshare-all", "--die-with-parent", "--ro-bind", "/", "/", "true"],
                               capture_output=True, text=True, timeout=20)
    except (OSError, subprocess.TimeoutExpired) as err:
        return f"bwrap did not run ({err})"
    if probe.returncode != 0:
        return (f"bwrap cannot create namespaces here ({probe.stderr.strip()[:200]}); user namespaces may be "
                f"disabled (sysctl kernel.unprivileged_userns_clone or user.max_user_namespaces)")
    return None


def sandbox_problem() -> str | None:
    """None when sandboxing works here; otherwise what is missing and how to fix it."""
    return _bwrap_failure()


# ---------------------------------------------------------------------------- cgroups

def _own_cgroup(controller: str | None) -> str | None:
    """This process's cgroup path for a v1 controller (or the v2 path when ``controller`` is None)."""
    try:
        lines = Path("/proc/self/cgroup").read_text().splitlines()
    except OSError:
        return None
    for line in lines:
        _, names, path = line.split(":", 2)
        if (controller is None and names == "") or (controller and controller in names.split(",")):
            return path
    return None


class _Cgroup:
    """One cgroup (v2) or a pair of them (v1 memory + pids) holding every process of a sandbox."""

    def __init__(self, spec: SandboxSpec):
        self.spec = spec
        self.kind, self.dirs = "polling", []
        name = f"labkit-{uuid.uuid4().hex[:12]}"
        try:
            if (CGROUP_ROOT / "cgroup.controllers").exists():
                self._make_v2(name)
            elif (CGROUP_ROOT / "memory").is_dir() and (CGROUP_ROOT / "pids").is_dir():
                self._make_v1(name)
        except OSError:
            self.remove()
            self.kind, self.dirs = "polling", []

    def _make_v2(self, name: str) -> None:
        parent = CGROUP_ROOT / (_own_cgroup(None) or "/").lstrip("/")
        if not {"memory", "pids"} <= set((parent / "cgroup.subtree_control").read_text().split()):
            (parent / "cgroup.subtree_control").write_text("+memory +pids")
        group = parent / name
        group.mkdir()
        self.dirs = [group]
        (group / "memory.max").write_text(str(self.spec.memory_mb * 2**20))
        if (group / "memory.swap.max").exists():
            (group / "memory.swap.max").write_text("0")
        (group / "pids.max").write_text(str(self.spec.max_processes))
        self.kind = "cgroup v2"

    def _make_v1(self, name: str) -> None:
        for controller in ("memory", "pids"):
            parent = CGROUP_ROOT / controller / (_own_cgroup(controller) or "/").lstrip("/")
            if not parent.is_dir():
                parent = CGROUP_ROOT / controller
            group = parent / name
            group.mkdir()
            self.dirs.append(group)
        memory, pids = self.dirs
        limit = str(self.spec.memory_mb * 2**20)
        (memory / "memory.limit_in_bytes").write_text(limit)
        if (memory / "memory.memsw.limit_in_bytes").exists():
            try:
                (memory / "memory.memsw.limit_in_bytes").write_text(limit)
            except OSError:
                pass
        (memory / "memory.swappiness").write_text("0") if (memory / "memory.swappiness").exists() else None
        (pids / "pids.max").write_text(str(self.spec.max_processes))
        self.kind = "cgroup v1"

    def procs_files(self) -> list[str]:
        return [str(d / "cgroup.procs") for d in self.dirs]

    def _read(self, name: str) -> str:
        for d in self.dirs:
            if (d / name).exists():
                try:
                    return (d / name).read_text()
                except OSError:
                    return ""
        return ""

    def _events(self, name: str) -> dict[str, int]:
        pairs = (line.split() for line in self._read(name).splitlines())
        return {p[0]: int(p[1]) for p in pairs if len(p) == 2 and p[1].lstrip("-").isdigit()}

    def exceeded(self) -> str | None:
        if self.kind == "cgroup v2":
            if self._events("memory.events").get("oom_kill", 0) or self._events("memory.events").get("oom", 0):
                return "memory-exceeded"
            if self._events("pids.events").get("max", 0):
                return "process-limit"
        elif self.kind == "cgroup v1":
            control = self._events("memory.oom_control")
            if control.get("oom_kill", 0) or control.get("under_oom", 0):
                return "memory-exceeded"
            if self._events("pids.events").get("max", 0):
                return "process-limit"
        return None

    def peak_mb(self) -> float | None:
        text = self._read("memory.peak" if self.kind == "cgroup v2" else "memory.max_usage_in_bytes").strip()
        return round(int(text) / 2**20, 1) if text.isdigit() else None

    def pids(self) -> list[int]:
        found = set()
        for d in self.dirs:
            try:
                found |= {int(p) for p in (d / "cgroup.procs").read_text().split()}
            except OSError:
                pass
        return sorted(found)

    def kill_all(self) -> None:
        if self.kind == "cgroup v2" and (self.dirs[0] / "cgroup.kill").exists():
            try:
                (self.dirs[0] / "cgroup.kill").write_text("1")
            except OSError:
                pass
        for _ in range(100):  # v1 (or v2 without cgroup.kill): kill until nothing is left
            pids = self.pids()
            if not pids:
                return
            for pid in pids:
                try:
                    os.kill(pid, signal.SIGKILL)
                except OSError:
                    pass
            time.sleep(0.02)

    def remove(self) -> None:
        for d in reversed(self.dirs):
            for _ in range(50):
                try:
                    d.rmdir()
                    break
                except FileNotFoundError:
                    break
                except OSError:
                    time.sleep(0.05)


# ---------------------------------------------------------------------------- the sandbox

class Sandbox:
    """One sandbox: created, used for one kernel, torn down."""

    def __init__(self, spec: SandboxSpec, connection_dir: str):
        self.spec = spec
        self.connection_dir = connection_dir
        self._cgroup = _Cgroup(spec)
        self.limits_kind = self._cgroup.kind
        self._polled_over = False
        self._launcher_pid: int | None = None
        self._closed = threading.Event()

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
        python = {os.path.realpath(sys.prefix), os.path.realpath(sys.base_prefix), sys.prefix, sys.base_prefix}
        for path in sorted(python):
            if not path.startswith("/usr/"):
                args += ["--ro-bind", path, path]
        size = str(self.spec.disk_mb * 2**20)
        args += ["--proc", "/proc", "--dev", "/dev",
                 "--size", size, "--tmpfs", "/tmp",
                 "--size", size, "--tmpfs", "/dev/shm",
                 "--size", size, "--tmpfs", HOME,
                 "--dir", self.spec.workdir]
        for host, inside in self.spec.readonly_binds:
            args += ["--ro-bind", host, inside]
        args += ["--bind", self.connection_dir, self.connection_dir, "--remount-ro", "/"]
        return args

    def _environment(self) -> list[str]:
        env = {"PATH": f"{os.path.dirname(sys.executable)}:/usr/local/bin:/usr/bin:/bin", "HOME": HOME,
               "USER": "student", "LOGNAME": "student", "LANG": "C.UTF-8", "TMPDIR": "/tmp",
               "IPYTHONDIR": f"{HOME}/.ipython", "JUPYTER_CONFIG_DIR": f"{HOME}/.jupyter",
               "JUPYTER_DATA_DIR": f"{HOME}/.local/share/jupyter",
               "JUPYTER_RUNTIME_DIR": f"{HOME}/.local/share/jupyter/runtime",
               "MPLCONFIGDIR": f"{HOME}/.config/matplotlib", "PYTHONDONTWRITEBYTECODE": "1",
               "JUPYTER_PLATFORM_DIRS": "1", **dict(self.spec.env)}
        args = ["--clearenv"]
        for name, value in env.items():
            args += ["--setenv", name, value]
        return args

    def wrap(self, argv: list[str]) -> list[str]:
        """The command line that runs ``argv`` inside the sandbox (joining the cgroup first)."""
        bwrap = find_bwrap()
        if bwrap is None:
            raise RuntimeError(f"no sandbox: {sandbox_problem()}")
        inner = [bwrap, "--unshare-all", "--die-with-parent", "--new-session", "--uid", "1000", "--gid", "1000",
                 "--hostname", "sandbox", "--cap-drop", "ALL", *self._filesystem(), *self._environment(),
                 "--chdir", self.spec.workdir, "--", *argv]
        procs = self._cgroup.procs_files()
        if not procs:
            return inner
        join = 'for f; do [ "$f" = -- ] && break; echo $$ > "$f" || exit 125; done; ' \
               'while [ "$1" != -- ]; do shift; done; shift; exec "$@"'
        return ["/bin/sh", "-c", join, "sh", *procs, "--", *inner]

    # -- watching and ending it

    def started(self, pid: int) -> None:
        """Note the launcher's pid; under polling limits, start the watchdog."""
        self._launcher_pid = pid
        if self.limits_kind == "polling":
            threading.Thread(target=self._watch, daemon=True).start()

    def _family(self) -> list:
        import psutil

        if self._launcher_pid is None:
            return []
        try:
            root = psutil.Process(self._launcher_pid)
            return [root] + root.children(recursive=True)
        except psutil.Error:
            return []

    def _watch(self) -> None:
        while not self._closed.wait(0.5):
            family = self._family()
            rss = 0
            for proc in family:
                try:
                    rss += proc.memory_info().rss
                except Exception:
                    pass
            if len(family) > self.spec.max_processes or rss > self.spec.memory_mb * 2**20:
                self._polled_over = "process-limit" if len(family) > self.spec.max_processes else "memory-exceeded"
                self.kill_all()
                return

    def exceeded(self) -> str | None:
        """"memory-exceeded" or "process-limit" when the sandbox hit a cap, else None."""
        return self._cgroup.exceeded() or (self._polled_over or None)

    def peak_memory_mb(self) -> float | None:
        return self._cgroup.peak_mb()

    def kill_all(self) -> None:
        """Kill every process in the sandbox (it may be called any number of times)."""
        if self._cgroup.dirs:
            self._cgroup.kill_all()
        for proc in reversed(self._family()):
            try:
                proc.kill()
            except Exception:
                pass

    def close(self) -> None:
        """Kill everything inside and remove the cgroup and the socket folder."""
        if self._closed.is_set():
            return
        self._closed.set()
        self.kill_all()
        self._cgroup.remove()
        shutil.rmtree(self.connection_dir, ignore_errors=True)


class SandboxedKernelManager(AsyncKernelManager):
    """A kernel manager whose kernel runs inside a Sandbox, over IPC sockets in a private folder."""

    def __init__(self, spec: SandboxSpec | None = None, **kwargs):
        connection_dir = tempfile.mkdtemp(prefix="labkit-kernel-")
        kwargs.setdefault("transport", "ipc")
        kwargs.setdefault("ip", os.path.join(connection_dir, "kernel-ipc"))
        kwargs.setdefault("connection_file", os.path.join(connection_dir, "kernel.json"))
        super().__init__(**kwargs)
        self.sandbox = Sandbox(spec or SandboxSpec(), connection_dir)

    def format_kernel_cmd(self, extra_arguments=None):
        return self.sandbox.wrap(super().format_kernel_cmd(extra_arguments))

    async def _async_launch_kernel(self, kernel_cmd, **kw):
        kw.pop("cwd", None)  # the sandbox sets its own working folder
        kw.setdefault("stdout", subprocess.DEVNULL)  # the kernel's own banner and logs; outputs go over IPC
        kw.setdefault("stderr", subprocess.DEVNULL)
        await super()._async_launch_kernel(kernel_cmd, **kw)
        process = getattr(self.provisioner, "process", None)
        if process is not None:
            self.sandbox.started(process.pid)

    _launch_kernel = _async_launch_kernel

    async def _async_interrupt_kernel(self):
        # A signal to the launcher would stop at bwrap; ipykernel's interrupt_request reaches the kernel.
        if self.has_kernel:
            msg = self.session.msg("interrupt_request", content={})
            self._connect_control_socket()
            self.session.send(self._control_socket, msg)

    interrupt_kernel = _async_interrupt_kernel

    async def _async_kill_kernel(self, restart: bool = False):
        self.sandbox.kill_all()
        try:
            await super()._async_kill_kernel(restart=restart)
        except Exception:
            pass

    _kill_kernel = _async_kill_kernel

    def close_sandbox(self) -> None:
        self.sandbox.close()
