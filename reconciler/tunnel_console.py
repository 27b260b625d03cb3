"""`reconciler.service.live_console.ConsoleReader` over the tunnel server's proxy channel."""

from __future__ import annotations

from contract.proxy import ProxyResponse
from tunnel.pki.identity import IdentityError, RunnerIdentity
from tunnel.server import TunnelServer


class TunnelConsoleReader:
    def __init__(self, server: TunnelServer) -> None:
        self.server = server

    def online(self, org: str, runner: str) -> bool:
        try:
            return RunnerIdentity(org, runner) in self.server.connected
        except IdentityError:
            return False

    async def read(
        self, org: str, runner: str, target: str, path: str, timeout: float
    ) -> ProxyResponse | None:
        try:
            return await self.server.proxy(RunnerIdentity(org, runner), target, path, timeout)
        except TimeoutError:
            return None
