"""The production dispatcher: bundles go to runners over the mTLS tunnel server."""

from __future__ import annotations

from contract.bundles import Bundle
from reconciler.dispatch import DispatchError
from tunnel.pki.identity import IdentityError, RunnerIdentity
from tunnel.server import TunnelServer


class TunnelDispatcher:
    """Adapts `TunnelServer.send_bundle` to the reconciler's `Dispatcher` interface.

    The server queues per runner and delivers at least once across reconnects, so an offline
    runner is not an error here; a runner that does not serve the environment is.
    """

    def __init__(self, server: TunnelServer) -> None:
        self.server = server

    async def dispatch(self, org: str, runner: str, bundle: Bundle) -> None:
        try:
            await self.server.send_bundle(RunnerIdentity(org, runner), bundle)
        except (IdentityError, PermissionError) as exc:
            raise DispatchError(str(exc)) from exc
