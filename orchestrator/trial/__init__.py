"""One trial: the trainable a Ray worker runs (trainable.py, ddp.py for several workers) and
the trial folder it leaves in the storage, whose every file name and status folder.py owns."""
