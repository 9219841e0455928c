"""orchestrator: seeded Ray Tune + Optuna sweeps over ``emotrain.train``. The only Ray user.

The entry points sit at the top: ``run`` (``python -m orchestrator.run``), ``aggregate``,
``report`` (a package: ``python -m orchestrator.report``), ``cli`` (the ``emosweep`` command)
and ``console`` (the terminal). Below them, the layers, each importing only the ones below it
(pyproject.toml's import-linter contracts check it):

- ``report``: the Markdown/HTML report of an experiment folder, from its tables;
- ``tune``: the Ray session and the Tuner, the searchers, the seed-aware ASHA, the watchers;
- ``plan``: which trials a run needs, against those already stored; preflight checks;
- ``results``: the Parquet tables built from the trial folders, and the printed summary;
- ``spec``: the sweep file model, its layers and overrides, and the ``sweep.json`` record;
- ``analysis``: statistics over the tables: significance, the papers' reference numbers;
- ``trial``: the trainable a Ray worker runs, and the trial folder's files and names;
- ``store``: atomic files, cloud storage and the sweep lock.
"""
