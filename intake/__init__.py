"""Intake: the shape of a raw post, its validation, and the privacy steps applied before storage.

Pure functions only: the CLI (``tsur ingest``), the Faust worker and tests call the same code.
"""
