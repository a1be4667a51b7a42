"""The kernel manager headless runs use: local sockets (IPC) instead of TCP ports.

Kernels started at the same moment (parallel grading, several runs on one machine) can race for
the same TCP port and fail to start. IPC sockets are files, and each kernel gets its own private
folder for them: jupyter_client would otherwise name them ``kernel-ipc-1`` ... in the working
folder, so two runs started together from one folder would pick the same names and one kernel
would never answer. Nothing is sent over the network unencrypted.
"""

from __future__ import annotations

import os
import shutil
import tempfile

from jupyter_client.manager import AsyncKernelManager
from traitlets import default


class IPCKernelManager(AsyncKernelManager):
    @default("transport")
    def _default_transport(self):
        return "ipc"

    @default("ip")
    def _default_socket_prefix(self):
        self._socket_dir = tempfile.mkdtemp(prefix="labkit-ipc-")
        return os.path.join(self._socket_dir, "kernel")

    async def _async_cleanup_resources(self, restart: bool = False) -> None:
        await super()._async_cleanup_resources(restart=restart)
        if not restart and getattr(self, "_socket_dir", None):
            shutil.rmtree(self._socket_dir, ignore_errors=True)
