"""``review``, ``check``, ``report`` and ``ledger erase-prompt``: compliance review commands."""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING

import click

from provenance.cli.output import echo_json
from provenance.errors import EXIT_NOT_ACCEPTED, EXIT_OK, InputError
from provenance.home.paths import ENV_ACTOR, ENV_KEY_PASSPHRASE, Home, home_from_env

if TYPE_CHECKING:
    from provenance.compliance.policy_file import PublishPolicy
    from provenance.compliance.signing import ReviewSigner

HOME_POLICY = "policy.toml"
_POLICY_HELP = (
    f"Publish policy (TOML). Default: $PROVENANCE_HOME/{HOME_POLICY} if present, "
    "else every rule with its defaults."
)


def _policy(home: Home, path: Path | None) -> PublishPolicy:
    from provenance.compliance.policy_file import default_publish_policy, load_policy

    if path is not None:
        return load_policy(path)
    configured = home.root / HOME_POLICY
    return load_policy(configured) if configured.exists() else default_publish_policy()


def _actor(home: Home) -> str:
    from provenance.home.identity import read_meta

    actor = os.environ.get(ENV_ACTOR) or read_meta(home).get("actor")
    return str(actor) if actor else "unknown"


@click.command("review")
@click.argument("target")
@click.option("--approve", "decision", flag_value="approve", help="Approve this exact file.")
@click.option("--reject", "decision", flag_value="reject", help="Reject this exact file.")
@click.option(
    "--by", "by", help="Reviewer: name, e-mail or service account (default: the configured actor)."
)
@click.option("--note", help="Why: shown in checks and audit reports.")
@click.option(
    "--cert",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="The reviewer's certificate (PEM, leaf first), enrolled with `enroll-reviewer`.",
)
@click.option(
    "--key",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help=f"The reviewer's private key (PEM; passphrase from ${ENV_KEY_PASSPHRASE}).",
)
@click.option(
    "--policy",
    "policy_path",
    type=click.Path(dir_okay=False, path_type=Path),
    help=_POLICY_HELP + " Its [rules.approval] reviewers say who may approve.",
)
@click.option("--json", "as_json", is_flag=True, help="Print the review entry as JSON.")
def review_cmd(
    target: str,
    decision: str | None,
    by: str | None,
    note: str | None,
    cert: Path | None,
    key: Path | None,
    policy_path: Path | None,
    as_json: bool,
) -> None:
    """Record an approval or rejection of a recorded FILE or ledger ENTRY.

    The review is its own ledger entry naming the reviewed entry and the file's exact SHA-256,
    signed with the reviewer's own key: a later edit of an approved file is not approved, and an
    unsigned review counts as none.

    \b
    Examples:
      provenance review banner.png --approve --cert legal.pem --key legal.key --note "claims checked"
      provenance review 01a2057d-b51b-788b-91f7-4fb8b39c016d --reject --cert me.pem --key me.key
    """
    from provenance.compliance.review import UnsignedReviewError, record_review
    from provenance.compliance.signing import enrolled_reviewers
    from provenance.home.ledger import open_ledger

    if decision is None:
        raise InputError("review: say --approve or --reject")
    if by is not None and not by.strip():  # the library names its parameter; this names the flag
        raise InputError("reviewer: empty; give a name, e-mail or service account (--by)")
    signer = _review_signer(cert, key)
    home = home_from_env()
    policy = _policy(home, policy_path)
    allowed = policy.approvers() if decision == "approve" else []
    with open_ledger(home) as ledger:
        try:
            review = record_review(
                ledger,
                target,
                "approve" if decision == "approve" else "reject",
                reviewer=by,
                signer=signer,
                enrolled=enrolled_reviewers(home),
                note=note,
                recorded_by=_actor(home),
                allowed=allowed,
            )
        except UnsignedReviewError as e:
            if signer is not None:
                raise
            raise _unsigned(e) from e
    if as_json:
        echo_json(review.__dict__)
        return
    click.echo(
        f"{target}: {'approved' if decision == 'approve' else 'rejected'} by {review.verified or review.reviewer}"
        f"  review entry {review.index} ({review.entry_id})  sha256 {review.sha256[:16]}…"
    )


@click.command("check")
@click.argument("files", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option(
    "--policy", "policy_path", type=click.Path(dir_okay=False, path_type=Path), help=_POLICY_HELP
)
@click.option("--json", "as_json", is_flag=True, help="One JSON object per file per line.")
def check_cmd(files: tuple[Path, ...], policy_path: Path | None, as_json: bool) -> int:
    """Publish gate: does each FILE meet the policy? Lists every rule with pass/fail and why.

    \b
    Rules: credentials, ai_disclosure, latent_disclosure, approval, chain, recorded.
    Exit codes: 0 every file passes; 1 at least one fails; 2 bad policy or missing file.

    \b
    Examples:
      provenance check banner.png --policy marketing.toml
      provenance check --json dist/*.png > gate.jsonl
    """
    from provenance.compliance.check import check_path
    from provenance.home.ledger import open_ledger

    home = home_from_env()
    policy = _policy(home, policy_path)
    for f in files:
        if not f.is_file():
            raise InputError(f"{f}: {'not a regular file' if f.exists() else 'no such file'}")
    ledger = None
    if os.environ.get("PROVENANCE_LEDGER_URL") or home.ledger_db.exists():
        ledger = open_ledger(home, read_only=True)
    try:
        results = [check_path(f, policy, home=home, ledger=ledger) for f in files]
    finally:
        if ledger is not None:
            ledger.close()
    for r in results:
        if as_json:
            echo_json(r.to_json())
            continue
        click.echo(f"{r.path}: {'PASS' if r.passed else 'FAIL'} (policy {r.policy})")
        for rule in r.results:
            click.echo(f"  {'pass' if rule.passed else 'FAIL'}  {rule.rule}: {rule.reason}")
    return EXIT_OK if all(r.passed for r in results) else EXIT_NOT_ACCEPTED


def _unsigned(e: Exception) -> InputError:
    """The library's refusal of an unsigned review, worded as flags for the terminal."""
    return InputError(
        "review: unsigned; give --cert and --key (the reviewer's own certificate and key; an "
        "unsigned review counts as no review)"
    )


def _review_signer(cert: Path | None, key: Path | None) -> ReviewSigner | None:
    from provenance.compliance.signing import key_signer

    if (cert is None) != (key is None):
        raise InputError("--cert, --key: give both (the reviewer's certificate and key)")
    if cert is None or key is None:
        return None
    secret = os.environ.get(ENV_KEY_PASSPHRASE)
    return key_signer(cert.read_bytes(), key.read_bytes(), secret.encode() if secret else None)


@click.command("enroll-reviewer")
@click.argument("cert", type=click.Path(exists=True, dir_okay=False, path_type=Path))
def enroll_reviewer_cmd(cert: Path) -> None:
    """Enrol a reviewer's certificate (or a CA that issues them) in this home.

    Only reviews signed under an enrolled certificate count for `check` and `report`.

    \b
    Example:
      provenance enroll-reviewer legal.pem
    """
    from provenance.compliance.signing import enroll_reviewer

    who = enroll_reviewer(home_from_env(), cert.read_bytes())
    click.echo(f"enrolled reviewer {who}")


@click.command("report")
@click.option("--since", required=True, help="Start of the window (ISO 8601 date or date-time).")
@click.option("--until", help="End of the window, exclusive; a bare date includes that whole day.")
@click.option(
    "--format", "fmt", type=click.Choice(["csv", "json", "html"]), default="csv", show_default=True
)
@click.option(
    "-o",
    "--out",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Write here instead of stdout (csv: the signed checkpoint goes to OUT.checkpoint).",
)
@click.option("--no-prompts", is_flag=True, help="Leave prompt texts out (hashes stay).")
@click.option(
    "--thumbnails",
    "thumb_dirs",
    multiple=True,
    type=click.Path(exists=True, file_okay=False, path_type=Path),
    help="html: show each output found here by its recorded name and hash (repeatable).",
)
def report_cmd(
    since: str,
    until: str | None,
    fmt: str,
    out: Path | None,
    no_prompts: bool,
    thumb_dirs: tuple[Path, ...],
) -> None:
    """Audit report: every ledger entry in the window, with reviews and a covering checkpoint.

    \b
    Examples:
      provenance report --since 2026-03-01 --until 2026-03-31 --format html -o march.html
      provenance report --since 2026-03-01T00:00:00Z --format json | jq .report.checkpoint
    """
    from provenance.compliance.report import build_report, parse_when, write_report
    from provenance.compliance.report_html import find_thumbnails
    from provenance.compliance.signing import enrolled_reviewers
    from provenance.fileio import new_text, write_atomic
    from provenance.home.ledger import open_ledger

    start = parse_when(since)
    end = parse_when(until, end=True) if until else None
    if end is not None and end <= start:  # checked here too, to name the flags
        raise InputError(f"--until {end.isoformat()} is not after --since {start.isoformat()}")
    if out is not None and out.exists():
        raise InputError(f"{out}: already exists; choose another name")
    home = home_from_env()
    with open_ledger(home) as ledger:
        trail = build_report(
            ledger,
            since=start,
            until=end,
            include_prompts=not no_prompts,
            reviewers=enrolled_reviewers(home),
        )
    thumbs = find_thumbnails(trail.rows, thumb_dirs) if fmt == "html" and thumb_dirs else None
    if out is None:
        write_report(trail, fmt, sys.stdout, thumbs)
        return
    if fmt == "csv":  # the sidecar first: a planted link there must stop the report, not follow
        sidecar = Path(f"{out}.checkpoint")
        write_atomic(sidecar, trail.checkpoint["note"].encode(), mode=0o644, overwrite=False)
    with new_text(out, mode=0o644) as fh:
        write_report(trail, fmt, fh, thumbs)
    click.echo(
        f"{out}: {len(trail.rows)} entries, checkpoint size {trail.checkpoint['size']}", err=True
    )


@click.command("erase-prompt")
@click.argument("target")
@click.option("--reason", required=True, help="Why the text is erased (recorded in the ledger).")
@click.option("--by", "by", help="Who erases (default: the configured actor).")
def erase_prompt_cmd(target: str, reason: str, by: str | None) -> None:
    """Erase the prompt text of ENTRY (id, or a recorded file); its salted hash stays.

    The erasure is recorded as an entry of its own; the tree is untouched, so audits stay clean.

    \b
    Example:
      provenance ledger erase-prompt 01a2057d-b51b-788b-91f7-4fb8b39c016d --reason "GDPR art. 17 request"
    """
    from provenance.home.ledger import open_ledger
    from provenance.verify.lookup import resolve_entry

    if not reason.strip():
        raise InputError("--reason: empty; say why the prompt is erased")
    home = home_from_env()
    with open_ledger(home) as ledger:
        entry_id = resolve_entry(ledger, target).entry.id
        erasure = ledger.erase_secret(entry_id, reason=reason.strip(), actor=by or _actor(home))
        kept = (ledger.get(entry_id) or erasure).body.get("prompt") or {}
    click.echo(
        f"erased the prompt of entry {entry_id}; recorded as entry {erasure.index}; "
        f"salted hash kept: {kept.get('hash') if isinstance(kept, dict) else None}"
    )
