"""Demo patients (``cds.demo.patients``) used by ``nk-cds demo``, ``nk-cds load-demo`` and the tests."""
