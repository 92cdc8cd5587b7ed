"""Real time: the two tastytrade streams, kept alive.

The broker's streaming half (beside `ttai_cli/broker/`, and like it the only code that
touches the SDK, lazily): `market.MarketFeed` keeps one DXLink connection (the SDK's
`DXLinkStreamer`) subscribed to what the alerts need, and `account.AccountFeed` one
account-streamer connection (the SDK's `AlertStreamer`). Both reconnect with exponential
backoff and jitter (`backoff.Backoff`), resubscribe everything after a reconnect, and keep
their health (`health.FeedHealth`) for `ttai status`. They hand SDK-free values
(`events`) to the stream service (`ttai_cli/services/stream.py`), which decides what fires.
"""
