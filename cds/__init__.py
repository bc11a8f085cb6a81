"""nk-trials: a CDS Hooks 2.0 service matching patients to NK-cell therapy trials."""

__version__ = "0.1.0"
