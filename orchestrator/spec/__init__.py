"""What a sweep is: the sweep file's model (sweep.py), its layers and command-line overrides
(layers.py, smoke.py), and the ``sweep.json`` record an experiment folder keeps of it
(record.py)."""
