"""collect: plain and nbgrader layouts, nested copies, ungradable folders, fingerprints."""
import pytest

from cnnkit.grader.collect.step import collect
from cnnkit.grader.errors import GraderUsageError
from cnnkit.grader.testbank import CNN


def make(folder, files=("nndl/conv_layers.py",)):
    for f in files:
        (folder / f).parent.mkdir(parents=True, exist_ok=True)
        (folder / f).write_text("x = 1\n")


def test_plain_layout_with_a_nested_copy_and_ungradable_folders(tmp_path):
    make(tmp_path / "alice")
    make(tmp_path / "bob" / "hw3-final")
    (tmp_path / "carol").mkdir()
    (tmp_path / "carol" / "report.pdf").write_text("")
    make(tmp_path / "bad name!")
    (tmp_path / ".hidden").mkdir()
    subs = {s.student_id: s for s in collect(tmp_path, CNN)}
    assert sorted(subs) == ["alice", "bad name!", "bob", "carol"]
    assert subs["alice"].folder == tmp_path / "alice" and not subs["alice"].problem
    assert subs["bob"].folder == tmp_path / "bob" / "hw3-final"
    assert subs["carol"].problem == ("no nndl/ folder found (expected carol/nndl/conv_layers.py); "
                                     "the folder holds: report.pdf")
    assert "is not a valid student id" in subs["bad name!"].problem


def test_nbgrader_layout(tmp_path):
    make(tmp_path / "submitted" / "alice" / "cnn")
    (tmp_path / "submitted" / "bob" / "other").mkdir(parents=True)
    subs = {s.student_id: s for s in collect(tmp_path, CNN)}
    assert subs["alice"].folder == tmp_path / "submitted" / "alice" / "cnn"
    assert subs["bob"].problem == "no cnn/ folder in bob's nbgrader submission"
    assert [s.student_id for s in collect(tmp_path / "submitted", CNN)] == ["alice", "bob"]


def test_fingerprint_changes_with_content_and_ignores_caches(tmp_path):
    make(tmp_path / "alice")
    before = collect(tmp_path, CNN)[0].fingerprint
    (tmp_path / "alice" / "nndl" / "__pycache__").mkdir()
    (tmp_path / "alice" / "nndl" / "__pycache__" / "x.pyc").write_text("cache")
    assert collect(tmp_path, CNN)[0].fingerprint == before
    (tmp_path / "alice" / "nndl" / "conv_layers.py").write_text("x = 2\n")
    assert collect(tmp_path, CNN)[0].fingerprint != before


def test_symlinks_are_not_followed(tmp_path):
    make(tmp_path / "alice")
    (tmp_path / "alice" / "nndl" / "secret.py").symlink_to("/etc/hostname")
    (tmp_path / "mallory").symlink_to(tmp_path / "alice", target_is_directory=True)
    subs = {s.student_id: s for s in collect(tmp_path, CNN)}
    assert subs["mallory"].problem == "the student folder is a symbolic link"


def test_missing_root_is_a_usage_error(tmp_path):
    with pytest.raises(GraderUsageError, match="SUBMISSIONS .*missing: not a folder"):
        collect(tmp_path / "missing", CNN)


def test_fifos_devices_links_and_deep_folders_are_skipped_not_opened(tmp_path):
    import os
    import signal
    from cnnkit.grader.run.step import copy_sources
    from cnnkit.grader.files import regular_files
    make(tmp_path / "alice")
    nndl = tmp_path / "alice" / "nndl"
    os.mkfifo(nndl / "notes.py")
    (nndl / "stdin.py").symlink_to("/dev/stdin")
    levels = [nndl]
    for _ in range(1200):  # deeper than Python's recursion limit
        levels.append(levels[-1] / "d")
        os.mkdir(levels[-1])
    signal.alarm(20)  # opening the FIFO would block forever
    try:
        sub = collect(tmp_path, CNN)[0]
        assert sub.fingerprint and not sub.problem
        assert regular_files(tmp_path / "alice") == ["nndl/conv_layers.py"]
        copy_sources(tmp_path / "alice", tmp_path / "copy")
        assert regular_files(tmp_path / "copy") == ["nndl/conv_layers.py"]
    finally:
        signal.alarm(0)
        for level in reversed(levels[1:]):  # shutil.rmtree would recurse too deep
            os.rmdir(level)
