"""Conversational editing: Recorder.session() over the Responses API (stand-in server) and offline."""

from __future__ import annotations

import io
import json
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import openai
import pytest
from PIL import Image

from provenance.backends.openai import OpenAIBackend
from provenance.errors import BackendRefusedError, InputError
from provenance.home.ledger import open_ledger
from provenance.home.paths import Home
from provenance.record.recorder import Recorder
from tests.conftest import reports, run
from tests.openai_server import OpenAIServer


@pytest.fixture
def server() -> Iterator[OpenAIServer]:
    with OpenAIServer() as s:
        yield s


def _recorder(server: OpenAIServer) -> Recorder:
    backend = OpenAIBackend(api_key=server.api_key, base_url=server.base_url, max_retries=0)
    return Recorder(backend=backend)


def _mask(path: Path, size: tuple[int, int]) -> Path:
    mask = Image.new("L", size, 0)
    mask.paste(255, (0, 0, size[0] // 2, size[1] // 2))  # white = editable
    mask.save(path)
    return path


def _responses(server: OpenAIServer) -> list[dict[str, Any]]:
    return [r.json or {} for r in server.requests if r.path == "/v1/responses"]


def _lineage(capsys: pytest.CaptureFixture[str], path: Path) -> list[dict[str, Any]]:
    code, out, err = run(capsys, "lineage", "--json", str(path))
    assert code == 0, err
    return list(json.loads(out)["lineage"])


def test_five_turn_session_with_a_mask_in_the_third_turn(
    home: Home, workdir: Path, server: OpenAIServer, capsys: pytest.CaptureFixture[str]
) -> None:
    mask = _mask(workdir / "mask.png", (64, 64))
    ref = workdir / "ref.png"
    Image.new("RGB", (32, 32), (0, 90, 200)).save(ref)
    outs = [workdir / f"turn{i}.png" for i in range(1, 6)]
    with _recorder(server) as rec, rec.session() as chat:
        chat.turn("a lighthouse on a cliff", outs[0], size="64x64")
        chat.turn("make it dusk", outs[1])
        chat.turn("add a kite in the sky", outs[2], mask=mask)
        chat.turn("add this boat", outs[3], references=[ref])
        chat.turn("warmer colours", outs[4], options={"quality": "high"})
    turns = chat.turns
    assert [t.output.path for t in turns if t.output] == outs
    sent = _responses(server)
    assert "previous_response_id" not in sent[0]
    assert [s["previous_response_id"] for s in sent[1:]] == [t.response_id for t in turns[:4]]
    tools = [s["tools"][0] for s in sent]
    assert [t["action"] for t in tools] == ["generate"] + ["edit"] * 4
    assert "input_image_mask" in tools[2] and all(
        "input_image_mask" not in t for i, t in enumerate(tools) if i != 2
    )
    images = [[p for p in s["input"][0]["content"] if p["type"] == "input_image"] for s in sent]
    assert [len(i) for i in images] == [0, 0, 0, 1, 0]  # the chain holds the previous image
    with open_ledger(home, read_only=True) as ledger:
        entries = list(ledger.iter_entries())
    assert len(entries) == 5
    for k, e in enumerate(entries):
        facts = e.body["request"]["facts"]
        assert facts["session"]["turn"] == k + 1 and facts["session"]["id"] == chat.id
        assert facts["response_chain"] == [t.response_id for t in turns[: k + 1]]
        assert facts["response_id"] == turns[k].response_id
        assert list(e.parents) == ([entries[k - 1].id] if k else [])
    assert entries[2].body["request"]["facts"]["params"]["mask"] is True
    code, out, err = run(capsys, "verify", "--json", *map(str, outs))
    assert code == 0, err
    rs = reports(out)
    assert [r["verdict"] for r in rs] == ["trusted"] * 5
    for k, r in enumerate(rs[1:], start=1):  # each turn names the previous output as its parent
        parents = [i for i in r["chain"]["ingredients"] if i["relationship"] == "parentOf"]
        assert [p["title"] for p in parents] == [outs[k - 1].name]
    lineage = _lineage(capsys, outs[4])
    assert len([x for x in lineage if x["kind"] in ("generate", "edit")]) == 5


def test_streamed_turns_and_partial_images(home: Home, workdir: Path, server: OpenAIServer) -> None:
    seen: list[str] = []
    backend = OpenAIBackend(api_key=server.api_key, base_url=server.base_url)
    with Recorder(backend=backend, on_progress=lambda m, f: seen.append(m)) as rec:
        chat = rec.session()
        opts = {"stream": True, "partial_images": 2}
        chat.turn("a red kite", workdir / "a.png", size="64x64", options=opts)
        chat.turn("two kites", workdir / "b.png", options=opts)
    assert [s["stream"] for s in _responses(server)] == [True, True]
    assert sum("partial image" in m for m in seen) == 4
    assert chat.turns[1].output is not None


def test_refusal_words_only_and_errors(home: Home, workdir: Path, server: OpenAIServer) -> None:
    with _recorder(server) as rec:
        chat = rec.session()
        first = chat.turn("a lighthouse", workdir / "a.png", size="64x64")
        words = chat.turn("[[words]] tell me about it", workdir / "b.png")
        assert words.output is None and words.text == "I could not make that image."
        assert not (workdir / "b.png").exists()
        with pytest.raises(BackendRefusedError, match="moderation_blocked"):
            chat.turn("[[blocked]] something", workdir / "c.png")
        later = chat.turn("brighter", workdir / "d.png")
        assert later.output is not None and first.output is not None
        with open_ledger(home, read_only=True) as ledger:
            kinds = [e.kind for e in ledger.iter_entries()]
            entry = ledger.get(later.output.entry_id)
            assert entry is not None and list(entry.parents) == [first.output.entry_id]
        assert kinds == ["generate", "refusal", "edit"]
        with pytest.raises(InputError, match="turn 1: a mask"):
            rec.session().turn("x", workdir / "e.png", mask=workdir / "a.png")
    client = openai.OpenAI(api_key=server.api_key, base_url=server.base_url, max_retries=0)
    tool = {"type": "image_generation"}
    with pytest.raises(openai.BadRequestError, match="not found"):
        client.responses.create(model="gpt-5", input="x", tools=[tool], previous_response_id="r")  # type: ignore[list-item]
    with pytest.raises(openai.BadRequestError, match="Unknown parameter"):
        client.responses.create(model="gpt-5", input="x", tools=[{**tool, "n": 2}])  # type: ignore[list-item]


def test_local_session_works_offline(
    home: Home, workdir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    mask = _mask(workdir / "mask.png", (320, 200))
    outs = [workdir / f"v{i}.png" for i in range(1, 5)]
    with Recorder() as rec, rec.session() as chat:
        chat.turn("poster 320x200, dark blue, title 'Open day'", outs[0])
        chat.turn("brightness 1.2", outs[1])
        chat.turn("redact", outs[2], mask=mask)
        chat.turn("grayscale", outs[3])
    code, out, err = run(capsys, "verify", "--json", *map(str, outs))
    assert code == 0, err
    assert [r["verdict"] for r in reports(out)] == ["trusted"] * 4
    assert len(_lineage(capsys, outs[3])) == 4


def test_chat_command_reads_turns_and_records_each(
    home: Home, workdir: Path, server: OpenAIServer, capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:  # fmt: skip
    monkeypatch.setenv("OPENAI_API_KEY", server.api_key)
    monkeypatch.setenv("OPENAI_BASE_URL", server.base_url)
    mask = _mask(workdir / "mask.png", (64, 64))
    turns = workdir / "turns.txt"
    lines = [
        "a lighthouse",
        "# a comment",
        "make it dusk",
        json.dumps({"instruction": "add a kite", "mask": str(mask)}),
        "[[blocked]] nope",
        "[[words]] describe it",
        "warmer",
    ]
    turns.write_text("\n".join(lines) + "\n")
    out = workdir / "t.png"
    code, stdout, err = run(
        capsys, "chat", "-o", str(out), "--turns", str(turns), "--backend", "openai",
        "--size", "64x64", "--json",
    )  # fmt: skip
    assert code == 3, err  # one turn was refused (and recorded); the others went on
    assert "turn 4: refused by the backend (recorded)" in err
    rows = reports(stdout)
    assert [r["turn"] for r in rows] == [1, 2, 3, 5, 6]
    assert rows[3]["path"] is None and rows[3]["text"] == "I could not make that image."
    assert Path(rows[4]["path"]).name == "t-6.png"
    assert len(_lineage(capsys, workdir / "t-6.png")) == 4
    code, _, err = run(capsys, "chat", "-o", str(out), "--turns", str(mask))
    assert code == 2


def test_chat_command_bad_json_turn_is_one_line(
    home: Home, workdir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    turns = workdir / "turns.txt"
    turns.write_text('a red circle\n{"instruction": "grayscale", "colour": 1}\n')
    code, _, err = run(capsys, "chat", "-o", str(workdir / "c.png"), "--turns", str(turns))
    assert code == 2 and "turn 2: unknown key 'colour'" in err
    assert (workdir / "c-1.png").exists() and not (workdir / "c-2.png").exists()


def test_stream_error_event_and_http_errors_of_a_turn(
    home: Home, workdir: Path, server: OpenAIServer
) -> None:
    from provenance.errors import BackendError, BackendRateLimitError
    from tests.openai_server import Failure

    with _recorder(server) as rec:
        chat = rec.session(options={"stream": True})
        server.stream_error = Failure(400, "moderation_blocked", "Blocked by the safety system.")
        with pytest.raises(BackendRefusedError, match="moderation_blocked"):
            chat.turn("a kite", workdir / "a.png", size="64x64")
        server.stream_error = Failure(500, "server_error", "The stream broke.")
        with pytest.raises(BackendError, match="stream error server_error"):
            chat.turn("a kite", workdir / "a.png", size="64x64")
        server.stream_error = None
        server.fail_next(429, retry_after="7")
        with pytest.raises(BackendRateLimitError, match="retry after 7s"):
            rec.session().turn("a kite", workdir / "a.png", size="64x64")
        assert not (workdir / "a.png").exists()
        with open_ledger(home, read_only=True) as ledger:
            assert [e.kind for e in ledger.iter_entries()] == ["refusal"]


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_chat_asks_for_turns_on_a_terminal_until_an_empty_line(
    home: Home, workdir: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(sys, "stdin", _Terminal("a red circle\ngrayscale\n\nnever read\n"))
    code, out, err = run(capsys, "chat", "-o", str(workdir / "t.png"))
    assert code == 0, err
    assert "turn 1" in err and "turn 3" in err  # the prompts
    assert out.count("ledger entry") == 2 and not (workdir / "t-3.png").exists()
