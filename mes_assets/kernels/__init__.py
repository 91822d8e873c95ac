"""Numeric kernels (numba-compiled loops behind validating Python wrappers)."""
