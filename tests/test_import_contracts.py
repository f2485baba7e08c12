"""The arrows between cnnkit's parts (DESIGN.md), as import-linter contracts (.importlinter).

The contracts are checked on the code as it is, and on a copy with one deliberately
wrong import each, to show that they would catch it.
"""
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

pytest.importorskip("importlinter")

REPO = Path(__file__).resolve().parents[1]
CONFIG = REPO / ".importlinter"
PARTS = ("reference", "grader", "widgets")


def lint(root, config):
    """Run import-linter on the packages below ``root``; return (exit status, output)."""
    code = textwrap.dedent(f"""
        import sys
        sys.path.insert(0, {str(root)!r})
        from importlinter.cli import lint_imports
        sys.exit(lint_imports(config_filename={str(config)!r}, no_cache=True, no_logo=True))
    """)
    done = subprocess.run([sys.executable, "-c", code], cwd=root, capture_output=True,
                          text=True, timeout=300)
    return done.returncode, done.stdout + done.stderr


@pytest.fixture
def copy(tmp_path):
    """The Python files of the three parts as ``tmp/cnnkit/<part>/``."""
    for part in PARTS:
        shutil.copytree(REPO / part, tmp_path / "cnnkit" / part,
                        ignore=lambda folder, names: [n for n in names if not (
                            n.endswith(".py") or (Path(folder) / n).is_dir())
                            or n in ("node_modules", "__pycache__")])
    shutil.copy(CONFIG, tmp_path / ".importlinter")
    return tmp_path


def add_import(copy, module, line):
    path = copy / "cnnkit" / module
    path.write_text(path.read_text() + f"\n{line}\n")


def test_the_code_keeps_every_contract():
    status, output = lint(REPO, CONFIG)
    assert status == 0, output
    assert "0 broken" in output


def test_the_copy_alone_keeps_them(copy):
    status, output = lint(copy, copy / ".importlinter")
    assert status == 0, output


@pytest.mark.parametrize("module, line, broken", [
    ("reference/layers.py", "from cnnkit.grader import errors", "Parts never point back"),
    ("widgets/frames.py", "import cnnkit.grader.cli", "Parts never point back"),
    ("grader/collect/step.py", "import cnnkit.widgets",
     "only the release builder may import the widgets"),
    ("grader/errors.py", "from . import api", "No import cycles inside a part"),
    ("reference/checks.py", "from . import layers", "No import cycles inside a part"),
])
def test_a_wrong_import_breaks_a_contract(copy, module, line, broken):
    add_import(copy, module, line)
    status, output = lint(copy, copy / ".importlinter")
    assert status != 0, output
    assert f"{broken}" in output and "BROKEN" in output, output
