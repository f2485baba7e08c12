"""Fetch the widget JavaScript pinned in ``widgets/package-lock.json`` into the build.

Exported widget pages load ``require.js`` and ``@jupyter-widgets/html-manager``'s
``embed-amd.js`` from their own folder. The wheel carries both, taken from the npm
tarballs the lock file pins (its ``resolved`` URL, or the registry's standard one for that
name and version), each checked against the lock file's ``integrity`` hash before anything
is unpacked. No Node.js or npm is needed, at build time or later. Verified tarballs are
cached by hash in ``$CNNKIT_NPM_CACHE`` (default ``~/.cache/cnnkit/npm``).
"""
import base64
import hashlib
import io
import json
import os
import tarfile
import urllib.request
from pathlib import Path

REGISTRY = os.environ.get("CNNKIT_NPM_REGISTRY", "https://registry.npmjs.org").rstrip("/")
#: package -> files (inside the tarball's ``package/``) that a page needs, by glob
WANTED = {
    "@jupyter-widgets/html-manager": ("dist/embed-amd.js", "dist/*.woff", "dist/*.woff2",
                                      "dist/*.ttf", "dist/*.eot", "dist/*.svg"),
    "requirejs": ("require.js",),
}
#: shipped beside them: the packages' licences and manifests (which state the licence)
LICENCES = ("LICENSE*", "LICENCE*", "COPYING*", "dist/*.LICENSE.txt", "package.json",
            "README*")
NOTICE = "THIRD-PARTY-NOTICES.txt"


def pinned(lock_file):
    """``{name: {"version", "url", "integrity", "license"}}`` of the wanted packages."""
    lock = json.loads(Path(lock_file).read_text())
    found = {}
    for name in WANTED:
        entry = lock.get("packages", {}).get(f"node_modules/{name}")
        if not entry or "integrity" not in entry:
            raise RuntimeError(f"{lock_file}: no pinned version with an integrity hash for {name}")
        basename = name.rsplit("/", 1)[-1]
        url = entry.get("resolved") or f"{REGISTRY}/{name}/-/{basename}-{entry['version']}.tgz"
        found[name] = {"version": entry["version"], "url": url,
                       "integrity": entry["integrity"], "license": entry.get("license", "")}
    return found


def check_integrity(data, integrity, what):
    """Raise unless ``data`` matches one of the Subresource Integrity hashes given."""
    for token in integrity.split():
        algorithm, _, digest = token.partition("-")
        if algorithm in ("sha512", "sha384", "sha256", "sha1"):
            actual = base64.b64encode(hashlib.new(algorithm, data).digest()).decode()
            if actual == digest:
                return
    raise RuntimeError(f"{what}: the download does not match the lock file's integrity "
                       f"{integrity[:30]}...; refusing to ship it")


def _cache_dir():
    default = Path.home() / ".cache" / "cnnkit" / "npm"
    return Path(os.environ.get("CNNKIT_NPM_CACHE", default))


def download(pin, timeout=120):
    """The tarball's bytes, integrity-checked (from the cache when it holds them)."""
    key = hashlib.sha256(pin["integrity"].encode()).hexdigest()[:32]
    cached = _cache_dir() / f"{key}.tgz"
    if cached.is_file():
        data = cached.read_bytes()
        try:
            check_integrity(data, pin["integrity"], str(cached))
            return data
        except RuntimeError:
            cached.unlink()
    try:
        with urllib.request.urlopen(pin["url"], timeout=timeout) as response:
            data = response.read()
    except OSError as err:
        raise RuntimeError(f"cannot download {pin['url']} ({err}); the wheel needs the npm "
                           "registry (or set CNNKIT_NPM_REGISTRY to a mirror)") from err
    check_integrity(data, pin["integrity"], pin["url"])
    try:
        cached.parent.mkdir(parents=True, exist_ok=True)
        partial = cached.with_suffix(f".{os.getpid()}.part")
        partial.write_bytes(data)
        partial.replace(cached)
    except OSError:
        pass  # a cache that cannot be written only costs a download next time
    return data


def _matches(relpath, patterns):
    from fnmatch import fnmatch
    return any(fnmatch(relpath, p) and relpath.count("/") == p.count("/") for p in patterns)


def unpack(name, data, dest):
    """Write the wanted files and licences of one tarball under ``dest/<name>/``."""
    written = []
    with tarfile.open(fileobj=io.BytesIO(data), mode="r:gz") as tar:
        for member in tar.getmembers():
            if not member.isfile() or not member.name.startswith("package/"):
                continue
            relpath = member.name[len("package/"):]
            if not _matches(relpath, WANTED[name] + LICENCES):
                continue
            target = Path(dest, name, relpath)
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(tar.extractfile(member).read())
            written.append(target)
    missing = [p for p in WANTED[name] if "*" not in p and not Path(dest, name, p).is_file()]
    if missing:
        raise RuntimeError(f"{name}: the tarball has no {', '.join(missing)}")
    return written


def notice(pins):
    lines = ["JavaScript shipped with cnnkit so that exported widget pages work offline.",
             "Fetched at build time from the versions pinned in widgets/package-lock.json;",
             "each package's own licence files and package.json are beside it.", ""]
    for name, pin in sorted(pins.items()):
        lines += [f"{name} {pin['version']}", f"  licence: {pin['license']}",
                  f"  source: {pin['url']}", f"  integrity: {pin['integrity']}", ""]
    return "\n".join(lines)


def fetch_assets(lock_file, dest):
    """Fill ``dest`` (a node_modules-like folder) with the pinned widget JavaScript.

    Returns the written paths. Does nothing but return them when ``dest`` already holds
    the files of the same pins (an earlier build).
    """
    dest = Path(dest)
    pins = pinned(lock_file)
    stamp = dest / NOTICE
    if stamp.is_file() and stamp.read_text() == notice(pins):
        return sorted(p for p in dest.rglob("*") if p.is_file())
    written = []
    for name, pin in sorted(pins.items()):
        written += unpack(name, download(pin), dest)
    stamp.write_text(notice(pins))
    return sorted(written + [stamp])
