"""Notifications: what is sent (`models`), how each service wants it (`formats`), and
the destinations that send it (`destinations`). The durable outbox is in
`ttai_cli.store.outbox`; the service tying them together in `ttai_cli.services.notifications`.
"""
