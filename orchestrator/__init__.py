"""orchestrator: seeded Ray Tune + Optuna sweeps over ``emotrain.train``. The only Ray user."""
