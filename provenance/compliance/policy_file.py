"""Publish policies: a TOML file that says what a file must have to pass ``provenance check``.

Example::

    from provenance.compliance.policy_file import parse_policy

    policy = parse_policy('''
    [rules.credentials]
    accept = ["trusted"]
    [rules.approval]
    reviewers = ["legal@example.org"]
    ''', source="inline")
    print(policy.rule_names)          # ('credentials', 'approval')

Each ``[rules.NAME]`` table turns a rule on (``enabled = false`` turns it off again). Rules:
``credentials``, ``ai_disclosure``, ``latent_disclosure``, ``approval``, ``chain``, ``recorded``.
A malformed file raises :class:`~provenance.errors.PolicyError` naming the line and the key.
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from provenance.errors import PolicyError
from provenance.vocab import VERDICTS

RULES = ("credentials", "ai_disclosure", "latent_disclosure", "approval", "chain", "recorded")
LATENT_FIELDS = ("provider", "model", "time", "id")
SCOPES = ("ai", "all")
_TOP_KEYS = {"version": int, "name": str, "description": str, "rules": dict}
# Per rule: option -> (type, element type for lists or None).
_OPTIONS: dict[str, dict[str, tuple[type, type | None]]] = {
    "credentials": {"accept": (list, str), "signers": (list, str), "trust": (list, str)},
    "ai_disclosure": {"scope": (str, None)},
    "latent_disclosure": {"fields": (list, str), "scope": (str, None)},
    "approval": {"reviewers": (list, str), "four_eyes": (bool, None)},
    "chain": {},
    "recorded": {},
}


@dataclass(frozen=True)
class RuleConfig:
    """One enabled rule and its options (defaults filled in)."""

    name: str
    options: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class PublishPolicy:
    """What a file must have to be published; ``source`` says where it came from (for reports)."""

    rules: tuple[RuleConfig, ...]
    source: str
    name: str | None = None
    base_dir: Path | None = None  # relative trust-anchor paths resolve from here

    @property
    def rule_names(self) -> tuple[str, ...]:
        return tuple(r.name for r in self.rules)

    def rule(self, name: str) -> RuleConfig | None:
        return next((r for r in self.rules if r.name == name), None)

    def approvers(self) -> list[str]:
        """Who may approve under this policy; empty means anyone."""
        rule = self.rule("approval")
        return list(rule.options["reviewers"]) if rule else []


_DEFAULTS: dict[str, dict[str, Any]] = {
    "credentials": {"accept": ["trusted"], "signers": [], "trust": []},
    "ai_disclosure": {"scope": "ai"},
    "latent_disclosure": {"fields": list(LATENT_FIELDS), "scope": "ai"},
    "approval": {"reviewers": [], "four_eyes": False},
    "chain": {},
    "recorded": {},
}


def default_publish_policy() -> PublishPolicy:
    """Every rule with its defaults: the gate used when no policy file is given or configured."""
    return PublishPolicy(
        tuple(RuleConfig(n, dict(_DEFAULTS[n])) for n in RULES), "built-in default"
    )


def load_policy(path: str | Path) -> PublishPolicy:
    """Read and check a policy file; :class:`PolicyError` names the file, line and key."""
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8")
    except FileNotFoundError as e:
        raise PolicyError(f"{p}: no such policy file") from e
    except (OSError, UnicodeDecodeError) as e:
        raise PolicyError(f"{p}: cannot read the policy file ({e})") from e
    return parse_policy(text, source=str(p), base_dir=p.parent)


def parse_policy(
    text: str, *, source: str = "<policy>", base_dir: Path | None = None
) -> PublishPolicy:
    try:
        doc = tomllib.loads(text)
    except tomllib.TOMLDecodeError as e:
        # tomllib's message already ends with "(at line L, column C)".
        raise PolicyError(f"{source}: not valid TOML: {e}") from e
    where = _Locator(text, source)
    for key, value in doc.items():
        if key not in _TOP_KEYS:
            raise PolicyError(
                f"{where.at(None, key)}: unknown key {key!r} at the top level "
                f"(known: {', '.join(_TOP_KEYS)})"
            )
        if not isinstance(value, _TOP_KEYS[key]):
            raise PolicyError(f"{where.at(None, key)}: {key!r} must be a {_kind(_TOP_KEYS[key])}")
    if doc.get("version", 1) != 1:
        raise PolicyError(
            f"{where.at(None, 'version')}: version {doc['version']} is not supported "
            "(this software reads version 1)"
        )
    rules: list[RuleConfig] = []
    for name, table in doc.get("rules", {}).items():
        if name not in _OPTIONS:
            raise PolicyError(
                f"{where.at('rules', name)}: unknown rule {name!r} (known: {', '.join(RULES)})"
            )
        if not isinstance(table, dict):
            raise PolicyError(
                f"{where.at('rules', name)}: rules.{name} must be a table, e.g. [rules.{name}]"
            )
        rule = _parse_rule(name, table, where)
        if rule is not None:
            rules.append(rule)
    if not rules:
        raise PolicyError(
            f"{source}: enables no rule; a gate that checks nothing would pass every "
            f"file (add e.g. [rules.credentials]; known: {', '.join(RULES)})"
        )
    rules.sort(key=lambda r: RULES.index(r.name))
    name = doc.get("name")
    return PublishPolicy(tuple(rules), source, name if isinstance(name, str) else None, base_dir)


def _parse_rule(name: str, table: dict[str, Any], where: _Locator) -> RuleConfig | None:
    table_name = f"rules.{name}"
    enabled = table.get("enabled", True)
    if not isinstance(enabled, bool):
        raise PolicyError(
            f"{where.at(table_name, 'enabled')}: [{table_name}] enabled must be true or false"
        )
    options = dict(_DEFAULTS[name])
    for key, value in table.items():
        if key == "enabled":
            continue
        spec = _OPTIONS[name].get(key)
        if spec is None:
            known = ", ".join(["enabled", *_OPTIONS[name]])
            raise PolicyError(
                f"{where.at(table_name, key)}: unknown key {key!r} in [{table_name}] "
                f"(known: {known})"
            )
        kind, element = spec
        if not isinstance(value, kind) or (
            element is not None
            and isinstance(value, list)
            and not all(isinstance(v, element) for v in value)
        ):
            what = f"list of {_kind(element)}s" if element else _kind(kind)
            raise PolicyError(f"{where.at(table_name, key)}: [{table_name}] {key} must be a {what}")
        options[key] = value
    _check_values(name, options, table_name, where)
    return RuleConfig(name, options) if enabled else None


def _check_values(name: str, options: dict[str, Any], table: str, where: _Locator) -> None:
    bad_verdicts = [v for v in options.get("accept", []) if v not in VERDICTS]
    if bad_verdicts:
        raise PolicyError(
            f"{where.at(table, 'accept')}: [{table}] accept: unknown verdict "
            f"{bad_verdicts[0]!r} (known: {', '.join(VERDICTS)})"
        )
    if name == "credentials" and not options["accept"]:
        raise PolicyError(
            f"{where.at(table, 'accept')}: [{table}] accept is empty; name at least "
            "one verdict (e.g. trusted)"
        )
    if name == "credentials" and {"invalid", "error"} & set(options["accept"]):
        raise PolicyError(
            f"{where.at(table, 'accept')}: [{table}] accept must not include invalid "
            "or error: a publish gate cannot accept damaged or unreadable files"
        )
    if "scope" in options and options["scope"] not in SCOPES:
        raise PolicyError(
            f"{where.at(table, 'scope')}: [{table}] scope must be one of "
            f"{', '.join(SCOPES)}, not {options['scope']!r}"
        )
    bad_fields = [f for f in options.get("fields", []) if f not in LATENT_FIELDS]
    if bad_fields:
        raise PolicyError(
            f"{where.at(table, 'fields')}: [{table}] fields: unknown field "
            f"{bad_fields[0]!r} (known: {', '.join(LATENT_FIELDS)})"
        )


def _kind(t: type | None) -> str:
    return {str: "string", int: "integer", bool: "boolean", list: "list", dict: "table"}.get(
        t or str, "value"
    )


_HEADER = re.compile(r"^\s*\[\s*([A-Za-z0-9_.\- \"]+?)\s*\]\s*(#.*)?$")


class _Locator:
    """Finds the line a key sits on, so errors about values (which tomllib does not place) can."""

    def __init__(self, text: str, source: str) -> None:
        self.lines = text.splitlines()
        self.source = source

    def at(self, table: str | None, key: str) -> str:
        line = self._find(table, key)
        return f"{self.source}: line {line}" if line else self.source

    def _find(self, table: str | None, key: str) -> int | None:
        current = ""
        dotted = f"{table}.{key}" if table else key
        key_re = re.compile(rf"^\s*\"?{re.escape(key)}\"?\s*[=.]")
        for n, raw in enumerate(self.lines, 1):
            m = _HEADER.match(raw)
            if m:
                current = m.group(1).replace(" ", "").replace('"', "")
                if current == dotted or current.startswith(dotted + "."):
                    return n
                continue
            if current == (table or "") and key_re.match(raw):
                return n
            full = f"{current}." if current else ""
            if re.match(rf"^\s*{re.escape(dotted[len(full) :])}\s*[=.]", raw) and dotted.startswith(
                full
            ):
                return n
        return None
