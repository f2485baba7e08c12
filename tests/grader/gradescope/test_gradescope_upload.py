"""What a student uploads to Gradescope, made into one gradable folder (or refused, clearly)."""
import os
import stat
import zipfile

import pytest

from cnnkit.grader.gradescope import upload
from cnnkit.grader.testbank import get_assignment

CNN = get_assignment("cnn")


def release(folder):
    (folder / "nndl").mkdir(parents=True)
    (folder / "nndl" / "conv_layers.py").write_text("x = 1\n")
    (folder / "utils").mkdir()
    (folder / "utils" / "solver.py").write_text("y = 2\n")
    (folder / "1-ConvLayers.ipynb").write_text("{}")
    return folder


def zipped(path, source, prefix="", extra=()):
    with zipfile.ZipFile(path, "w") as z:
        for file in sorted(source.rglob("*")):
            if file.is_file():
                z.write(file, prefix + str(file.relative_to(source)))
        for info, data in extra:
            z.writestr(info, data)
    return path


@pytest.mark.parametrize("layout", ["files", "deeper"])
def test_release_folder_as_files_or_one_level_deeper(tmp_path, layout):
    sub = tmp_path / "submission"
    release(sub / "cnn" if layout == "deeper" else sub)
    (sub / ".DS_Store").write_text("junk")
    os.symlink("/etc/passwd", sub / "passwd-link")
    folder, problem = upload.prepare(sub, tmp_path / "staging", CNN)
    assert problem == ""
    assert (folder / "nndl" / "conv_layers.py").read_text() == "x = 1\n"
    assert folder.is_relative_to(tmp_path / "staging")
    assert not any(p.is_symlink() for p in folder.rglob("*"))


@pytest.mark.parametrize("prefix", ["", "cnn/", "My Homework/"])
def test_zip_of_the_release(tmp_path, prefix):
    sub = tmp_path / "submission"
    sub.mkdir()
    zipped(sub / "hw.zip", release(tmp_path / "mine"), prefix,
           extra=[("__MACOSX/._nndl", b"resource fork")])
    folder, problem = upload.prepare(sub, tmp_path / "staging", CNN)
    assert problem == ""
    assert (folder / "utils" / "solver.py").read_text() == "y = 2\n"


def test_garbage_is_refused_with_what_was_expected_and_found(tmp_path):
    sub = tmp_path / "submission"
    sub.mkdir()
    (sub / "homework.pdf").write_bytes(b"%PDF")
    (sub / "notes.txt").write_text("hi")
    folder, problem = upload.prepare(sub, tmp_path / "staging", CNN)
    assert folder is None
    assert problem == ("no nndl/ folder in your upload (found: homework.pdf, notes.txt). "
                       "Upload your cnn release folder: its contents as files (nndl/, utils/, "
                       "the notebooks and checkpoints/), or one .zip of that folder.")


def test_empty_upload_and_zip_without_the_release(tmp_path):
    sub = tmp_path / "submission"
    sub.mkdir()
    assert "found: nothing" in upload.prepare(sub, tmp_path / "s1", CNN)[1]
    (tmp_path / "other").mkdir()
    (tmp_path / "other" / "a.py").write_text("")
    zipped(sub / "wrong.zip", tmp_path / "other")
    folder, problem = upload.prepare(sub, tmp_path / "s2", CNN)
    assert folder is None and problem.startswith("no nndl/ folder in wrong.zip (it holds: a.py)")


def test_broken_and_unsafe_zips_are_refused(tmp_path):
    sub = tmp_path / "submission"
    sub.mkdir()
    (sub / "broken.zip").write_bytes(b"PK\x03\x04 not really")
    assert "broken.zip could not be unpacked" in upload.prepare(sub, tmp_path / "s1", CNN)[1]
    (sub / "broken.zip").unlink()
    zipped(sub / "evil.zip", release(tmp_path / "mine"), extra=[("../../escape.py", b"x")])
    folder, problem = upload.prepare(sub, tmp_path / "s2", CNN)
    assert folder is None and "unsafe path: '../../escape.py'" in problem
    assert not (tmp_path / "escape.py").exists()


def test_links_in_a_zip_are_not_unpacked(tmp_path):
    sub = tmp_path / "submission"
    sub.mkdir()
    link = zipfile.ZipInfo("nndl/secret.py")
    link.create_system = 3
    link.external_attr = (stat.S_IFLNK | 0o777) << 16
    zipped(sub / "hw.zip", release(tmp_path / "mine"), extra=[(link, "/etc/shadow")])
    folder, problem = upload.prepare(sub, tmp_path / "staging", CNN)
    assert problem == "" and not (folder / "nndl" / "secret.py").exists()


def test_zip_bombs_are_refused(tmp_path, monkeypatch):
    monkeypatch.setattr(upload, "MAX_UNPACKED_BYTES", 1000)
    sub = tmp_path / "submission"
    sub.mkdir()
    with zipfile.ZipFile(sub / "bomb.zip", "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("nndl/big.py", b"0" * 5000)
    folder, problem = upload.prepare(sub, tmp_path / "staging", CNN)
    assert folder is None and "bomb.zip unpacks to more than" in problem
