"""The two scripts at the root of the Gradescope zip (LF line endings, ``#!`` lines).

``setup.sh`` runs once, as root, when Gradescope builds the autograder image;
``run_autograder`` runs once per submission. Both honour ``AUTOGRADER_ROOT``
(default ``/autograder``), so they can be tried outside a container.
"""
import re

SETUP_SH = r"""#!/usr/bin/env bash
# cnnkit autograder set-up: Gradescope runs this once, as root, when it builds the image.
# Python packages come only from the wheelhouse in this zip (no package index).
set -euo pipefail
ROOT="${AUTOGRADER_ROOT:-/autograder}"
SOURCE="$ROOT/source"
PYTHON="${CNNKIT_PYTHON:-python3}"
TARGET="@TARGET_PYTHON@"
SANDBOX_USER="@SANDBOX_USER@"

for var in $(env | sed -n 's/^\(PIP_[A-Za-z0-9_]*\)=.*/\1/p'); do unset "$var"; done
export PIP_CONFIG_FILE=/dev/null PIP_NO_INDEX=1 PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_NO_INPUT=1

# Only what the image lacks comes from apt: Python's venv module, the user tools.
missing=""
command -v "$PYTHON" >/dev/null 2>&1 || missing="python3 python3-venv"
[ -n "$missing" ] || "$PYTHON" -c "import ensurepip, venv" 2>/dev/null || missing="python3-venv"
command -v useradd >/dev/null 2>&1 || missing="$missing passwd"
if [ -n "$missing" ]; then
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $missing
fi
version="$("$PYTHON" -c 'import sys; print("%d.%d" % sys.version_info[:2])')"
if [ "$version" != "$TARGET" ]; then
    echo "setup.sh: this autograder's wheelhouse is for Python $TARGET but $PYTHON is" \
         "Python $version: choose Gradescope's Ubuntu 22.04 base image (Python 3.10)" >&2
    exit 1
fi

# The grader's environment (cnnkit, root only) and the students' (numpy, readable by all).
rm -rf "$ROOT/cnnkit-grader" "$ROOT/cnnkit-student"
"$PYTHON" -m venv "$ROOT/cnnkit-grader"
"$ROOT/cnnkit-grader/bin/python" -m pip install -q --no-index --no-deps \
    --find-links "$SOURCE/wheelhouse" -r "$SOURCE/wheelhouse/grader.txt"
"$PYTHON" -m venv "$ROOT/cnnkit-student"
"$ROOT/cnnkit-student/bin/python" -m pip install -q --no-index --no-deps \
    --find-links "$SOURCE/wheelhouse" -r "$SOURCE/wheelhouse/student.txt"

# Student code runs as this user; the zip's files, the secret, the held-out labels, the
# wheelhouse and cnnkit itself are root's alone.
id -u "$SANDBOX_USER" >/dev/null 2>&1 || useradd --system --no-create-home \
    --home-dir /nonexistent --shell /usr/sbin/nologin "$SANDBOX_USER"
chown -R root:root "$SOURCE" "$ROOT/cnnkit-grader" "$ROOT/cnnkit-student"
chmod -R go-rwx "$SOURCE" "$ROOT/cnnkit-grader"
chmod -R go+rX,go-w "$ROOT/cnnkit-student"

"$ROOT/cnnkit-grader/bin/python" -I -m cnnkit.grader.gradescope.runner --check "$ROOT" \
    || echo "setup.sh: the sandbox self-test failed here; every submission will say so"
echo "setup.sh: cnnkit autograder ready in $ROOT"
"""

RUN_AUTOGRADER = r"""#!/usr/bin/env bash
# cnnkit autograder: Gradescope runs this once per submission, as root. It always leaves
# results.json, even when cnnkit itself cannot start.
ROOT="${AUTOGRADER_ROOT:-/autograder}"
RESULTS="$ROOT/results/results.json"
mkdir -p "$ROOT/results"
cd "$ROOT" || exit 0
"$ROOT/cnnkit-grader/bin/python" -I -m cnnkit.grader.gradescope.runner "$ROOT"
status=$?
if [ "$status" -ne 0 ] || [ ! -s "$RESULTS" ]; then
    printf '%s\n' '{"score": 0.0, "output": "The autograder could not grade this submission because of a problem in the grader, not in your code; your instructor has been told.", "visibility": "visible", "stdout_visibility": "hidden", "tests": [{"name": "grader (instructors only)", "score": 0.0, "max_score": 0.0, "status": "failed", "visibility": "hidden", "output": "cnnkit could not start or crashed (exit status '"$status"'); see the autograder output (stdout) and rerun setup.sh"}], "extra_data": {"status": "grader_error"}}' \
        > "$RESULTS.tmp" && mv -f "$RESULTS.tmp" "$RESULTS"
fi
exit 0
"""


def render(text, **values):
    """``text`` with every ``@NAME@`` replaced by ``values["name"]``; none may be left."""
    for name, value in values.items():
        text = text.replace(f"@{name.upper()}@", str(value))
    left = re.findall(r"@[A-Z_]+@", text)
    if left:
        raise ValueError(f"placeholders left unfilled: {', '.join(sorted(set(left)))}")
    return text
