"""The broker layer: one interface (`Broker`) and the factory that picks its implementation.

Importing this package is cheap; the SDK is imported only when a broker is opened.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ttai_cli.clock import Clock, SystemClock
from ttai_cli.config import Secret, Settings

if TYPE_CHECKING:  # the models are imported where used: importing this package stays cheap
    from ttai_cli.broker.models import Broker
    from ttai_cli.simulator.app import SimulatedTastytrade

DEMO_BASE_URL = "http://demo.ttai.invalid"
_demo_app: SimulatedTastytrade | None = None


def demo_app(clock: Clock | None = None) -> SimulatedTastytrade:
    """The in-process simulated account, one per process so that a loop's runs share
    its account (its orders and fills). Its prices need no such sharing: they are a
    function of the instant, the same in every process."""
    global _demo_app
    if _demo_app is None:
        from ttai_cli.simulator.app import SimulatedTastytrade

        clock = clock or SystemClock()
        # `ttai --demo stream` shows an order fill a little after it connects
        _demo_app = SimulatedTastytrade(now=clock.now, demo_fill_after=20.0)
    return _demo_app


def open_broker(settings: Settings, clock: Clock | None = None) -> Broker:
    """The broker for these settings: the simulated account with `--demo`, else
    tastytrade (credentials required; `TTAI_API_URL` / `TASTYTRADE_SANDBOX` honoured)."""
    from ttai_cli.broker.tastytrade import TastytradeBroker
    from ttai_cli.broker.transport import RetryPolicy

    retry = RetryPolicy(attempts=settings.api_attempts)

    if settings.demo:
        from ttai_cli.simulator.app import DEMO_ACCOUNT, DEMO_CLIENT_SECRET, DEMO_REFRESH_TOKEN
        from ttai_cli.simulator.server import in_process_transport

        return TastytradeBroker(
            client_secret=Secret(DEMO_CLIENT_SECRET),
            refresh_token=Secret(DEMO_REFRESH_TOKEN),
            account_id=DEMO_ACCOUNT,
            base_url=DEMO_BASE_URL,
            transport=in_process_transport(demo_app(clock)),
            retry=retry,
            timeout=settings.api_timeout,
        )
    secret, refresh = settings.require_credentials()
    return TastytradeBroker(
        client_secret=secret,
        refresh_token=refresh,
        account_id=settings.account_id,
        sandbox=settings.sandbox,
        base_url=settings.api_url,
        retry=retry,
        timeout=settings.api_timeout,
    )


__all__ = ["open_broker"]
