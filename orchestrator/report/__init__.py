"""The report of an experiment: ``python -m orchestrator.report RESULTS_DIR`` (command.py) reads
its tables (inputs.py), formats them (display_tables.py, plots.py, analysis_sections.py) and
writes Markdown and HTML (render.py). No Ray, no torch."""
