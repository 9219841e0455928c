"""An experiment's results: the Parquet tables built from its trial folders (tables.py, with
trial_rows.py's cache and trial_cost.py's cost columns) and the printed summary (summary.py).
No Ray, no torch."""
