"""The simulated tastytrade API: for tests, benchmarks and `--demo`."""
