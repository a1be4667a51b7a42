"""Kernels started at the same moment from one folder each get their own sockets and both answer."""

import asyncio
import os

from labkit.kernels import IPCKernelManager


def test_each_kernel_manager_keeps_its_sockets_in_a_folder_of_its_own(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    a, b = IPCKernelManager(kernel_name="python3"), IPCKernelManager(kernel_name="python3")
    assert a.transport == b.transport == "ipc"
    assert os.path.dirname(a.ip) != os.path.dirname(b.ip)
    assert not a.ip.startswith(str(tmp_path)) and os.path.isabs(a.ip)


async def _start_run_stop(km):
    await km.start_kernel()
    client = km.client()
    client.start_channels()
    try:
        await client.wait_for_ready(timeout=60)
        reply = await client.execute_interactive("x = 6 * 7", timeout=60)
        return reply["content"]["status"]
    finally:
        client.stop_channels()
        await km.shutdown_kernel(now=True)


def test_two_kernels_started_together_from_one_folder_both_run_code(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    managers = [IPCKernelManager(kernel_name="python3") for _ in range(2)]

    async def both():
        return await asyncio.gather(*(_start_run_stop(km) for km in managers))

    assert asyncio.run(both()) == ["ok", "ok"]
    assert not any(os.path.exists(os.path.dirname(km.ip)) for km in managers), "socket folders left behind"
