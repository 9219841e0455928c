"""``python -m orchestrator.report``: see command.py."""

from emotrain.process_exit import exit_now
from orchestrator.report.command import main

if __name__ == "__main__":
    exit_now(main())
