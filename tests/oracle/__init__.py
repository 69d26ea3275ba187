"""The parts of the independent recomputation that tests/recompute.py gathers."""
