"""What a run has to do: the trials of a sweep (plan.py, second_stage.py) against those already
stored (stored.py), and the checks before any starts (preflight.py, disk.py). No Ray."""
