"""The README's configuration table and the configuration module agree, and settings parse strictly."""

from __future__ import annotations

from pathlib import Path

import pytest

from cds.config import ENV_VARS, Config, ConfigError

README = Path(__file__).resolve().parent.parent / "README.md"


def test_every_variable_is_documented_in_the_readme() -> None:
    text = README.read_text(encoding="utf-8")
    missing = [name for name in ENV_VARS if f"`{name}`" not in text]
    assert not missing, f"README configuration table lacks {missing}"


def test_defaults_parse() -> None:
    config = Config.from_env({})
    assert config.auth == "jwt" and config.max_request_bytes == 32 * 1024 * 1024
    assert config.fhir_allowlist == () and config.timezone == "UTC" and config.max_cards == 5


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("NK_CDS_AUTH", "maybe"),
        ("NK_CDS_TRUSTED_ISSUERS", "not json"),
        ("NK_CDS_TRUSTED_ISSUERS", '["a list"]'),
        ("NK_CDS_MAX_CARDS", "five"),
        ("NK_CDS_FHIR_BUDGET_S", "soon"),
    ],
)
def test_bad_values_are_a_clear_start_up_error(name: str, value: str) -> None:
    with pytest.raises(ConfigError):
        Config.from_env({name: value})


def test_lists_and_issuers() -> None:
    config = Config.from_env(
        {
            "NK_CDS_FHIR_ALLOWLIST": " https://a.example/fhir , http://127.0.0.1:8080/fhir ",
            "NK_CDS_TRUSTED_ISSUERS": '{"https://sandbox.cds-hooks.org": "/etc/nk/jwks.json"}',
            "NK_CDS_TRIALS": "NCT06631391,NCT05952310",
        }
    )
    assert config.fhir_allowlist == ("https://a.example/fhir", "http://127.0.0.1:8080/fhir")
    assert config.trusted_issuers == {"https://sandbox.cds-hooks.org": "/etc/nk/jwks.json"}
    assert config.trials == ("NCT06631391", "NCT05952310")
