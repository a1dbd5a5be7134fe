"""Evaluation on public benchmarks: readers of benchmark folders for the pure scorers of the analytics."""
