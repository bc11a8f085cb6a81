"""The default hook runner imports the pipeline's modules when the app is built, not on the first hook call."""

from __future__ import annotations


def test_default_runner_imports_the_pipeline_modules_at_start(tmp_path, jwks_file, monkeypatch):
    import importlib

    import cds.http.app as app_module
    from tests.cds_service import base_config

    imported = []
    real = importlib.import_module
    monkeypatch.setattr(
        app_module.importlib,
        "import_module",
        lambda name, package=None: imported.append(name) or real(name, package),
    )
    app_module.create_app(base_config(tmp_path, jwks_file), catalogue="CATALOGUE")
    assert set(app_module.PIPELINE_MODULES) <= set(imported)


def test_pipeline_modules_cover_what_the_pipeline_imports_lazily():
    import inspect
    import re

    import cds.pipeline
    from cds.http.app import PIPELINE_MODULES

    source = inspect.getsource(cds.pipeline.run_patient_view) + inspect.getsource(
        cds.pipeline.evaluate_patient
    )
    lazy = set(re.findall(r"from (cds\.\w+)", source))
    assert lazy, "the pipeline no longer imports lazily: PIPELINE_MODULES can go"
    assert lazy <= {*PIPELINE_MODULES, "cds.normalise"}  # cds.normalise: warm_up() imports it
