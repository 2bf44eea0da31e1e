"""Compliance review: review events, the publish gate, audit reports and prompt erasure.

Example::

    from provenance.compliance import check_path, default_publish_policy, record_review
    from provenance.compliance.signing import enrolled_reviewers, key_signer
    from provenance.home.paths import home_from_env
    from provenance.home.ledger import open_ledger

    home = home_from_env()
    legal = key_signer(Path("legal.pem").read_bytes(), Path("legal.key.pem").read_bytes())
    with open_ledger(home) as ledger:
        record_review(ledger, "banner.png", "approve", signer=legal, enrolled=enrolled_reviewers(home))
        print(check_path("banner.png", default_publish_policy(), home=home, ledger=ledger).passed)

See docs/compliance.md for which field answers which legal requirement.
"""

from provenance.compliance.check import CheckResult, RuleResult, check_path
from provenance.compliance.policy_file import (
    RULES,
    PublishPolicy,
    default_publish_policy,
    load_policy,
    parse_policy,
)
from provenance.compliance.report import (
    AuditTrail,
    build_report,
    check_report,
    parse_when,
    write_report,
)
from provenance.compliance.review import Review, ReviewStatus, record_review, review_status

__all__ = [
    "RULES",
    "AuditTrail",
    "CheckResult",
    "PublishPolicy",
    "Review",
    "ReviewStatus",
    "RuleResult",
    "build_report",
    "check_path",
    "check_report",
    "default_publish_policy",
    "load_policy",
    "parse_policy",
    "parse_when",
    "record_review",
    "review_status",
    "write_report",
]
