"""The recorder and CLI with ``--backend openai`` against the local wire-format server."""

from __future__ import annotations

import io
import json
import logging
import sqlite3
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from PIL import Image

from provenance.backends.openai import OpenAIBackend
from provenance.errors import EXIT_AUTH, EXIT_BACKEND, EXIT_RATE_LIMITED, EXIT_REFUSED
from provenance.home.actor import actor_pseudonym
from provenance.home.ledger import open_ledger
from provenance.home.paths import Home
from provenance.record.recorder import Recorder
from tests.conftest import files_in, reports, run
from tests.openai_server import OpenAIServer

KEY = "sk-proj-RECORDEDsecret0123456789abcdef"


@pytest.fixture
def server() -> Iterator[OpenAIServer]:
    with OpenAIServer(api_key=KEY) as s:
        yield s


@pytest.fixture
def openai_env(server: OpenAIServer, monkeypatch: pytest.MonkeyPatch) -> OpenAIServer:
    monkeypatch.setenv("OPENAI_API_KEY", KEY)
    monkeypatch.setenv("OPENAI_BASE_URL", server.base_url)
    return server


def entries(home: Home) -> list[Any]:
    with open_ledger(home, read_only=True) as ledger:
        return list(ledger.iter_entries())


def _png(path: Path, size: tuple[int, int], color: tuple[int, int, int]) -> Path:
    Image.new("RGB", size, color).save(path)
    return path


def test_generate_three_records_three_verified_entries(
    home: Home, workdir: Path, openai_env: OpenAIServer, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err = run(
        capsys,
        "generate",
        "three kites over a dune",
        "-o",
        str(workdir / "kite.png"),
        "--backend",
        "openai",
        "--size",
        "64x64",
        "-n",
        "3",
        "--quality",
        "low",
        "--json",
    )
    assert code == 0, err
    paths = [workdir / f"kite-{i}.png" for i in (1, 2, 3)]
    assert [Path(r["path"]) for r in reports(out)] == paths
    recorded = entries(home)
    assert len(recorded) == 3
    request_id = openai_env.requests[-1].request_id
    for e in recorded:
        assert e.body["backend"] == "openai" and e.body["model"] == "gpt-image-2"
        facts = e.body["request"]["facts"]
        assert facts["request_id"] == request_id
        assert facts["usage"]["output_tokens"] == 3 * 1056
        assert facts["params"]["quality"] == "low" and facts["quality"] == "low"
    code, out, err = run(capsys, "verify", "--json", *map(str, paths))
    assert code == 0, err
    rs = reports(out)
    assert [r["verdict"] for r in rs] == ["trusted"] * 3
    assert all(r["ai_generated"] and r["ledger_entry"] for r in rs)
    assert {r["ledger_entry"] for r in rs} == {e.id for e in recorded}


def test_edit_three_inputs_and_mask(
    home: Home, workdir: Path, openai_env: OpenAIServer, capsys: pytest.CaptureFixture[str]
) -> None:
    parent = _png(workdir / "parent.png", (64, 64), (200, 0, 0))
    refs = [_png(workdir / f"ref{i}.png", (32, 32), (0, 0, 50 * i)) for i in (1, 2)]
    mask = Image.new("L", (64, 64), 0)
    mask.paste(255, (0, 0, 32, 32))  # white = editable
    mask.save(workdir / "mask.png")
    out_path = workdir / "edited.png"
    code, _, err = run(
        capsys,
        "edit",
        str(parent),
        *map(str, refs),
        "-i",
        "add a kite",
        "--mask",
        str(workdir / "mask.png"),
        "-o",
        str(out_path),
        "--backend",
        "openai",
        "--input-fidelity",
        "high",
    )
    assert code == 0, err
    got = openai_env.requests[-1]
    assert got.file_names() == ["image[]", "image[]", "image[]", "mask"]
    assert got.fields["input_fidelity"] == "high"
    [entry] = entries(home)
    assert [i["role"] for i in entry.body["inputs"]] == ["parent", "reference", "reference", "mask"]
    assert entry.body["digital_source_type"] == "compositeWithTrainedAlgorithmicMedia"
    assert "c2pa.edited" in entry.body["actions"]
    assert entry.body["request"]["facts"]["request_id"] == got.request_id
    code, out, _ = run(capsys, "verify", "--json", str(out_path))
    [r] = reports(out)
    assert code == 0 and r["verdict"] == "trusted"


def test_provider_manifest_survives_as_parent(
    home: Home, workdir: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    with OpenAIServer(api_key=KEY, provider_c2pa=True) as server:
        monkeypatch.setenv("OPENAI_API_KEY", KEY)
        monkeypatch.setenv("OPENAI_BASE_URL", server.base_url)
        out_path = workdir / "signed.png"
        code, _, err = run(
            capsys,
            "generate",
            "a signed kite",
            "-o",
            str(out_path),
            "--backend",
            "openai",
            "--size",
            "32x32",
        )
        assert code == 0, err
        provider_bytes = server.requests[-1].sent_images[0]
    [entry] = entries(home)
    assert entry.body["output"]["provider_signed"] is True
    assert entry.body["output"]["facts"]["provider_manifest"] is True
    code, out, _ = run(capsys, "verify", "--json", str(out_path))
    [r] = reports(out)
    assert r["verdict"] == "trusted"
    chain = r["chain"]
    [provider] = [i for i in chain["ingredients"] if i["relationship"] == "parentOf"]
    assert (
        provider["has_manifest"]
        and provider["signer"]["common_name"] == "Test Image Provider Signer"
    )
    assert r["signer"]["common_name"] != provider["signer"]["common_name"]  # both signers shown
    # Our file is not the provider's bytes (we signed on top), but its pixels are.
    assert out_path.read_bytes() != provider_bytes
    assert Image.open(out_path).tobytes() == Image.open(io.BytesIO(provider_bytes)).tobytes()


@pytest.mark.parametrize(
    ("status", "code", "exit_code"),
    [
        (401, "invalid_api_key", EXIT_AUTH),
        (429, "rate_limit_exceeded", EXIT_RATE_LIMITED),
        (500, None, EXIT_BACKEND),
    ],
)
def test_failures_write_nothing(
    home: Home,
    workdir: Path,
    openai_env: OpenAIServer,
    capsys: pytest.CaptureFixture[str],
    status: int,
    code: str | None,
    exit_code: int,
) -> None:
    openai_env.fail_next(status, code, times=10, retry_after="0")
    before = files_in(workdir)
    rc, _, err = run(
        capsys,
        "generate",
        "a kite",
        "-o",
        str(workdir / "x.png"),
        "--backend",
        "openai",
        "--size",
        "32x32",
    )
    assert rc == exit_code
    assert err.count("\n") == 1 and str(status) in err and KEY not in err
    assert files_in(workdir) == before
    assert entries(home) == []


def test_refusal_is_recorded_as_refused_attempt(
    home: Home, workdir: Path, openai_env: OpenAIServer, capsys: pytest.CaptureFixture[str]
) -> None:
    rc, _, err = run(
        capsys,
        "generate",
        "something [[blocked]]",
        "-o",
        str(workdir / "x.png"),
        "--backend",
        "openai",
    )
    assert rc == EXIT_REFUSED and "moderation_blocked" in err
    assert files_in(workdir) == []
    [entry] = entries(home)
    assert entry.kind == "refusal" and entry.body["refused"] is True
    assert entry.body["code"] == "moderation_blocked"
    assert entry.body["request_id"] == openai_env.requests[-1].request_id


def test_key_appears_nowhere(
    home: Home,
    workdir: Path,
    openai_env: OpenAIServer,
    capsys: pytest.CaptureFixture[str],
    caplog: pytest.LogCaptureFixture,
) -> None:
    with caplog.at_level(logging.DEBUG):
        assert (
            run(
                capsys,
                "generate",
                "a kite",
                "-o",
                str(workdir / "a.png"),
                "--backend",
                "openai",
                "--size",
                "32x32",
            )[0]
            == 0
        )
        assert (
            run(
                capsys,
                "generate",
                "[[blocked]]",
                "-o",
                str(workdir / "b.png"),
                "--backend",
                "openai",
            )[0]
            == EXIT_REFUSED
        )
        openai_env.fail_next(401, "invalid_api_key", message=f"Incorrect API key provided: {KEY}.")
        rc, out, err = run(
            capsys, "generate", "a kite", "-o", str(workdir / "c.png"), "--backend", "openai"
        )
        assert rc == EXIT_AUTH
    assert KEY not in out + err and KEY not in caplog.text
    for path in [*workdir.iterdir(), *home.root.rglob("*")]:
        if path.is_file():
            assert KEY.encode() not in path.read_bytes(), path
    with sqlite3.connect(home.ledger_db) as db:
        dump = "\n".join(db.iterdump())
    assert KEY not in dump


def test_recorder_api_with_a_backend_instance(
    home: Home, workdir: Path, server: OpenAIServer
) -> None:
    backend = OpenAIBackend(api_key=KEY, base_url=server.base_url, max_retries=0)
    progress: list[str] = []
    with Recorder(home, backend=backend) as rec:
        rec.on_progress = lambda m, f: progress.append(m)
        [out] = rec.generate(
            "a streamed kite",
            workdir / "s.webp",
            size="32x32",
            options={"stream": True, "partial_images": 2},
        )
    assert out.mime == "image/webp" and out.path.exists()
    assert "partial image 2 of 2" in progress
    [entry] = entries(home)
    assert entry.body["request"]["facts"]["partial_images_received"] == 2


def test_cli_without_key_fails_cleanly(
    home: Home, workdir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    rc, _, err = run(
        capsys, "generate", "a kite", "-o", str(workdir / "k.png"), "--backend", "openai"
    )
    assert rc == 2
    assert err.startswith("provenance: error: OPENAI_API_KEY is not set") and err.count("\n") == 1
    assert files_in(workdir) == [] and entries(home) == []


def test_cli_refuses_transparent_jpeg_before_sending(
    home: Home, workdir: Path, openai_env: OpenAIServer, capsys: pytest.CaptureFixture[str]
) -> None:
    rc, _, err = run(
        capsys,
        "generate",
        "a sticker",
        "-o",
        str(workdir / "s.jpg"),
        "--backend",
        "openai",
        "--background",
        "transparent",
    )
    assert rc == 2 and "needs output format png or webp" in err
    assert openai_env.requests == [] and files_in(workdir) == [] and entries(home) == []


def test_actor_reaches_openai_only_as_a_pseudonym(home: Home, workdir: Path) -> None:
    with OpenAIServer(api_key="sk-test-pseudonym") as server:
        backend = OpenAIBackend(api_key="sk-test-pseudonym", base_url=server.base_url)
        with Recorder(home, backend=backend, actor="alice@example.org") as rec:
            rec.generate("a lighthouse", workdir / "l.png")
            rec.generate("a lighthouse", workdir / "m.png", options={"user": "explicit"})
        sent = [r.json for r in server.requests if r.json]
    pseudonym = actor_pseudonym(home, "alice@example.org")
    assert sent[0]["safety_identifier"] == pseudonym
    assert "alice" not in json.dumps(sent[0])
    assert "safety_identifier" not in sent[1] and sent[1]["user"] == "explicit"
    assert actor_pseudonym(home, "bob@example.org") != pseudonym


@pytest.mark.parametrize("ext", ["gif", "svg"])
def test_gif_and_svg_outputs_are_signed_recorded_and_trusted(
    home: Home,
    workdir: Path,
    openai_env: OpenAIServer,
    capsys: pytest.CaptureFixture[str],
    ext: str,
) -> None:
    out_path = workdir / f"anim.{ext}"
    extra = ["--frame-count", "3", "--frame-duration-ms", "150"] if ext == "gif" else []
    code, _, err = run(
        capsys, "generate", "a kite", "-o", str(out_path), "--backend", "openai",
        "--size", "64x48", *extra,
    )  # fmt: skip
    assert code == 0, err
    sent = openai_env.requests[-1].json or {}
    assert sent["output_format"] == ext
    (entry,) = entries(home)
    output = entry.body["output"]
    assert output["mime"] == ("image/gif" if ext == "gif" else "image/svg+xml")
    assert (output["width"], output["height"]) == (64, 48)
    # A GIF is fingerprinted on its first frame; an SVG has no pixels, so no fingerprints.
    assert bool(output["fingerprints"]) is (ext == "gif")
    if ext == "gif":
        assert entry.body["request"]["facts"]["params"]["frame_count"] == 3
    code, out, err = run(capsys, "verify", "--json", str(out_path))
    assert code == 0, err
    assert reports(out)[0]["verdict"] == "trusted"


def test_retired_model_is_a_warning_on_stderr_and_the_refusal_one_line(
    home: Home, workdir: Path, openai_env: OpenAIServer, capsys: pytest.CaptureFixture[str]
) -> None:
    code, _, err = run(
        capsys, "generate", "a kite", "-o", str(workdir / "k.png"), "--backend", "openai",
        "--model", "gpt-image-1-mini", "--size", "1024x1024",
    )  # fmt: skip
    assert code == EXIT_BACKEND
    assert "warning: model 'gpt-image-1-mini': OpenAI shut it down on 2026-12-01" in err
    assert "gpt-image-2.5-flare" in err and "model_not_found" in err
    assert entries(home) == [] and len(openai_env.requests) == 1


def test_quality_means_openai_quality_and_jpeg_quality_is_local(
    home: Home, workdir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, _, err = run(
        capsys, "generate", "a red circle", "-o", str(workdir / "c.jpg"), "--jpeg-quality", "40"
    )
    assert code == 0, err
    code, _, err = run(
        capsys, "generate", "a red circle", "-o", str(workdir / "d.jpg"), "--quality", "high"
    )
    assert code == 2 and "takes jpeg_quality" in err and "--jpeg-quality" in err
