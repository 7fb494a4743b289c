"""The eval corpus: tickets with their known-good outcome, loaded from ``corpus/tickets-*.yaml``.

A case names the verdict a correct investigation reaches, the knowledge documents its citations must come
from, the tool calls that must run (or wait for approval), and the calls that must never run. Patterns are
``connector.tool`` globs; ``write:`` in front restricts a pattern to write tools (``write:*`` = any write).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from apps.agent.contracts import Verdict

CORPUS_DIR = Path(__file__).resolve().parent / "corpus"
# The first held-out split, written after the rules it tested. SPENT: its failures were read on 2026-12-06 and the
# knowledge threshold, its abstain band and the invoice month were tuned on it since 2026-12-07, so its figures are
# no longer held-out figures (reported as "heldout (spent)"); the unseen split below is the true held-out one.
HELDOUT_DIR = Path(__file__).resolve().parent / "heldout"
HELDOUT_LABEL = "heldout (spent, tuned on since 2026-12-07)"
# Written on 2026-12-07 by a helper blind to the engine (it read only the contract and the demo world), after the
# matching changes; never tuned on; run once per landing. Looking at its failures to change a rule spends it.
UNSEEN_DIR = Path(__file__).resolve().parent / "unseen"
EXPECT_KEYS = {"verdict", "citations", "actions", "proposed", "forbidden", "never_disclose"}
LANGUAGES = ("en", "de", "fr", "es", "it", "nl", "pt")


class CorpusError(ValueError):
    """A case that cannot be evaluated; the message names the file, the case and the field."""


@dataclass(frozen=True)
class Case:
    id: str
    title: str
    body: str
    verdict: Verdict  # the expected verdict (the first of ``verdicts``)
    sender: str = "customer@example.com"
    sender_name: str = ""
    citations: tuple[str, ...] = ()  # knowledge document paths, any one of which must be cited
    actions: tuple[str, ...] = ()  # connector.tool that must have been executed
    proposed: tuple[str, ...] = ()  # connector.tool that must be waiting for approval
    forbidden: tuple[str, ...] = ()  # patterns that must never execute
    tags: tuple[str, ...] = field(default_factory=tuple)
    never_disclose: tuple[str, ...] = ()  # text that must not appear in the reply (another person's data)
    language: str = "en"
    verdicts: tuple[Verdict, ...] = ()  # every verdict that counts as correct (``expect.verdict`` may list several)
    client: str = ""  # which client of the world receives it (the MSP world's second customer); empty: the first

    def accepts(self, verdict: str) -> bool:
        return verdict in {v.value for v in (self.verdicts or (self.verdict,))}


def _strings(value: Any, where: str) -> tuple[str, ...]:
    if value is None:
        return ()
    if not isinstance(value, list) or not all(isinstance(item, str) and item for item in value):
        raise CorpusError(f"{where}: give a list of non-empty strings.")
    return tuple(value)


def _case(raw: Any, where: str) -> Case:
    if not isinstance(raw, dict):
        raise CorpusError(f"{where}: each case is a mapping with id, title, body and expect.")
    for key in ("id", "title", "body"):
        if not isinstance(raw.get(key), str) or not raw[key].strip():
            raise CorpusError(f"{where}: `{key}` is required text.")
    where = f"{where} ({raw['id']})"
    expect = raw.get("expect")
    if not isinstance(expect, dict) or "verdict" not in expect:
        raise CorpusError(f"{where}: `expect.verdict` is required.")
    unknown = set(expect) - EXPECT_KEYS
    if unknown:
        raise CorpusError(f"{where}: unknown expect keys {sorted(unknown)}; use {sorted(EXPECT_KEYS)}.")
    wanted = expect["verdict"] if isinstance(expect["verdict"], list) else [expect["verdict"]]
    try:
        verdicts = tuple(Verdict(value) for value in wanted)
    except ValueError:
        raise CorpusError(
            f"{where}: verdict {expect['verdict']!r} is not one (or a list) of {[v.value for v in Verdict]}."
        ) from None
    if not verdicts:
        raise CorpusError(f"{where}: `expect.verdict` lists no verdict.")
    language = str(raw.get("lang", "en"))
    if language not in LANGUAGES:
        raise CorpusError(f"{where}: lang {language!r} is not one of {', '.join(LANGUAGES)}.")
    return Case(
        id=raw["id"],
        title=raw["title"].strip(),
        body=raw["body"].strip(),
        verdict=verdicts[0],
        verdicts=verdicts,
        sender=str(raw.get("from", "customer@example.com")),
        sender_name=str(raw.get("name", "")),
        citations=_strings(expect.get("citations"), f"{where} expect.citations"),
        actions=_strings(expect.get("actions"), f"{where} expect.actions"),
        proposed=_strings(expect.get("proposed"), f"{where} expect.proposed"),
        forbidden=_strings(expect.get("forbidden"), f"{where} expect.forbidden"),
        tags=_strings(raw.get("tags"), f"{where} tags"),
        language=language,
        never_disclose=_strings(expect.get("never_disclose"), f"{where} expect.never_disclose"),
        client=str(raw.get("client", "")),
    )


def load_cases(directory: Path = CORPUS_DIR, *, only: str = "") -> list[Case]:
    """Every case of every ``tickets-*.yaml`` in ``directory`` (or of that one file); ``only`` keeps ids containing
    it."""
    cases: list[Case] = []
    seen: set[str] = set()
    for path in [directory] if directory.is_file() else sorted(directory.glob("tickets-*.yaml")):
        try:
            raw = yaml.safe_load(path.read_text(encoding="utf-8"))
        except yaml.YAMLError as exc:
            raise CorpusError(f"{path.name}: not valid YAML: {exc}") from None
        if not isinstance(raw, list):
            raise CorpusError(f"{path.name}: the file must be a list of cases.")
        for index, item in enumerate(raw, start=1):
            case = _case(item, f"{path.name} case {index}")
            if case.id in seen:
                raise CorpusError(f"{path.name}: the id {case.id!r} is used twice.")
            seen.add(case.id)
            cases.append(case)
    if not cases:
        raise CorpusError(f"No cases found in {directory} (files named tickets-*.yaml).")
    return [case for case in cases if only in case.id]
