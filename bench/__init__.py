"""Benchmarks: our figures beside baselines measured in the same run (`python -m bench`)."""
