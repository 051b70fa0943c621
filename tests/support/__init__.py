"""Helpers shared by the tests and the benchmarks: paths, licensed and synthesized media,
checkpoints in the upstream formats, HTTP and stream clients, the browser."""
