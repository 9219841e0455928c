"""``python -m emotrain --config run.yaml``: one training alone (emotrain/cli.py)."""

from emotrain.cli import main
from emotrain.process_exit import exit_now

if __name__ == "__main__":
    exit_now(main())
