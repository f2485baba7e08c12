"""Cluster options and a student's folder as bytes: regular files only, an archive never trusted."""
import io
import os
import sys
import tarfile

import pytest

from cnnkit.grader.cluster.client import check_cluster_options
from cnnkit.grader.cluster.transport import pack_folder, unpack_folder
from cnnkit.grader.collect.step import fingerprint_folder
from cnnkit.grader.errors import ClusterError, GraderUsageError


def test_a_folder_arrives_with_the_same_fingerprint(tmp_path):
    src = tmp_path / "student"
    (src / "nndl" / "deep").mkdir(parents=True)
    (src / "nndl" / "conv_layers.py").write_text("x = 1\n")
    (src / "nndl" / "deep" / "w.npz").write_bytes(bytes(range(256)) * 10)
    (src / "notes.txt").write_text("é")
    (src / "secret_link").symlink_to("/etc/passwd")
    os.mkfifo(src / "pipe")
    dest = tmp_path / "dest"
    dest.mkdir()
    unpack_folder(pack_folder(src), dest)
    assert fingerprint_folder(dest) == fingerprint_folder(src)
    assert sorted(p.name for p in dest.iterdir()) == ["nndl", "notes.txt"]


def archive(*members):
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as tar:
        for info, data in members:
            tar.addfile(info, io.BytesIO(data) if data else None)
    return buffer.getvalue()


def member(name, data=b"x", kind=tarfile.REGTYPE, target=""):
    info = tarfile.TarInfo(name)
    info.type, info.size, info.linkname = kind, len(data) if kind == tarfile.REGTYPE else 0, target
    return info, data if kind == tarfile.REGTYPE else None


@pytest.mark.parametrize("bad, words", [
    (member("../escape.py"), "not a plain relative path"),
    (member("/abs.py"), "not a plain relative path"),
    (member("a/../../b.py"), "not a plain relative path"),
    (member("link", kind=tarfile.SYMTYPE, target="/etc/passwd"), "not a regular file"),
    (member("hard", kind=tarfile.LNKTYPE, target="x"), "not a regular file"),
])
def test_unpacking_refuses_what_pack_never_makes(tmp_path, bad, words):
    with pytest.raises(ValueError, match=words):
        unpack_folder(archive(member("ok.py"), bad), tmp_path)
    assert not (tmp_path.parent / "escape.py").exists()


@pytest.mark.parametrize("scheduler, cluster, words", [
    ("tcp://127.0.0.1:8786", "local:2", "either --scheduler or --cluster, not both"),
    (None, "local:0", "--cluster must be local:N with N from 1 to 64"),
    (None, "local:two", "got 'local:two'"),
    (None, "kubernetes", "got 'kubernetes'"),
    ("  ", None, "--scheduler must be an address"),
])
def test_cluster_options_are_checked(scheduler, cluster, words):
    with pytest.raises(GraderUsageError, match=words):
        check_cluster_options(scheduler, cluster)


def test_without_distributed_the_message_says_what_to_install(tmp_path, monkeypatch):
    from cnnkit.grader.api import grade_submissions
    subs = tmp_path / "subs"
    (subs / "alice").mkdir(parents=True)
    monkeypatch.setitem(sys.modules, "distributed", None)
    with pytest.raises(ClusterError, match=r"pip install 'cnnkit\[cluster\]'"):
        grade_submissions(subs, tmp_path / "out", cluster="local:1", heldout=10)


def test_cnnkit_grade_reports_a_bad_cluster_option(tmp_path, capsys):
    from cnnkit.grader.cli import main
    (tmp_path / "subs").mkdir()
    assert main(["grade", str(tmp_path / "subs"), "--out", str(tmp_path / "out"),
                 "--cluster", "local:0"]) == 2
    assert ("--cluster must be local:N with N from 1 to 64 worker processes, got 'local:0'"
            in capsys.readouterr().err)
