"""The registry commands as a user runs them, including every kind of bad input."""
import hashlib
import json

import pytest

from primitives.builtins import BUILTINS


def test_add_list_show_export_import_round_trip(cli, tmp_path):
    added = cli("registry", "add", "mul(abs(W), sqrt(X))")
    assert added.code == 0, added.err
    digest = added.out.split()[0]
    listed = cli("registry", "list", "--json")
    assert [m["hash"] for m in json.loads(listed.out)] == [digest]
    shown = cli("registry", "show", digest[:8], "--json")
    assert json.loads(shown.out)["metric"]["canonical"] == "mul(abs(W), sqrt(X))"
    for fmt in ("text", "latex", "sympy", "python", "json"):
        exported = cli("registry", "export", digest, "--format", fmt)
        assert exported.code == 0 and exported.out.strip(), (fmt, exported.err)
    path = tmp_path / "metric.json"
    assert cli("registry", "export", digest, "--format", "json", "--out", str(path)).code == 0
    imported = cli("registry", "import", str(path), "--json")
    assert imported.code == 0, imported.err
    assert json.loads(imported.out)["hash"] == digest
    assert len(json.loads(cli("registry", "list", "--json").out)) == 1


@pytest.mark.parametrize("variant", ["mul(X, abs(W))", "neg(neg(mul(abs(W), X)))", "mul(abs(abs(W)), abs(X))"])
def test_equivalent_formulas_get_one_entry(cli, variant):
    first = cli("registry", "add", "wanda").out.split()[0]
    assert cli("registry", "add", variant).out.split()[0] == first
    assert len(json.loads(cli("registry", "list", "--json").out)) == 1


def test_builtins_can_be_added_by_name(cli):
    for name in BUILTINS:
        assert cli("registry", "add", name).code == 0
    names = {m["name"] for m in json.loads(cli("registry", "list", "--json").out)}
    assert names == set(BUILTINS)


def _digest(path):
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.mark.parametrize("formula", [
    "foo(W)", "mul(W, Q)", "mul(W)", "mul(W, X", "abs(" * 10_000 + "W" + ")" * 10_000,
    "__import__('os').system('touch pwned')", "abs(W)) + 1",
])
def test_bad_formulas_fail_cleanly_and_leave_the_registry_intact(cli, tmp_path, formula):
    assert cli("registry", "add", "wanda").code == 0
    before = _digest(cli.db)
    result = cli("registry", "add", formula)
    assert result.code != 0
    assert result.err.startswith("error: ") and result.err.count("\n") == 1, result.err
    assert "Traceback" not in result.err
    assert _digest(cli.db) == before
    assert not (tmp_path / "pwned").exists()


@pytest.mark.parametrize("payload", ["{not json", '{"tree": {"op": "system", "args": ["W"]}}',
                                     '{"tree": "W", "hash": "0000000000000000"}', ""])
def test_corrupt_json_import_is_refused(cli, tmp_path, payload):
    cli("registry", "add", "wanda")
    before = _digest(cli.db)
    bad = tmp_path / "bad.json"
    bad.write_text(payload)
    result = cli("registry", "import", str(bad))
    assert result.code != 0 and result.err.startswith("error: ")
    assert _digest(cli.db) == before


def test_a_file_that_is_not_a_database_is_left_alone(cli, tmp_path):
    not_db = tmp_path / "notes.db"
    not_db.write_text("these are my notes\n")
    result = cli("registry", "list", "--registry", str(not_db), registry=False)
    assert result.code != 0 and "not an SQLite database" in result.err
    assert not_db.read_text() == "these are my notes\n"


def test_an_unreachable_database_url_is_a_clear_error(cli):
    result = cli("registry", "list", "--registry", "postgresql+psycopg://nobody:secret@127.0.0.1:1/none", registry=False)
    assert result.code != 0 and result.err.startswith("error: ")
    assert "secret" not in result.err


def test_parse_shows_canonical_simplified_and_latex(cli):
    result = cli("parse", "neg(neg(mul(X, abs(W))))", "--json")
    info = json.loads(result.out)
    assert info["canonical"] == "mul(X, abs(W))" and info["latex"]


def test_help_explains_every_command(cli):
    for args in (["--help"], ["registry", "--help"], ["parse", "--help"]):
        result = cli(*args, registry=False)
        assert result.code == 0 and "Usage" in result.out
