import pytest

from portal.settings.env import ImproperlyConfiguredEnv, env_bool, env_int, parse_database_url


def test_env_bool_refuses_a_value_that_is_not_a_boolean(monkeypatch):
    monkeypatch.setenv("DEBUG_FLAG", "maybe")
    with pytest.raises(ImproperlyConfiguredEnv, match="DEBUG_FLAG"):
        env_bool("DEBUG_FLAG", False)


def test_env_bool_reads_true_and_false(monkeypatch):
    monkeypatch.setenv("FLAG", "Yes")
    assert env_bool("FLAG", False) is True
    monkeypatch.setenv("FLAG", "0")
    assert env_bool("FLAG", True) is False


def test_env_int_refuses_text_and_too_small(monkeypatch):
    monkeypatch.setenv("PORT_X", "eighty")
    with pytest.raises(ImproperlyConfiguredEnv):
        env_int("PORT_X", 1)
    monkeypatch.setenv("PORT_X", "0")
    with pytest.raises(ImproperlyConfiguredEnv):
        env_int("PORT_X", 1, minimum=1)


def test_database_url_is_parsed_for_postgres_only():
    parsed = parse_database_url("postgres://app:s%40cret@db.internal:5433/continuum?sslmode=require")
    assert parsed["NAME"] == "continuum"
    assert parsed["PASSWORD"] == "s@cret"
    assert parsed["HOST"] == "db.internal"
    assert parsed["PORT"] == "5433"
    assert parsed["OPTIONS"] == {"sslmode": "require"}
    with pytest.raises(ImproperlyConfiguredEnv):
        parse_database_url("mysql://app@db.internal/continuum")


def test_production_settings_refuse_to_start_without_a_secret(monkeypatch):
    import importlib
    import sys

    monkeypatch.delenv("SECRET_KEY", raising=False)
    for name in ("portal.settings.production", "portal.settings.base"):
        sys.modules.pop(name, None)
    try:
        with pytest.raises(ImproperlyConfiguredEnv, match="SECRET_KEY"):
            importlib.import_module("portal.settings.production")
    finally:
        for name in ("portal.settings.production", "portal.settings.base"):
            sys.modules.pop(name, None)
