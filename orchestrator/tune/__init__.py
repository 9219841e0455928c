"""Running the plan on Ray Tune: the Ray session and the Tuner (tuner.py), the seeded Optuna
searchers (search.py, replay.py), the seed-aware ASHA (asha.py, rungs.py) and the watchers of a
running sweep (lost_trials.py, hang_watch.py, progress.py)."""
