"""Benchmarks: each ``bench/bench_*.py`` module has ``run() -> dict[str, float]``."""
