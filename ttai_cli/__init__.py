"""ttai: watch a tastytrade account on a schedule."""

__version__ = "0.1.0"
