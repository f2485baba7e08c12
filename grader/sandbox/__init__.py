"""The sandbox: isolation for untrusted code, the harness run inside it, the kernels lent to it."""
from pathlib import Path

from .isolation import Limits, SandboxResult, run_sandboxed

#: the trusted program a sandbox runs, copied next to the student's files
HARNESS = Path(__file__).with_name("harness.py")

__all__ = ["HARNESS", "Limits", "SandboxResult", "run_sandboxed"]
