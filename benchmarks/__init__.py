"""On-demand benchmarks (``make bench``): each kernel against a baseline in the same process.

Every ``bench_*.py`` module here exposes ``run() -> list[BenchRow]``; ``python -m benchmarks``
runs them all (or those named on the command line) and prints one table. Nothing here is part of
the test suite's timing: figures are measured on demand and copied into the README by hand.
"""
