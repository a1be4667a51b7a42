"""The kernel manager headless runs use: local sockets (IPC) instead of TCP ports.

Kernels started at the same moment (parallel grading, several runs on one machine) can race for
the same TCP port and fail to start; IPC sockets are files with unique names, so they cannot, and
nothing is sent over the network unencrypted.
"""

from __future__ import annotations

from jupyter_client.manager import AsyncKernelManager
from traitlets import default


class IPCKernelManager(AsyncKernelManager):
    @default("transport")
    def _default_transport(self):
        return "ipc"
