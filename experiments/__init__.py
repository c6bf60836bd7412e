"""softq experiments: one `python -m experiments.NAME` entry point per file."""
