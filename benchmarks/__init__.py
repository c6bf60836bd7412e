"""softq benchmarks: one `python -m benchmarks.NAME` entry point per file."""
