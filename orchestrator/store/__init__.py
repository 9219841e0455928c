"""Where results live: files written atomically (files.py), a local folder or a cloud storage
(cloud_storage.py), and the lock that keeps two runs of a sweep apart (sweep_lock.py)."""
