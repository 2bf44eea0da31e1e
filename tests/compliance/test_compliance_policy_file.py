"""Policy files: what a valid one means, and a one-line error naming line and key for a bad one."""

from __future__ import annotations

from pathlib import Path
from typing import NamedTuple

import pytest

from provenance.compliance.policy_file import (
    RULES,
    default_publish_policy,
    load_policy,
    parse_policy,
)
from provenance.errors import PolicyError


def test_full_policy_parses_with_defaults(tmp_path: Path) -> None:
    p = tmp_path / "publish.toml"
    p.write_text(
        'version = 1\nname = "web"\n\n[rules.approval]\nreviewers = ["a@x.org"]\n'
        '[rules.credentials]\ntrust = ["agency.pem"]\n[rules.chain]\nenabled = false\n'
    )
    policy = load_policy(p)
    assert policy.rule_names == ("credentials", "approval")  # canonical order; chain disabled
    assert policy.name == "web" and policy.base_dir == tmp_path
    assert policy.rule("credentials").options == {
        "accept": ["trusted"],
        "signers": [],  # type: ignore[union-attr]
        "trust": ["agency.pem"],
    }
    assert policy.approvers() == ["a@x.org"]
    assert default_publish_policy().rule_names == RULES


class Bad(NamedTuple):
    name: str
    text: str
    message: str


BAD = [
    Bad("toml_syntax", "[rules.credentials]\naccept = [trusted]\n", "line 2"),
    Bad(
        "unknown_rule",
        "[rules.credentials]\n\n[rules.watermark]\n",
        "line 3: unknown rule 'watermark'",
    ),
    Bad(
        "unknown_key",
        '[rules.approval]\nreviewers = []\nreviwers = ["x"]\n',
        "line 3: unknown key 'reviwers' in [rules.approval]",
    ),
    Bad(
        "unknown_top_key",
        "rule = 1\n[rules.chain]\n",
        "line 1: unknown key 'rule' at the top level",
    ),
    Bad(
        "wrong_type",
        '[rules.approval]\nreviewers = "legal"\n',
        "line 2: [rules.approval] reviewers must be a list of strings",
    ),
    Bad(
        "wrong_element_type",
        "[rules.credentials]\nsigners = [1, 2]\n",
        "[rules.credentials] signers must be a list of strings",
    ),
    Bad("bad_bool", '[rules.approval]\nfour_eyes = "yes"\n', "four_eyes must be a boolean"),
    Bad(
        "unknown_verdict",
        '[rules.credentials]\naccept = ["trustworthy"]\n',
        "line 2: [rules.credentials] accept: unknown verdict 'trustworthy'",
    ),
    Bad(
        "accepts_invalid",
        '[rules.credentials]\naccept = ["trusted", "invalid"]\n',
        "must not include invalid",
    ),
    Bad("bad_scope", '[rules.ai_disclosure]\nscope = "some"\n', "scope must be one of ai, all"),
    Bad(
        "bad_field",
        '[rules.latent_disclosure]\nfields = ["provider", "vendor"]\n',
        "unknown field 'vendor'",
    ),
    Bad("no_rules", 'name = "empty"\n', "enables no rule"),
    Bad("all_disabled", "[rules.chain]\nenabled = false\n", "enables no rule"),
    Bad("rule_not_table", "[rules]\nchain = true\n", "rules.chain must be a table"),
    Bad("version", "version = 2\n[rules.chain]\n", "version 2 is not supported"),
    Bad(
        "dotted_key", "rules.approval.reviewers = 3\n", "line 1: [rules.approval] reviewers must be"
    ),
]


@pytest.mark.parametrize("case", BAD, ids=[b.name for b in BAD])
def test_bad_policy(case: Bad) -> None:
    with pytest.raises(PolicyError) as err:
        parse_policy(case.text, source="bad.toml")
    msg = err.value.diagnostics()
    assert msg.startswith("bad.toml") and case.message in msg and "\n" not in msg, msg


def test_missing_policy_file(tmp_path: Path) -> None:
    with pytest.raises(PolicyError, match="no such policy file"):
        load_policy(tmp_path / "nope.toml")


def test_docs_example_policy_parses() -> None:
    doc = (Path(__file__).resolve().parents[2] / "docs" / "compliance.md").read_text()
    example = doc.split("```toml\n", 1)[1].split("```", 1)[0]
    policy = parse_policy(example, source="docs/compliance.md")
    assert policy.rule_names == RULES
    assert policy.rule("approval").options["four_eyes"] is True  # type: ignore[union-attr]
