"""Recorder library API: n outputs, formats, import, custom steps, own identity, entry contents."""

from __future__ import annotations

import io
import json
import shutil
import time
from pathlib import Path
from typing import Any

import c2pa
import numpy as np
import pytest
from PIL import Image

from ledger import Ledger
from provenance.backends.base import (
    Action,
    BackendOutput,
    BackendResult,
    EditRequest,
    GenerateRequest,
)
from provenance.cli import main
from provenance.credentials import make_context
from provenance.credentials.read import read_store
from provenance.home.identity import create_ca, issue_signer, pem_cert, pem_key
from provenance.home.ledger import open_ledger
from provenance.home.paths import Home
from provenance.media.imaging import encode, thumbnail_jpeg
from provenance.record.recorder import Recorder
from provenance.recovery import fingerprint
from provenance.verify import verify_path
from provenance.verify.policy import default_policy


def _ledger(home: Home) -> Ledger:
    return open_ledger(home, read_only=True)


def _context(home: Home) -> c2pa.Context:
    return make_context(trust_anchors=home.ca_cert.read_text())


def test_n_outputs_become_one_entry_each_sharing_the_request(home: Home, workdir: Path) -> None:
    with Recorder(home) as rec:
        outs = rec.generate(
            "A yellow star on a black background", workdir / "star.webp", n=3, seed=4
        )
    assert [o.path.name for o in outs] == ["star-1.webp", "star-2.webp", "star-3.webp"]
    assert len({o.sha256 for o in outs}) == 3
    with _ledger(home) as led:
        entries = [led.get(o.entry_id) for o in outs]
    groups = {e.body["request"]["group"] for e in entries if e}
    assert len(groups) == 1
    assert [e.body["request"]["index"] for e in entries if e] == [0, 1, 2]
    policy = default_policy(home)
    for o in outs:
        assert Image.open(o.path).format == "WEBP"
        assert verify_path(o.path, policy).verdict == "trusted"


def test_entry_records_inputs_roles_hashes_and_a_salted_prompt(home: Home, workdir: Path) -> None:
    with Recorder(home, actor="desk@example.org") as rec:
        [card] = rec.generate("A red circle on a white background, zebra", workdir / "c.png")
        Image.new("L", Image.open(card.path).size, 255).save(workdir / "m.png")
        [edited] = rec.edit([card.path], "grayscale", workdir / "e.jpg", mask=workdir / "m.png")
    with _ledger(home) as led:
        entry = led.get(edited.entry_id)
        assert entry is not None
        body = entry.body
        assert body["actor"] == "desk@example.org"
        assert [i["role"] for i in body["inputs"]] == ["parent", "mask"]
        assert body["inputs"][0]["sha256"] == card.sha256
        assert body["inputs"][0]["entry"] == card.entry_id
        assert entry.parents == (card.entry_id,)
        assert body["output"]["sha256"] == edited.sha256
        assert body["prompt"]["hash"].startswith("sha256:")
        assert json.loads(led.secret(edited.entry_id) or "{}")["prompt"] == "grayscale"
        generated = led.get(card.entry_id)
        assert generated is not None
        # Neither the prompt nor what the backend echoed of it reaches the leaf (erasable secret).
        assert "zebra" not in generated.leaf.decode()
        assert "circle" not in generated.leaf.decode()
        secret = json.loads(led.secret(card.entry_id) or "{}")
        assert secret["prompt"].endswith("zebra") and "zebra" in secret["ignored_words"]


def test_import_keeps_a_camera_manifest_and_becomes_the_lineage_root(
    home: Home, workdir: Path, c2pa_fixtures: Path
) -> None:
    original = workdir / "camera.jpg"
    shutil.copy(c2pa_fixtures / "public-testfiles" / "adobe-20220124-C.jpg", original)
    before = original.read_bytes()
    with Recorder(home) as rec:
        imported = rec.import_asset(original)
        again = rec.import_asset(original)
        [crop] = rec.edit([original], "crop 0 0 100 100", workdir / "crop.jpg")
    assert original.read_bytes() == before
    assert again.entry_id == imported.entry_id
    with _ledger(home) as led:
        lineage = led.lineage(crop.entry_id)
    assert [e.kind for e in lineage] == ["edit", "import"]
    # The camera file's own manifest is carried in as the parent ingredient's manifest.
    with c2pa.Reader("image/jpeg", io.BytesIO(crop.path.read_bytes())) as r:
        store = json.loads(r.json())
    active = store["manifests"][store["active_manifest"]]
    [parent] = [i for i in active["ingredients"] if i["relationship"] == "parentOf"]
    assert parent["active_manifest"] in store["manifests"]


def test_custom_step_is_signed_and_recorded(home: Home, workdir: Path) -> None:
    src = workdir / "in.png"
    Image.new("RGB", (64, 64), "purple").save(src)
    with Recorder(home) as rec:
        rec.import_asset(src)
        with rec.step(
            [src],
            workdir / "out.png",
            actions=[Action("c2pa.filtered", {"name": "denoise"})],
            software_agent="my-denoiser 2.1",
        ) as step:
            step.image = Image.open(src).rotate(180)
    report = verify_path(workdir / "out.png", default_policy(home))
    assert report.verdict == "trusted"
    assert "c2pa.filtered" in report.actions


def test_own_identity_is_not_reported_as_local(
    tmp_path: Path,
    workdir: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    ca_key, ca = create_ca("Newsroom Root CA", org="Example News")
    key, cert = issue_signer(ca_key, ca, "Example News photo desk", org="Example News")
    (tmp_path / "chain.pem").write_bytes(pem_cert(cert) + pem_cert(ca))
    (tmp_path / "key.pem").write_bytes(pem_key(key))
    (tmp_path / "ca.pem").write_bytes(pem_cert(ca))
    monkeypatch.setenv("PROVENANCE_HOME", str(tmp_path / "home"))
    assert (
        main(["init", "--cert", str(tmp_path / "chain.pem"), "--key", str(tmp_path / "key.pem")])
        == 0
    )
    assert main(["generate", "A red circle", "-o", str(workdir / "a.png")]) == 0
    capsys.readouterr()
    # Without the organisation's CA the signature is intact but not trusted ...
    assert main(["verify", "--json", str(workdir / "a.png")]) == 1
    untrusted = json.loads(capsys.readouterr().out)
    assert untrusted["verdict"] == "valid_untrusted"
    # ... and with it, trusted, and not called a local identity.
    assert (
        main(["verify", "--json", "--trust", str(tmp_path / "ca.pem"), str(workdir / "a.png")]) == 0
    )
    trusted = json.loads(capsys.readouterr().out)
    assert trusted["verdict"] == "trusted"
    assert not trusted["signer"]["local_identity"]


def test_own_identity_key_must_match_the_certificate(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    ca_key, ca = create_ca("Root")
    _, cert = issue_signer(ca_key, ca, "Signer")
    other_key, _ = issue_signer(ca_key, ca, "Other")
    (tmp_path / "chain.pem").write_bytes(pem_cert(cert) + pem_cert(ca))
    (tmp_path / "key.pem").write_bytes(pem_key(other_key))
    monkeypatch.setenv("PROVENANCE_HOME", str(tmp_path / "home"))
    assert (
        main(["init", "--cert", str(tmp_path / "chain.pem"), "--key", str(tmp_path / "key.pem")])
        == 2
    )
    assert "does not match" in capsys.readouterr().err
    assert not (tmp_path / "home" / "identity" / "signer.key.pem").exists()


def test_detail_grid_is_kept_for_outputs_only(home: Home, workdir: Path) -> None:
    with Recorder(home) as rec:
        [card] = rec.generate("A red circle on a white background", workdir / "c.png")
        [gray] = rec.edit([card.path], "grayscale", workdir / "g.png")
    with _ledger(home) as led:
        entry = led.get(gray.entry_id)
    assert entry is not None
    assert "detail" in entry.body["output"]["fingerprints"]
    assert "detail" not in entry.body["inputs"][0]["fingerprints"]
    assert "phash" in entry.body["inputs"][0]["fingerprints"]


def test_a_forked_child_records_too(home: Home, tmp_path: Path) -> None:
    """The recorder fingerprints outputs on a worker thread beside the signing; a process forked
    after recording has no such thread and must start its own, not wait forever."""
    import os

    with Recorder(home=home) as rec:
        rec.generate("A red circle", tmp_path / "a.png")
    pid = os.fork()
    if pid == 0:  # the child: record once more, then leave without running pytest's teardown
        code = 1
        try:
            with Recorder(home=home) as rec:
                rec.generate("A blue square", tmp_path / "b.png")
            code = 0
        finally:
            os._exit(code)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        done, status = os.waitpid(pid, os.WNOHANG)
        if done:
            break
        time.sleep(0.05)
    else:
        os.kill(pid, 9)
        raise AssertionError("the forked child hung while recording")
    assert os.waitstatus_to_exitcode(status) == 0
    assert (tmp_path / "b.png").exists()


class _PixelBackend:
    """Renders one noisy image and returns it the way the diffusers backend does: as ``pixels``
    (the PNG left to the recorder), as ``data`` alone, or with pixels that are not the data's."""

    name = "pixels"

    def __init__(self, image: Image.Image, mode: str, other: Image.Image | None = None) -> None:
        self.image, self.mode, self.other = image, mode, other

    def generate(self, request: GenerateRequest) -> BackendResult:
        if self.mode == "pixels":
            out = BackendOutput(b"", "image/png", pixels=self.image)
        elif self.mode == "data":
            out = BackendOutput(encode(self.image, "png"), "image/png")
        else:  # "lying": the data is one image, the pixels another
            out = BackendOutput(encode(self.image, "png"), "image/png", pixels=self.other)
        return BackendResult((out,), "pixels", "noise-1", "trainedAlgorithmicMedia", "noise 1")

    def edit(self, request: EditRequest) -> BackendResult:
        raise NotImplementedError


def _noise(size: tuple[int, int], seed: int) -> Image.Image:
    rng = np.random.default_rng(seed)
    return Image.fromarray(rng.integers(0, 256, (size[1], size[0], 3), dtype=np.uint8), "RGB")


def _record(home: Home, backend: _PixelBackend, out: Path) -> dict[str, Any]:
    with Recorder(home, backend=backend) as rec:
        [made] = rec.generate("noise", out)
    assert verify_path(made.path, default_policy(home)).verdict == "trusted"
    with _ledger(home) as led:
        entry = led.get(made.entry_id)
    assert entry is not None
    return entry.body


def test_backend_pixels_are_recorded_as_their_decoded_file_would_be(
    home: Home, workdir: Path
) -> None:
    """Pixels handed over by a backend skip decoding the output; the record must not change."""
    image = _noise((300, 200), 1)
    given = _record(home, _PixelBackend(image, "pixels"), workdir / "given.png")
    decoded = _record(home, _PixelBackend(image, "data"), workdir / "decoded.png")
    assert given["output"]["fingerprints"] == decoded["output"]["fingerprints"]
    assert (given["output"]["width"], given["output"]["height"]) == (300, 200)
    assert given["output"]["fingerprints"] == fingerprint.compute(image).to_json()
    assert given["output"]["provider_signed"] is False
    assert np.array_equal(np.asarray(Image.open(workdir / "given.png")), np.asarray(image))
    reading = read_store(
        (workdir / "given.png").read_bytes(), "image/png", _context(home), thumbnails=True
    )
    assert reading.active is not None
    thumb = reading.resources[reading.active["thumbnail"]["identifier"]]
    assert thumb == thumbnail_jpeg(image, 256)  # made from the pixels, not by c2pa decoding


def test_pixels_that_are_not_the_datas_are_ignored(home: Home, workdir: Path) -> None:
    image, other = _noise((64, 48), 2), _noise((48, 64), 3)
    body = _record(home, _PixelBackend(image, "lying", other), workdir / "out.png")
    assert (body["output"]["width"], body["output"]["height"]) == (64, 48)
    assert body["output"]["fingerprints"] == fingerprint.compute(image).to_json()


def test_a_temp_file_that_cannot_be_made_durable_records_nothing(
    home: Home, workdir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The temp file is written and fsynced on the worker while the append is prepared; the
    append commits only after it: a failed fsync (the disk's EIO) leaves no entry and no file."""
    import errno
    import os

    real_fsync = os.fsync

    def fsync(fd: int) -> None:
        if ".provenance-tmp-" in os.readlink(f"/proc/self/fd/{fd}"):
            raise OSError(errno.EIO, "Input/output error")
        real_fsync(fd)

    with Recorder(home=home) as rec:
        monkeypatch.setattr(os, "fsync", fsync)
        with pytest.raises(OSError, match="Input/output error"):
            rec.generate("A red circle", workdir / "a.png")
        monkeypatch.setattr(os, "fsync", real_fsync)
        assert list(workdir.iterdir()) == []  # neither the file nor its temp file
        with _ledger(home) as led:
            assert led.size == 0
        [made] = rec.generate("A red circle", workdir / "a.png")  # the recorder still works
    assert made.index == 0 and verify_path(made.path, default_policy(home)).verdict == "trusted"
