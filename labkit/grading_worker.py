"""Runs one prepared notebook in a fresh kernel and says, cell by cell, how each ended.

The grader keeps a pool of these worker processes, started once with nbclient already imported,
and hands each a notebook at a time: the notebook client runs here, outside the sandbox, and only
the kernel runs inside it (``labkit.sandbox``). Each code cell ends ``ok``, ``error``,
``timed-out`` (it ran past the per-cell limit and was interrupted; later cells still run),
``kernel-died`` or ``not-run``; a kernel that ignores the interrupt is killed and the cells after it
do not run. Every output is capped as it arrives (count, text, images, JSON), and comm messages
(widgets) are ignored, so a flood of output cannot exhaust the grader.
"""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import time
from dataclasses import dataclass, field

import zmq
from jupyter_client.asynchronous import AsyncKernelClient
from nbclient import NotebookClient
from nbclient.exceptions import CellTimeoutError, DeadKernelError

GRACE_SECONDS = 5  # how long an interrupted kernel has to answer before it is killed
MAX_MIME_TYPES = 8  # per output: one result in a few forms (text, HTML, one image, JSON); more are dropped
MAX_MESSAGE_BYTES = 64 * 2**20  # one message from the kernel (decoding costs ~3x its size here, outside the sandbox)


@dataclass(frozen=True)
class Caps:
    """Limits on what one cell's outputs may hold in the stored notebook."""
    outputs_per_cell: int = 100
    text_bytes: int = 100_000        # per text output (stream, text/*, traceback, JSON)
    image_bytes: int = 2_000_000     # per image
    metadata_bytes: int = 10_000     # per output's metadata


@dataclass
class Job:
    notebook: dict
    cell_timeout: float
    timeout: float
    sandbox: dict | None              # labkit.sandbox.SandboxSpec fields, or None to run unsandboxed
    env: dict = field(default_factory=dict)
    caps: Caps = field(default_factory=Caps)


def _cut(text: str, limit: int) -> tuple[str, bool]:
    data = text.encode("utf-8", "replace")
    if len(data) <= limit:
        return text, False
    return data[:limit].decode("utf-8", "ignore") + f"\n[... the grader cut {len(data) - limit:,} bytes ...]\n", True


def cap_output(out: dict, caps: Caps) -> tuple[dict | None, bool]:
    """The output within the caps (or None to drop it), and whether anything was cut."""
    cut_any = False
    # each cap is per MIME type or per field: many types, a long error or stream name would hold far more
    if "ename" in out:
        out["ename"], cut = _cut(str(out["ename"]), 200)
        cut_any |= cut
    if out.get("output_type") == "stream" and out.get("name") not in ("stdout", "stderr"):
        out["name"], cut_any = "stdout", True
    data = out.get("data")
    if isinstance(data, dict):
        ranked = sorted(data, key=lambda m: (m != "text/plain", not m.startswith("application/vnd.labkit")))
        images = [m for m in ranked if m.startswith("image/")]
        keep = [m for m in ranked if not m.startswith("image/")][: MAX_MIME_TYPES - 1] + images[:1]
        for mime in [m for m in data if m not in keep]:
            data.pop(mime)
            cut_any = True
    if len(json.dumps(out.get("metadata", {}), default=str)) > caps.metadata_bytes:
        out["metadata"], cut_any = {}, True
    if "text" in out:
        text = "".join(out["text"]) if isinstance(out["text"], list) else str(out["text"])
        out["text"], cut = _cut(text, caps.text_bytes)
        cut_any |= cut
    if "traceback" in out:
        joined, cut = _cut("\n".join(map(str, out["traceback"])), caps.text_bytes)
        out["traceback"] = [joined] if cut else out["traceback"]
        out["evalue"] = _cut(str(out.get("evalue", "")), 2_000)[0]
        cut_any |= cut
    for mime, value in list(out.get("data", {}).items()):
        if mime.startswith("image/"):
            if len(str(value)) > caps.image_bytes:
                out["data"].pop(mime)
                out["data"]["text/plain"] = f"[an image of {len(str(value)):,} bytes, too large to keep]"
                cut_any = True
        else:
            text = value if isinstance(value, str) else json.dumps(value, default=str)
            if len(text.encode("utf-8", "replace")) > caps.text_bytes:
                out["data"][mime] = _cut(text, caps.text_bytes)[0] if isinstance(value, str) else (
                    "[a JSON output too large to keep]")
                cut_any = True
    return out, cut_any


class CappedClient(NotebookClient):
    """nbclient's client with per-cell outcomes, capped outputs and no widget state."""

    def __init__(self, nb, km, caps: Caps, **kw):
        super().__init__(nb, km=km, **kw)
        self.caps = caps
        self.replies: dict[int, str] = {}
        self.timed_out: set[int] = set()
        self.cut_cells: set[int] = set()
        self.current = -1
        self.on_cell_executed = self._note_reply

    def _note_reply(self, cell, cell_index, execute_reply):
        content = (execute_reply or {}).get("content", {})
        self.replies[cell_index] = content.get("status", "none") if isinstance(content, dict) else "none"

    async def _async_handle_timeout(self, timeout, cell=None):
        self.timed_out.add(self.current)
        return await super()._async_handle_timeout(timeout, cell)

    def output(self, outs, msg, display_id, cell_index):
        if len(outs) >= self.caps.outputs_per_cell:
            self.cut_cells.add(cell_index)
            return None
        out = super().output(outs, msg, display_id, cell_index)
        if out is not None:
            _, cut = cap_output(out, self.caps)
            if cut:
                self.cut_cells.add(cell_index)
        return out

    def _update_display_id(self, display_id, msg):
        return None  # an update could rewrite an earlier cell's output; graded outputs stay as emitted

    def handle_comm_msg(self, outs, msg, cell_index):
        return None


class CappedKernelClient(AsyncKernelClient):
    """A kernel client whose sockets drop any message over MAX_MESSAGE_BYTES before it is read.

    Outputs are capped only once decoded, and this process is in no sandbox's cgroup: without the
    limit one huge message would cost the worker several times the kernel's own memory cap.
    """

    def _context_default(self):
        context = super()._context_default()
        context.setsockopt(zmq.MAXMSGSIZE, MAX_MESSAGE_BYTES)
        return context


def make_kernel_manager(job: Job):
    """A kernel manager for the job, and the arguments its kernel starts with.

    Sandboxed (labkit.sandbox), or, with ``--no-sandbox``, a local kernel in a fresh folder with the
    same cleared environment.
    """
    if job.sandbox is not None:
        from labkit.sandbox import SandboxedKernelManager, SandboxSpec

        km = SandboxedKernelManager(spec=SandboxSpec(**job.sandbox), kernel_name="python3")
        km.client_factory = CappedKernelClient
        return km, {}
    import tempfile

    from labkit.kernels import IPCKernelManager

    workdir = tempfile.mkdtemp(prefix="labkit-unsandboxed-")
    sockets = tempfile.mkdtemp(prefix="labkit-kernel-")  # absolute socket paths: the kernel's cwd differs
    km = IPCKernelManager(kernel_name="python3", ip=os.path.join(sockets, "kernel-ipc"))
    km.client_factory = CappedKernelClient
    return km, {"env": {**job.env, "HOME": workdir}, "cwd": workdir, "stdout": subprocess.DEVNULL,
                "stderr": subprocess.DEVNULL}


async def _responsive(client, seconds: float) -> bool:
    """Whether the kernel, after an interrupt, runs a trivial cell within ``seconds``.

    Execution requests queue behind the interrupted cell, so a reply means that cell has ended
    (a kernel_info request would not tell: ipykernel may answer it while a cell still runs).
    """
    from jupyter_core.utils import ensure_async

    msg_id = client.kc.execute("None", silent=True, store_history=False)
    deadline = time.monotonic() + seconds
    while (left := deadline - time.monotonic()) > 0:
        try:
            msg = await ensure_async(client.kc.shell_channel.get_msg(timeout=left))
        except Exception:
            return False
        if msg.get("parent_header", {}).get("msg_id") == msg_id:
            return True
    return False


async def _execute(job: Job, km, start_args: dict) -> dict:
    import nbformat

    nb = nbformat.reads(json.dumps(job.notebook), as_version=4)  # joins multi-line sources
    client = CappedClient(nb, km, job.caps, timeout=max(1, int(job.cell_timeout)), allow_errors=True,
                          interrupt_on_timeout=True, kernel_name="python3", store_widget_state=False,
                          error_on_timeout={"ename": "CellTimeout", "evalue": f"the cell ran past the "
                                            f"{job.cell_timeout:g} s limit and was interrupted", "traceback": []},
                          iopub_timeout=GRACE_SECONDS, record_timing=False)
    statuses = ["skipped" if c.cell_type != "code" or not c.source.strip() else "not-run" for c in nb.cells]
    outcome = {"status": "completed", "error": None}
    start = time.monotonic()
    try:
        async with client.async_setup_kernel(**start_args):
            started = time.monotonic()
            outcome["kernel_start_seconds"] = round(started - start, 2)
            for index, cell in enumerate(nb.cells):
                if statuses[index] == "skipped":
                    continue
                left = job.timeout - (time.monotonic() - started)
                if left < 1:
                    outcome = {**outcome, "status": "timed-out",
                               "error": f"the notebook ran past its {job.timeout:g} s limit"}
                    break
                client.timeout = max(1, int(min(job.cell_timeout, left)))
                client.current = index
                try:
                    await client.async_execute_cell(cell, index, execution_count=client.code_cells_executed + 1)
                except DeadKernelError:
                    statuses[index] = "kernel-died"
                    outcome = {**outcome, "status": "kernel-died",
                               "error": "the kernel died (the code exited or crashed)"}
                    break
                except CellTimeoutError:
                    client.timed_out.add(index)
                if index in client.timed_out:
                    statuses[index] = "timed-out"
                    if not await _responsive(client, GRACE_SECONDS):
                        outcome = {**outcome, "status": "timed-out",
                                   "error": f"a cell ignored the interrupt after {client.timeout} s; "
                                            f"the kernel was stopped"}
                        break
                else:
                    statuses[index] = "ok" if client.replies.get(index) == "ok" else "error"
                problem = _limit_hit(km)
                if problem:
                    outcome = {**outcome, **problem}
                    break
    except DeadKernelError:
        outcome = {**outcome, "status": "kernel-died", "error": "the kernel died before the notebook ran"}
    except Exception as err:  # the kernel did not start, or the client failed: still a report
        outcome = {**outcome, "status": "failed", "error": f"{type(err).__name__}: {' '.join(str(err).split())[:300]}"}
    finally:
        problem = _limit_hit(km)
        # a kernel the sandbox stopped for a limit did not answer for that reason, not for its time
        if problem and outcome["status"] in ("completed", "kernel-died", "failed", "timed-out"):
            outcome.update(problem)
        peak = getattr(getattr(km, "sandbox", None), "peak_memory_mb", lambda: None)()
        await _shutdown(km)
    outcome.update(cells=statuses, notebook=dict(nb), cut_cells=sorted(client.cut_cells), peak_mb=peak,
                   execution_seconds=round(time.monotonic() - start, 2))
    return outcome


async def _shutdown(km) -> None:
    """Stop the kernel for good (the sandboxed manager also kills everything it started)."""
    from jupyter_core.utils import ensure_async

    try:
        if km.has_kernel:
            await ensure_async(km.shutdown_kernel(now=True))
    except Exception:
        pass
    sandbox = getattr(km, "sandbox", None)
    if sandbox is not None:
        sandbox.close()


def _limit_hit(km) -> dict | None:
    sandbox = getattr(km, "sandbox", None)
    which = sandbox.exceeded() if sandbox is not None else None
    if which == "memory-exceeded":
        return {"status": which, "error": f"used more than {sandbox.spec.memory_mb} MB of memory and was stopped"}
    if which == "process-limit":
        return {"status": which, "error": f"started more than {sandbox.spec.max_processes} processes and was stopped"}
    if which == "disk-exceeded":
        return {"status": which, "error": "wrote files into the kernel's connection folder and was stopped"}
    return None


def run(job: Job) -> dict:
    """Execute the job's notebook; always returns an outcome (see the module docstring)."""
    km, start_args = make_kernel_manager(job)
    return asyncio.run(_execute(job, km, start_args))


def warm_up() -> None:
    """Import what a job needs, so the first submission a worker takes does not pay for it."""
    import nbformat  # noqa: F401
    from jupyter_client import KernelManager  # noqa: F401
