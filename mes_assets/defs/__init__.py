"""Thin Dagster assets: read inputs, call kernels, write one slice, attach metadata."""
