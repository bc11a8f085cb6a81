"""Sub-commands of ``nk-cds`` (see ``cds.cli``)."""
