"""Pinned log keys: from the user's side only, by origin."""

from __future__ import annotations

from pathlib import Path

import pytest

from ledger.checkpoint import generate_log_key, verifier_key
from ledger.witness.cosignature import witness_vkey
from provenance.errors import InputError
from provenance.home.log_keys import KnownLogs, pinned_key, read_vkey_arg
from provenance.home.paths import Home


def test_known_logs_add_replace_remove(tmp_path: Path) -> None:
    home = Home(tmp_path)
    logs = KnownLogs(home)
    a1, a2 = (
        verifier_key(generate_log_key(), "a.example/log"),
        verifier_key(generate_log_key(), "a.example/log"),
    )
    b = verifier_key(generate_log_key(), "b.example/log")
    logs.add(a1)
    logs.add(b)
    logs.add(a2)  # a new key for the same origin replaces the old one
    assert sorted(k.vkey for k in logs.all()) == sorted([a2, b])
    assert pinned_key(home, "a.example/log").vkey == a2  # type: ignore[union-attr]
    assert logs.remove("a.example/log") and not logs.remove("a.example/log")
    assert pinned_key(home, "a.example/log") is None


def test_home_log_pub_pins_its_own_log(tmp_path: Path) -> None:
    home = Home(tmp_path)
    vkey = verifier_key(generate_log_key(), "own.example/log")
    home.log_pub.parent.mkdir(parents=True)
    home.log_pub.write_text(vkey + "\n")
    assert pinned_key(home, "own.example/log").source == "the log's public key"  # type: ignore[union-attr]
    # another log: no known key, so the home's own key is what it fails to verify with
    assert pinned_key(home, "other.example/log").origin == "own.example/log"  # type: ignore[union-attr]


def test_explicit_key_wins_and_must_match_the_origin(tmp_path: Path) -> None:
    vkey = verifier_key(generate_log_key(), "x.example/log")
    (tmp_path / "k.pub").write_text(vkey)
    explicit = read_vkey_arg(str(tmp_path / "k.pub"))
    assert pinned_key(None, "x.example/log", explicit) == explicit
    assert pinned_key(None, "y.example/log", explicit) is None
    assert read_vkey_arg(vkey).vkey == vkey


@pytest.mark.parametrize("bad", ["nonsense+1234+AAAA", "x.example/log+00000000+" + "A" * 44])
def test_bad_keys_are_one_line_errors(tmp_path: Path, bad: str) -> None:
    with pytest.raises(InputError, match="not a log verifier key") as err:
        KnownLogs(Home(tmp_path)).add(bad)
    assert "\n" not in str(err.value)


def test_the_active_home_follows_the_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """home_from_env is cached per value of the variables it reads: a changed one is seen."""
    from provenance.home.paths import ENV_HOME, home_from_env

    monkeypatch.delenv(ENV_HOME, raising=False)
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "one"))
    assert home_from_env().root == tmp_path / "one" / "provenance"
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "two"))
    assert home_from_env().root == tmp_path / "two" / "provenance"
    monkeypatch.setenv(ENV_HOME, str(tmp_path / "set"))
    assert home_from_env().root == tmp_path / "set"
    monkeypatch.setenv("HOME", str(tmp_path / "user"))
    monkeypatch.setenv(ENV_HOME, "~/h")
    assert home_from_env().root == tmp_path / "user" / "h"
    monkeypatch.setenv("HOME", str(tmp_path / "other"))
    assert home_from_env().root == tmp_path / "other" / "h"


def test_the_verifier_memory_follows_the_state_dir(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from provenance.home.log_keys import checkpoint_memory
    from provenance.vocab import ENV_STATE_DIR

    monkeypatch.setenv(ENV_STATE_DIR, str(tmp_path / "a"))
    assert checkpoint_memory().directory == tmp_path / "a" / "checkpoints"
    monkeypatch.setenv(ENV_STATE_DIR, str(tmp_path / "b"))
    assert checkpoint_memory().directory == tmp_path / "b" / "checkpoints"
    monkeypatch.setenv("HOME", str(tmp_path / "user"))
    monkeypatch.setenv(ENV_STATE_DIR, "~/state")
    assert checkpoint_memory().directory == tmp_path / "user" / "state" / "checkpoints"


def test_a_witness_policy_added_after_a_first_check_counts(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from provenance.home.witnesses import ENV_WITNESS_POLICY, policy_file, witness_policy

    monkeypatch.delenv(ENV_WITNESS_POLICY, raising=False)
    home = Home(tmp_path)
    assert witness_policy(home) is None
    log = verifier_key(generate_log_key(), "a.example/log")
    w = witness_vkey(generate_log_key(), "w.example")
    policy_file(home).parent.mkdir(parents=True)
    policy_file(home).write_text(f"log {log}\nwitness W {w}\nquorum W\n")
    found = witness_policy(home)
    assert found is not None and found[1] == policy_file(home)
    policy_file(home).unlink()
    assert witness_policy(home) is None
