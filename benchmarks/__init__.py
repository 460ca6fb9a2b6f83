"""Scripts that print figures; run each as `.venv/bin/python benchmarks/NAME.py`."""
