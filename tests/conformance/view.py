"""One manifest of a crJSON report as the rubrics' expressions see it (``_actionsV2()``, ...)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

Json = dict[str, Any]
IPTC = "http://cv.iptc.org/newscodes/digitalsourcetype/"


@dataclass(frozen=True)
class Result:
    passed: bool
    matches: list[Any]


@dataclass(frozen=True)
class Ctx:
    """One manifest of a crJSON report, with the rubric's variables."""

    manifest: Json
    report: Json
    var: dict[str, Any]
    expected_spec: tuple[int, int]

    @property
    def assertions(self) -> Json:
        a = self.manifest.get("assertions")
        return a if isinstance(a, dict) else {}

    def actions(self) -> list[Json]:
        """``_actionsV2()``: the actions of every assertion that has actions."""
        return [
            act
            for value in self.assertions.values()
            if isinstance(value, dict) and value.get("actions") is not None
            for act in value["actions"]
        ]

    def v(self, name: str) -> list[Any]:
        return list(self.var["$" + name])

    @property
    def claim(self) -> Json:
        c = self.manifest.get("claim.v2")
        return c if isinstance(c, dict) else {}

    def ingredients(self) -> list[Json]:
        return [
            a for a in self.assertions.values() if isinstance(a, dict) and a.get("relationship")
        ]

    def failures(self) -> list[str]:
        results = self.manifest.get("validationResults")
        if results is None:
            return ["MISSING_VALIDATION_RESULTS"]
        return [f.get("code") for f in results.get("failure") or []]

    def spec_at_least(self, major: int, minor: int) -> bool:
        return self.expected_spec >= (major, minor)


Rule = Callable[[Ctx], "bool | list[Any]"]
