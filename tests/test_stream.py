"""`ttai stream`: alerts from ticks and notifications from order events, over the real
SDK streamers and real websockets to the simulator (tests/test_simulator_stream.py covers
the simulator itself)."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import CANARY_REFRESH, CANARY_SECRET
from tests.receiver import Receiver
from ttai_cli.alerts.rules import parse_alert
from ttai_cli.broker import open_broker
from ttai_cli.clock import SystemClock
from ttai_cli.config import load_settings
from ttai_cli.jobs.context import JobContext
from ttai_cli.jobs.stream import StreamJob
from ttai_cli.services.stream import StreamSettings
from ttai_cli.simulator.app import SimulatedTastytrade
from ttai_cli.simulator.server import RunningServer
from ttai_cli.store import Store, open_store
from ttai_cli.store.alerts import AlertsRepository

FAST = StreamSettings(
    follow_every=0.1,
    fallback_after=0.5,
    fallback_every=0.2,
    slow_every=0.5,
    health_every=0.1,
    position_debounce=0.05,
    backoff_base=0.05,
    backoff_cap=0.2,
)


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    r = Receiver().start()
    yield r
    r.stop()


@pytest.fixture
def fast_ticks(sim: SimulatedTastytrade) -> SimulatedTastytrade:
    sim.streams.tick_interval = 0.05
    return sim


class Streaming:
    """`ttai stream`'s job, run in a background event loop of this test."""

    def __init__(
        self,
        store: Store,
        server: RunningServer,
        home: Path,
        receiver: Receiver | None,
        settings: StreamSettings = FAST,
        until: Any = None,
        delivery: Any = None,
    ) -> None:
        self.until = until
        self.delivery = delivery
        env = {
            "TTAI_HOME": str(home),
            "TTAI_API_URL": server.url,
            "TASTYTRADE_CLIENT_SECRET": CANARY_SECRET,
            "TASTYTRADE_REFRESH_TOKEN": CANARY_REFRESH,
            "TTAI_NOTIFICATION_BACKEND": "webhook" if receiver else "none",
        }
        if receiver is not None:
            env["TTAI_WEBHOOK_URL"] = receiver.url
        home.mkdir(parents=True, exist_ok=True)
        self.settings = load_settings(environ=env)
        self.stream_settings = settings
        self.db_path = Path(store.db.execute("PRAGMA database_list").fetchone()[2])
        self.loop = asyncio.new_event_loop()
        self.stop_event: asyncio.Event | None = None

    def __enter__(self) -> Streaming:
        import threading

        ready = threading.Event()

        async def main() -> None:
            # the stream's own connection, in its own thread: like another process
            store = open_store(self.db_path)
            clock = SystemClock()
            context = JobContext(
                self.settings, store, clock, lambda: open_broker(self.settings, clock)
            )
            if self.delivery is not None:
                context.notifier.policy = self.delivery
            self.job = StreamJob(context, self.stream_settings, ignore_market_hours=True)
            self.stop_event = asyncio.Event()
            ready.set()
            try:
                self.report = await self.job.build_service().run(self.stop_event, self.until)
            finally:
                await context.aclose()
                store.close()

        self.thread = threading.Thread(
            target=lambda: self.loop.run_until_complete(main()), daemon=True
        )
        self.thread.start()
        assert ready.wait(5)
        return self

    def __exit__(self, *exc: object) -> None:
        assert self.stop_event is not None
        self.loop.call_soon_threadsafe(self.stop_event.set)
        self.thread.join(10)
        assert not self.thread.is_alive(), "the stream did not stop"

    @property
    def health(self) -> Any:
        return self.job.health


def wait_for(condition: Callable[[], Any], timeout: float = 5.0, what: str = "") -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(0.02)
    raise AssertionError(f"timed out waiting for {what or condition}")


def launch(*args: str, until: tuple[str, ...], timeout: float = 30) -> tuple[Any, str]:
    """`python -m ttai_cli ARGS` (notifications off), read until every line in `until` has
    appeared on its stderr; returns the process and what it printed so far."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "ttai_cli", *args],
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "TTAI_NOTIFICATION_BACKEND": "none"},
    )
    assert proc.stderr is not None
    seen = ""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and not all(text in seen for text in until):
        line = proc.stderr.readline()
        if not line:
            break
        seen += line
    assert all(text in seen for text in until), seen
    return proc, seen


def notifications(store: Store, kind: str) -> list[Any]:
    return [
        tuple(r)
        for r in store.db.execute(
            "SELECT type, title, body, data FROM notifications WHERE type = ? ORDER BY seq",
            (kind,),
        )
    ]


def add_alert(store: Store, *args: str) -> int:
    from datetime import datetime

    from ttai_cli.clock import NEW_YORK

    return AlertsRepository(store).add(parse_alert(*args), datetime.now(NEW_YORK))


def delivered(receiver: Receiver, kind: str) -> list[dict[str, Any]]:
    return [r.json() for r in list(receiver.requests) if r.json().get("notification_type") == kind]


# -- alerts from ticks ---------------------------------------------------------------------------
def test_price_alert_fires_once_from_a_tick(
    store: Store,
    fast_ticks: SimulatedTastytrade,
    sim_server: RunningServer,
    clean_env: Path,
    receiver: Receiver,
) -> None:
    fast_ticks.market.pin("AAPL", 190, 189)
    add_alert(store, "AAPL", "price", "above", "200")
    with Streaming(store, sim_server, clean_env, receiver) as stream:
        wait_for(lambda: stream.health.market.connected, what="the market stream")
        fast_ticks.market.pin("AAPL", 201, 189)
        wait_for(lambda: delivered(receiver, "alert_triggered"), what="the webhook")
        time.sleep(0.3)  # more ticks above the threshold: no second firing
    sent = delivered(receiver, "alert_triggered")
    assert len(sent) == 1
    assert sent[0]["data"]["current_price"] == 201.0
    assert len(notifications(store, "alert_triggered")) == 1


def test_change_alert_uses_the_streamed_previous_close(
    store: Store,
    fast_ticks: SimulatedTastytrade,
    sim_server: RunningServer,
    clean_env: Path,
) -> None:
    fast_ticks.market.pin("SPY", 600, 620)  # -3.2 % against the previous close
    add_alert(store, "SPY", "change", "below", "-3")
    with Streaming(store, sim_server, clean_env, None):
        wait_for(lambda: notifications(store, "alert_triggered"), what="the change alert")
    [(_, title, body, _)] = notifications(store, "alert_triggered")
    assert title == "Change Alert: SPY" and "down 3.23%" in body


def test_alert_added_by_another_process_fires_while_streaming(
    store: Store,
    fast_ticks: SimulatedTastytrade,
    sim_server: RunningServer,
    clean_env: Path,
    tmp_path: Path,
) -> None:
    fast_ticks.market.pin("TSLA", 300, 300)
    with Streaming(store, sim_server, clean_env, None) as stream:
        wait_for(lambda: stream.health.account.connected, what="the account stream")
        other = open_store(tmp_path / "test.db")  # another process's connection
        started = time.monotonic()
        add_alert(other, "TSLA", "price", "below", "310")
        other.close()
        wait_for(lambda: notifications(store, "alert_triggered"), timeout=2.0, what="firing")
        took = time.monotonic() - started
        # fired, it is no longer watched: its symbol is unsubscribed again
        wait_for(lambda: "TSLA" not in fast_ticks.streams.subscriptions().get("Trade", set()))
    assert took < 2.0


def test_removed_alert_is_unsubscribed(
    store: Store,
    fast_ticks: SimulatedTastytrade,
    sim_server: RunningServer,
    clean_env: Path,
    tmp_path: Path,
) -> None:
    first = add_alert(store, "NVDA", "price", "above", "1000")
    add_alert(store, "AMZN", "price", "above", "1000")
    with Streaming(store, sim_server, clean_env, None) as stream:
        wait_for(lambda: stream.health.market.connected, what="the market stream")
        wait_for(lambda: {"NVDA", "AMZN"} <= fast_ticks.streams.subscriptions().get("Trade", set()))
        other = open_store(tmp_path / "test.db")
        AlertsRepository(other).remove([first])
        other.close()
        wait_for(
            lambda: "NVDA" not in fast_ticks.streams.subscriptions().get("Trade", set()),
            timeout=2.0,
            what="the unsubscription",
        )
        assert "AMZN" in fast_ticks.streams.subscriptions()["Trade"]
        assert stream.health.market.reconnects == 0, "incremental, not a reconnect"


def test_crossing_during_a_dropped_connection_fires_once_after_reconnect(
    store: Store,
    fast_ticks: SimulatedTastytrade,
    sim_server: RunningServer,
    clean_env: Path,
    receiver: Receiver,
) -> None:
    fast_ticks.market.pin("AAPL", 190, 189)
    add_alert(store, "AAPL", "price", "above", "200")
    with Streaming(store, sim_server, clean_env, receiver) as stream:
        wait_for(lambda: stream.health.market.connected, what="the market stream")
        time.sleep(0.2)
        assert delivered(receiver, "alert_triggered") == [], "nothing crossed before the drop"
        fast_ticks.streams.tick_interval = 3600  # no tick but the snapshot after reconnect
        fast_ticks.market.pin("AAPL", 205, 189)
        fast_ticks.streams.drop("dxlink")
        wait_for(lambda: delivered(receiver, "alert_triggered"), what="the firing")
        assert stream.health.market.reconnects >= 1
        time.sleep(0.3)
    assert len(delivered(receiver, "alert_triggered")) == 1


def test_expired_quote_token_fetches_a_new_one(
    store: Store,
    fast_ticks: SimulatedTastytrade,
    sim_server: RunningServer,
    clean_env: Path,
) -> None:
    fast_ticks.market.pin("QQQ", 500, 500)
    add_alert(store, "QQQ", "price", "above", "510")
    with Streaming(store, sim_server, clean_env, None) as stream:
        wait_for(lambda: stream.health.market.connected, what="the market stream")
        tokens_before = len(fast_ticks.requests_to("/api-quote-tokens"))
        fast_ticks.streams.expire_quote_tokens()
        wait_for(lambda: stream.health.market.reconnects >= 1, what="a reconnect")
        wait_for(lambda: stream.health.market.connected, what="connected again")
        fast_ticks.market.pin("QQQ", 511, 500)
        wait_for(lambda: notifications(store, "alert_triggered"), what="the firing")
    assert len(fast_ticks.requests_to("/api-quote-tokens")) > tokens_before


def test_no_rest_quote_request_while_the_stream_is_healthy(
    store: Store,
    fast_ticks: SimulatedTastytrade,
    sim_server: RunningServer,
    clean_env: Path,
) -> None:
    add_alert(store, "AAPL", "price", "above", "100000")
    add_alert(store, "SPY", "change", "above", "50")
    with Streaming(store, sim_server, clean_env, None) as stream:
        wait_for(lambda: stream.health.market.connected, what="the market stream")
        wait_for(lambda: stream.health.market.events > 20, what="ticks")
        time.sleep(1.0)  # two fallback periods
    assert fast_ticks.requests_to("/market-data") == []


def test_fallback_polling_starts_after_the_stream_is_down_and_stops_when_it_is_back(
    store: Store,
    fast_ticks: SimulatedTastytrade,
    sim_server: RunningServer,
    clean_env: Path,
) -> None:
    fast_ticks.market.pin("AAPL", 190, 189)
    add_alert(store, "AAPL", "price", "above", "200")
    add_alert(store, "AAPL", "price", "above", "100000")  # keeps AAPL watched after the firing
    with Streaming(store, sim_server, clean_env, None) as stream:
        wait_for(lambda: stream.health.market.connected, what="the market stream")
        for _ in range(1000):  # no new quote token: DXLink stays down
            fast_ticks.faults.add("status", "/api-quote-tokens", status=503)
        fast_ticks.streams.drop("dxlink")
        wait_for(lambda: stream.health.fallback_polling, what="fallback polling")
        wait_for(lambda: fast_ticks.requests_to("/market-data"), what="a REST quote request")
        fast_ticks.market.pin("AAPL", 201, 189)
        wait_for(lambda: notifications(store, "alert_triggered"), what="firing by polling")
        fast_ticks.faults.clear()
        wait_for(lambda: stream.health.market.connected, what="the stream back")
        wait_for(lambda: not stream.health.fallback_polling, what="polling stopped")
        polled = len(fast_ticks.requests_to("/market-data"))
        time.sleep(0.6)
        assert len(fast_ticks.requests_to("/market-data")) == polled
    assert len(notifications(store, "alert_triggered")) == 1


def test_delta_alert_fires_from_streamed_greeks(
    store: Store,
    fast_ticks: SimulatedTastytrade,
    sim_server: RunningServer,
    clean_env: Path,
) -> None:
    add_alert(store, "TSLA", "delta", "above", "0.01")
    with Streaming(store, sim_server, clean_env, None):
        wait_for(lambda: notifications(store, "alert_triggered"), what="the delta alert")
    [(_, title, _, _)] = notifications(store, "alert_triggered")
    assert title == "Delta Alert: TSLA"
    assert fast_ticks.requests_to("/market-data") == []


# -- orders from the account streamer --------------------------------------------------------------
def _short_iwm_put(sim: SimulatedTastytrade) -> str:
    """The demo book's short put, two contracts (its IWM put credit spread)."""
    return next(
        s for s, p in sim.account.positions.items() if s.startswith("IWM") and p.quantity < 0
    )


def _filled_order(sim: SimulatedTastytrade, order_id: int = 4242) -> dict[str, Any]:
    from ttai_cli.simulator.streams import sim_order

    return sim_order(
        sim,
        "Filled",
        order_id=order_id,
        legs=[(_short_iwm_put(sim), "Buy to Close", 2, "0.40")],
        underlying="IWM",
    )


def test_filled_order_notifies_once_even_if_delivered_twice_or_restarted(
    store: Store,
    fast_ticks: SimulatedTastytrade,
    sim_server: RunningServer,
    clean_env: Path,
    receiver: Receiver,
) -> None:
    fast_ticks.streams.repeat_account_events = True
    order = _filled_order(fast_ticks)
    with Streaming(store, sim_server, clean_env, receiver) as stream:
        wait_for(lambda: stream.health.account.connected, what="the account stream")
        fast_ticks.streams.order_event(order)
        wait_for(lambda: delivered(receiver, "order_filled"), what="order_filled")
        time.sleep(0.2)
    with Streaming(store, sim_server, clean_env, receiver) as stream:  # a restart
        wait_for(lambda: stream.health.account.connected, what="the account stream")
        fast_ticks.streams.order_event(order)
        wait_for(lambda: stream.health.account.events >= 2, what="the repeated event")
        time.sleep(0.2)
    [sent] = delivered(receiver, "order_filled")
    assert sent["title"] == "Order filled: IWM"
    assert sent["data"]["order_id"] == 4242 and sent["data"]["status"] == "Filled"
    [leg] = sent["data"]["legs"]
    assert leg["action"] == "Buy to Close" and leg["quantity"] == 2 and leg["fill_price"] == 0.4
    assert "at $0.40" in sent["body"]


def test_each_order_status_is_notified_once(
    store: Store,
    fast_ticks: SimulatedTastytrade,
    sim_server: RunningServer,
    clean_env: Path,
) -> None:
    from ttai_cli.simulator.streams import sim_order

    with Streaming(store, sim_server, clean_env, None) as stream:
        wait_for(lambda: stream.health.account.connected, what="the account stream")
        for status in ("Received", "Live", "Cancelled", "Cancelled"):
            fast_ticks.streams.order_event(
                sim_order(
                    fast_ticks,
                    status,
                    order_id=7,
                    legs=[("AAPL", "Buy to Open", 10, None)],
                    underlying="AAPL",
                )
            )
        wait_for(lambda: stream.health.account.events >= 4, what="four events")
        time.sleep(0.2)
    assert [r[0] for r in notifications(store, "order_cancelled")] == ["order_cancelled"]
    assert notifications(store, "order_filled") == []


# -- the command ---------------------------------------------------------------------------------------
def test_stream_without_credentials_is_exit_2(ttai: Any) -> None:
    result = ttai("stream")
    assert result.code == 2 and "Traceback" not in result.err
    assert len(result.err.strip().splitlines()) == 1


def test_stream_with_streaming_turned_off_is_exit_2(
    ttai: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TTAI_STREAMING", "0")
    result = ttai("--demo", "stream")
    assert result.code == 2 and "turned off by TTAI_STREAMING" in result.err


def test_stream_for_an_account_that_is_not_there_is_exit_2(
    ttai: Any, broker_env: RunningServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TASTYTRADE_ACCOUNT_ID", "5WX99999")
    result = ttai("stream", "--ignore-market-hours")
    assert result.code == 2 and "5WX99999" in result.err
    assert "Traceback" not in result.err


def test_sigterm_stops_the_stream_with_exit_0(
    broker_env: RunningServer, clean_env: Path, ttai: Any, sim: SimulatedTastytrade
) -> None:
    sim.streams.tick_interval = 0.05
    assert ttai("alerts", "add", "AAPL", "above", "100000").code == 0  # DXLink connected too
    proc, _ = launch(
        "stream",
        "--ignore-market-hours",
        until=("account stream connected", "market stream connected"),
    )
    time.sleep(0.3)  # ticks flowing
    started = time.monotonic()
    proc.send_signal(signal.SIGTERM)
    code = proc.wait(timeout=10)
    assert code == 0
    assert time.monotonic() - started < 5
    rest = proc.stderr.read()
    assert "stopped cleanly" in rest and "Traceback" not in rest


# -- units ----------------------------------------------------------------------------------------------
def test_backoff_first_retry_within_a_second_and_capped_at_30s() -> None:
    import random

    from ttai_cli.streaming.backoff import Backoff

    backoff = Backoff(rng=random.Random(1))
    delays = [backoff.next_delay() for _ in range(12)]
    assert delays[0] <= 1.0
    assert max(delays) <= 30.0 and delays[-1] >= 15.0
    backoff.reset()
    assert backoff.next_delay() <= 1.0


def test_malformed_events_are_counted_and_skipped() -> None:
    from ttai_cli.streaming.health import FeedHealth
    from ttai_cli.streaming.market import MarketFeed, _hardened_streamer_class

    ticks: list[Any] = []

    async def no_session() -> Any:
        return None

    health = FeedHealth("market")
    feed = MarketFeed(no_session, ticks.append, health, SystemClock())
    streamer = _hardened_streamer_class()(None)
    streamer.feed = feed
    trade = streamer._channels["Trade"]
    streamer._map_message(["Trade", ["AAPL", 0, 1]], trade)  # wrong number of values
    streamer._map_message(["Trade", "not a list"], trade)
    streamer._map_message([{"eventSymbol": "AAPL"}], trade)  # FULL format, fields missing
    assert health.malformed == 3 and ticks == []


def test_partial_fills_are_keyed_by_filled_quantity() -> None:
    from ttai_cli.services.orders import order_notification_type
    from ttai_cli.streaming.events import OrderEvent, OrderLeg

    leg = OrderLeg("AAPL", "Buy to Open", Decimal(10), Decimal("190.5"))
    live = OrderEvent("5WT00001", 1, "Live", "AAPL", "Limit", (leg,), Decimal(4), Decimal(6))
    assert order_notification_type(live) == "order_partially_filled"
    working = OrderEvent("5WT00001", 1, "Live", "AAPL", "Limit", (leg,), Decimal(0), Decimal(10))
    assert order_notification_type(working) is None


def test_daemon_alerts_job_skips_while_the_stream_is_healthy_and_resumes_when_down(
    store: Store, clean_env: Path
) -> None:
    from datetime import datetime

    from tests.fakes import FakeClock
    from ttai_cli.clock import NEW_YORK
    from ttai_cli.jobs.alerts import AlertsCheckJob
    from ttai_cli.scheduling.policy import Policy
    from ttai_cli.streaming.health import StreamHealth

    clock = FakeClock(datetime(2026, 12, 1, 10, 0, tzinfo=NEW_YORK))
    settings = load_settings(environ={"TTAI_HOME": str(clean_env)})
    context = JobContext(settings, store, clock, lambda: open_broker(settings, clock))
    job = AlertsCheckJob(context)
    policy = Policy(job.name, None, None, defer=job.defer_reason)
    assert policy.decide(clock.now()).run, "no stream in this process: poll"
    context.stream_health = StreamHealth.new(clock)
    context.stream_health.running = True
    context.stream_health.market.up(clock.now())
    decision = policy.decide(clock.now())
    assert (
        not decision.run and decision.reason == "prices are streamed (the stream job is connected)"
    )
    context.stream_health.market.down(clock.now(), "dropped")
    clock.advance(10)
    assert not policy.decide(clock.now()).run, "a reconnect usually takes a second: wait"
    clock.advance(25)
    assert policy.decide(clock.now()).run, "down for 30 s: polling resumes"


def test_status_shows_the_stream(
    ttai: Any, broker_env: RunningServer, sim: SimulatedTastytrade
) -> None:
    import json

    sim.streams.tick_interval = 0.05
    assert ttai("alerts", "add", "AAPL", "above", "100000").code == 0
    proc, _ = launch("stream", "--ignore-market-hours", until=("market stream connected",))
    try:
        time.sleep(1.5)
        result = ttai("status", "--json")
        streams = {s["feed"]: s for s in json.loads(result.out)["streams"]}
        assert streams["market"]["connected"] and streams["market"]["running"]
        assert streams["market"]["events"] > 0 and streams["market"]["reconnects"] == 0
        assert streams["market"]["last_event_age_s"] < 2
        assert streams["account"]["connected"]
        table = ttai("status")
        assert "stream market" in table.out and "connected since" in table.out
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(10)
    after = json.loads(ttai("status", "--json").out)["streams"]
    assert not any(s["connected"] for s in after)


def test_the_access_token_keeps_refreshing_over_a_long_run(
    store: Store, clean_env: Path, receiver: Receiver
) -> None:
    """Access tokens that live 2 s: the account stream's heartbeats (each checked by the
    simulator) keep refreshing it, and a reconnect after the first token died works."""
    import dataclasses

    from ttai_cli.simulator.server import serve
    from ttai_cli.simulator.streams import sim_order

    sim = SimulatedTastytrade(
        any_symbol=True,
        seed=11,
        client_secret=CANARY_SECRET,
        refresh_token=CANARY_REFRESH,
        token_lifetime=2,
    )
    sim.streams.tick_interval = 0.05
    sim.market.pin("AAPL", 190, 189)
    add_alert(store, "AAPL", "price", "above", "200")
    settings = dataclasses.replace(FAST, account_heartbeat=0.2)
    with serve(sim) as server, Streaming(store, server, clean_env, receiver, settings) as stream:
        wait_for(lambda: stream.health.market.connected, what="the market stream")
        time.sleep(4.5)  # two token lifetimes
        sim.streams.drop("dxlink")
        wait_for(lambda: stream.health.market.reconnects >= 1, what="a reconnect")
        wait_for(lambda: stream.health.market.connected, what="connected again")
        sim.market.pin("AAPL", 201, 189)
        wait_for(lambda: delivered(receiver, "alert_triggered"), what="the firing")
        sim.streams.order_event(
            sim_order(
                sim,
                "Filled",
                order_id=9,
                legs=[("AAPL", "Buy to Open", 1, "201")],
                underlying="AAPL",
            )
        )
        wait_for(lambda: delivered(receiver, "order_filled"), what="the fill")
        assert stream.health.account.reconnects == 0, "the heartbeats kept the token valid"
    assert len(sim.requests_to("/oauth/token")) >= 3


def test_cron_refuses_the_stream_with_what_to_use_instead(ttai: Any) -> None:
    result = ttai("cron", "stream")
    assert result.code == 2 and "tmux" in result.err and "ttai run" in result.err


def test_a_position_closed_by_a_fill_is_notified_once_whoever_sees_it(
    store: Store,
    fast_ticks: SimulatedTastytrade,
    sim_server: RunningServer,
    clean_env: Path,
    tmp_path: Path,
) -> None:
    from ttai_cli.simulator.accountdata import position_json
    from ttai_cli.simulator.streams import sim_order

    sim = fast_ticks
    put = _short_iwm_put(sim)
    with Streaming(store, sim_server, clean_env, None) as stream:
        wait_for(lambda: stream.health.account.connected, what="the account stream")
        time.sleep(0.3)  # the positions' baseline at start
        position = sim.account.positions[put]
        sim.account.trade(put, 2, "0.40", sim.now(), order_id=77)
        sim.streams.order_event(
            sim_order(
                sim,
                "Filled",
                order_id=77,
                legs=[(put, "Buy to Close", 2, "0.40")],
                underlying="IWM",
            )
        )
        sim.streams.position_event(position_json(sim, position))
        wait_for(lambda: notifications(store, "position_update"), what="the closed position")
        time.sleep(0.3)
    [(_, title, body, _)] = notifications(store, "position_update")
    assert "closed" in (title + body).lower()
    # the monitor, in another process, sees the same change: nothing new
    from ttai_cli.services.monitor import MonitorService
    from ttai_cli.store.positions import PositionsRepository

    harness = Streaming(store, sim_server, clean_env, None)
    other = open_store(tmp_path / "test.db")
    clock = SystemClock()
    context = JobContext(
        harness.settings, other, clock, lambda: open_broker(harness.settings, clock)
    )
    monitor = MonitorService(context.alerts(), PositionsRepository(other))

    async def once() -> None:
        try:
            await monitor.run()
        finally:
            await context.aclose()

    asyncio.run(once())
    other.close()
    assert len(notifications(store, "position_update")) == 1


def test_stream_disconnects_at_the_session_close(
    store: Store, fast_ticks: SimulatedTastytrade, sim_server: RunningServer, clean_env: Path
) -> None:
    from datetime import datetime, timedelta

    from ttai_cli.clock import NEW_YORK

    add_alert(store, "AAPL", "price", "above", "100000")
    close = datetime.now(NEW_YORK) + timedelta(seconds=1.5)
    stream = Streaming(store, sim_server, clean_env, None, until=close)
    with stream:
        wait_for(lambda: stream.health.market.connected, what="the market stream")
        stream.thread.join(5)
        assert not stream.thread.is_alive(), "still streaming after the close"
    assert not stream.health.market.connected and not stream.health.account.connected
    assert fast_ticks.streams.active() == 0


@pytest.mark.parametrize(
    ("started", "first", "then"),
    [
        # during a session: at once, then the next session's open
        ("2026-12-01 11:00", "2026-12-01 11:00", "2026-12-02 09:30"),
        # before the open: the open
        ("2026-12-01 08:00", "2026-12-01 09:30", "2026-12-02 09:30"),
        # Thanksgiving: Friday's half-day session, then Monday's
        ("2026-11-26 10:00", "2026-11-27 09:30", "2026-11-30 09:30"),
        # after Black Friday's 13:00 close: Monday
        ("2026-11-27 13:00", "2026-11-30 09:30", "2026-12-01 09:30"),
    ],
    ids=["mid-session", "before-the-open", "thanksgiving", "after-black-friday-close"],
)
def test_stream_sessions_schedule(store: Store, started: str, first: str, then: str) -> None:
    from datetime import datetime

    from ttai_cli.clock import NEW_YORK
    from ttai_cli.market.calendar import MarketCalendar
    from ttai_cli.scheduling.sessions import SessionStreams

    def ny(text: str) -> datetime:
        return datetime.fromisoformat(text).replace(tzinfo=NEW_YORK)

    schedule = SessionStreams(MarketCalendar(store))
    slot = schedule.first(ny(started))
    assert slot is not None and slot == ny(first)
    assert schedule.after(slot) == ny(then)


def test_black_friday_stream_runs_until_the_early_close(store: Store, clean_env: Path) -> None:
    from datetime import datetime

    from tests.fakes import FakeClock
    from ttai_cli.clock import NEW_YORK
    from ttai_cli.jobs.base import RunContext

    opened = datetime(2026, 11, 27, 9, 30, tzinfo=NEW_YORK)
    clock = FakeClock(opened)
    settings = load_settings(environ={"TTAI_HOME": str(clean_env)})
    job = StreamJob(JobContext(settings, store, clock, lambda: open_broker(settings, clock)))
    guarded = RunContext("stream", opened, clock, market_open=True)
    assert job.until(guarded) == datetime(2026, 11, 27, 13, 0, tzinfo=NEW_YORK)
    ignoring = RunContext("stream", opened, clock, market_open=None)
    assert job.until(ignoring) is None


def test_defaults_fall_back_after_30s_and_reconnect_within_1s_capped_at_30s() -> None:
    defaults = StreamSettings()
    assert defaults.fallback_after == 30 and defaults.fallback_every == 30
    assert defaults.backoff_base == 1 and defaults.backoff_cap == 30
    assert defaults.follow_every <= 2, "an alert from another process within 2 s"


def test_daemon_streams_at_once_with_ignore_market_hours_and_alerts_skip_while_connected(
    ttai: Any, broker_env: RunningServer, sim: SimulatedTastytrade
) -> None:
    import json

    sim.streams.tick_interval = 0.05
    sim.market.pin("AAPL", 190, 189)
    assert ttai("alerts", "add", "AAPL", "above", "200").code == 0
    proc, seen = launch("run", "--ignore-market-hours", until=("market stream connected",))
    try:
        # the alerts job's first slot (at start, before the stream was up) may have polled
        polled_before = len(sim.requests_to("/market-data"))
        sim.market.pin("AAPL", 201, 189)
        wait_for(
            lambda: (
                json.loads(ttai("alerts", "list", "--all", "--json").out)[0]["status"]
                == "triggered"
            ),
            what="the streamed firing",
        )
        jobs = wait_for(
            lambda: {
                j["job"]: j
                for j in json.loads(ttai("status", "--json").out)["jobs"]
                if j["job"] == "alerts" and j["skipped"]
            },
            timeout=40,
            what="the alerts job's first slot",
        )
        assert jobs["alerts"]["runs"] <= 1
    finally:
        proc.send_signal(signal.SIGTERM)
        _, err = proc.communicate(timeout=15)
    assert proc.returncode == 0
    assert "prices are streamed" in seen + err
    assert len(sim.requests_to("/market-data")) == polled_before, "no polling while streaming"


def test_a_notification_held_by_a_dead_webhook_goes_out_when_it_is_back_without_a_new_one(
    store: Store,
    fast_ticks: SimulatedTastytrade,
    sim_server: RunningServer,
    clean_env: Path,
    receiver: Receiver,
) -> None:
    import dataclasses

    from ttai_cli.services.notifications import DeliveryPolicy

    quick = DeliveryPolicy(base_delay=0.01, max_delay=0.02, later_base=0.3, timeout=1.0)
    settings = dataclasses.replace(FAST, retry_every=0.1)
    receiver.stop()  # the webhook is down
    with Streaming(store, sim_server, clean_env, receiver, settings, delivery=quick) as stream:
        wait_for(lambda: stream.health.account.connected, what="the account stream")
        fast_ticks.streams.order_event(_filled_order(fast_ticks))
        wait_for(lambda: notifications(store, "order_filled"), what="the stored notification")
        time.sleep(0.3)  # tried and failed
        receiver.start()
        wait_for(lambda: delivered(receiver, "order_filled"), what="the retry", timeout=5)


def test_a_connection_that_goes_silent_is_reconnected(
    store: Store, fast_ticks: SimulatedTastytrade, sim_server: RunningServer, clean_env: Path
) -> None:
    import dataclasses

    add_alert(store, "AAPL", "price", "above", "100000")
    settings = dataclasses.replace(FAST, silence_after=0.5)
    with Streaming(store, sim_server, clean_env, None, settings) as stream:
        wait_for(lambda: stream.health.market.connected, what="the market stream")
        fast_ticks.streams.tick_interval = 3600  # the socket stays open, nothing arrives
        wait_for(lambda: stream.health.market.reconnects >= 1, what="a reconnect", timeout=5)
        assert (
            "no data" in (stream.health.market.last_error or "") or stream.health.market.connected
        )


def test_a_stream_that_fails_at_the_open_starts_again_instead_of_waiting_a_day(
    store: Store, fast_ticks: SimulatedTastytrade, sim_server: RunningServer, clean_env: Path
) -> None:
    import threading

    from ttai_cli.jobs.base import RunContext

    add_alert(store, "AAPL", "price", "above", "100000")
    for _ in range(4):  # every attempt of the first positions request fails: the run fails
        fast_ticks.faults.add(
            "status", f"/accounts/{fast_ticks.account.account_number}/positions", status=503
        )
    harness = Streaming(store, sim_server, clean_env, None)
    loop = asyncio.new_event_loop()
    result: list[Any] = []

    def run() -> None:
        async def main() -> None:
            db = open_store(harness.db_path)
            clock = SystemClock()
            context = JobContext(
                harness.settings, db, clock, lambda: open_broker(harness.settings, clock)
            )
            harness.job = StreamJob(context, FAST, ignore_market_hours=True)
            try:
                result.append(await harness.job.run(RunContext("stream", clock.now(), clock, None)))
            finally:
                await context.aclose()
                db.close()

        loop.run_until_complete(main())

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    wait_for(
        lambda: getattr(harness, "job", None) and harness.job.health.market.connected,
        timeout=10,
        what="streaming after the restart",
    )
    loop.call_soon_threadsafe(lambda: asyncio.ensure_future(harness.job.terminate()))
    thread.join(10)
    assert result and "1 restart" in result[0]


def test_a_fill_while_the_account_stream_was_down_is_notified_after_it_reconnects(
    store: Store,
    fast_ticks: SimulatedTastytrade,
    sim_server: RunningServer,
    clean_env: Path,
    receiver: Receiver,
) -> None:
    sim = fast_ticks
    with Streaming(store, sim_server, clean_env, receiver) as stream:
        wait_for(lambda: stream.health.account.connected, what="the account stream")
        for _ in range(50):  # the account socket stays down a while: no reconnect works
            sim.faults.add("status", "/oauth/token", status=503)
        sim.streams.drop("account")
        wait_for(lambda: not stream.health.account.connected, what="the drop")
        # filled meanwhile: no connected session hears it, only today's orders keep it
        assert sim.streams.order_event(_filled_order(sim, order_id=5151)) == 0
        sim.faults.clear()
        wait_for(lambda: delivered(receiver, "order_filled"), timeout=10, what="the replay")
        time.sleep(0.3)
    [sent] = delivered(receiver, "order_filled")
    assert sent["data"]["order_id"] == 5151
