"""Copy detection: k-gram fingerprints of the code each student wrote, compared pairwise.

What is compared is a student's *own code*: in each file of the release that
holds stubs, every function or method whose text differs from the release's
(the stubs they filled in and the helpers they added), one after another in
file and name order. Functions left as the release gave them count for nobody,
and the fingerprints of the release's files (the given code: docstrings,
signatures, given lines) are removed as boilerplate, so the shared starting
point never looks like copying. The release is built from the assignment
source, never retyped.

Fingerprints are copydetect's (MIT; the winnowing of Schleimer, Wilkerson and
Aiken's MOSS): pygments tokens with every identifier replaced by one letter,
comments and whitespace dropped, hashes of every k-gram of the result.
Renamed variables, rewritten comments, reflowed whitespace and reordered
functions therefore leave the fingerprints of a copy unchanged.

A matrix product of the students' fingerprint sets gives every pair's count of
shared fingerprints; only pairs sharing at least ``PREFILTER`` times the
threshold of the smaller set are compared exactly. A pair scores copydetect's
measure, the larger of the two shares of each student's code covered by
matching k-grams (computed on arrays here); copydetect's ``compare_files``
finds the matching regions of the most alike pairs for the side-by-side view.
A flagged pair is evidence for a person to review: it never changes a grade.
"""
import ast
import io
import tempfile
import textwrap
import time
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

import numpy as np

from ..files import is_regular
from ..settings import SETTINGS, check_setting

#: smallest run of matching normalised characters that counts (copydetect's noise threshold);
#: at 25 honest loops over the same arrays already share half their text
NOISE = 50
#: a match this long is always found (guarantee threshold). Equal to NOISE, every k-gram is
#: kept (copydetect's default): a wider winnowing window would choose k-grams by Python's
#: string hash, which is randomised per process, and scores would change from run to run
GUARANTEE = 50
#: pairs scoring this or more are flagged, unless the caller says otherwise
THRESHOLD = SETTINGS["similarity_threshold"].default
#: own code shorter than this many normalised characters is not compared (too little to judge)
MIN_CHARS = 200
#: the most alike pairs get their matching regions found, for the side-by-side view
HIGHLIGHTED = 50
#: vocabulary columns per block of the matrix product that finds candidate pairs
CHUNK = 8192
#: student files larger than this are not read (no handwritten module is near it)
MAX_FILE_BYTES = 1_000_000
#: pairs approximately below ``THRESHOLD * PREFILTER`` are not compared exactly
PREFILTER = 0.4


@dataclass
class OwnCode:
    """One student's own functions as one text, and where each function sits in it."""
    student: str
    text: str
    spans: list = field(default_factory=list)   # (start, end, "file:qualname")


@dataclass
class Pair:
    """Two students (or a student and an archived submission) and how alike their code is."""
    student_a: str
    student_b: str
    score: float
    functions: list
    slices_a: list = field(default_factory=list)   # [[start, end], ...] in a's own code
    slices_b: list = field(default_factory=list)
    flagged: bool = False


@dataclass
class SimilarityResult:
    """Pairs compared exactly (highest score first), students left out and why, timing."""
    threshold: float
    pairs: list = field(default_factory=list)
    codes: dict = field(default_factory=dict)      # id -> OwnCode of everyone compared
    left_out: dict = field(default_factory=dict)   # id -> reason
    seconds: float = 0.0
    compared_pairs: int = 0

    @property
    def flagged(self):
        return [p for p in self.pairs if p.flagged]

    def __repr__(self):
        return (f"SimilarityResult(students={len(self.codes)}, flagged={len(self.flagged)}, "
                f"threshold={self.threshold}, seconds={self.seconds:.1f})")


def available():
    """Whether copydetect is installed (it comes with the ``grader`` extra)."""
    try:
        import copydetect  # noqa: F401
    except ImportError:
        return False
    return True


def check_threshold(value):
    """The threshold, checked against its range in :data:`cnnkit.grader.settings.SETTINGS`."""
    return float(check_setting("similarity_threshold", value))


# ------------------------------------------------------------------ the given code

def given_code(source=None):
    """``{relpath: text}`` of the release files that hold stubs, built from the source."""
    from ..release.layout import source_dir
    source = Path(source or source_dir())
    stamp = tuple(sorted((str(p), p.stat().st_mtime_ns) for p in source.rglob("*.py")))
    return dict(_release_files(str(source), stamp))


@lru_cache(maxsize=2)
def _release_files(source, stamp):
    from ..release.build import build_package
    with tempfile.TemporaryDirectory() as tmp:
        report = build_package(source, Path(tmp) / "release", solutions=False)
        files = sorted({key.split(":", 1)[0] for key in report.stubs})
        return tuple((f, (Path(tmp) / "release" / f).read_text()) for f in files)


def _top_functions(text):
    """``{qualname: source}`` of module-level functions and of methods of module-level classes."""
    tree = ast.parse(text)
    found = {}
    for node in tree.body:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            found[node.name] = _segment(text, node)
        elif isinstance(node, ast.ClassDef):
            for item in node.body:
                if isinstance(item, (ast.FunctionDef, ast.AsyncFunctionDef)):
                    found[f"{node.name}.{item.name}"] = _segment(text, item)
    return found


def _segment(text, node):
    """A function's source, dedented (methods read like functions)."""
    return textwrap.dedent(ast.get_source_segment(text, node, padded=True)).strip("\n")


def own_code(student, folder, given):
    """The :class:`OwnCode` of the submission in ``folder``, or a reason it has none (a str)."""
    parts, spans, pos, problems = [], [], 0, []
    for relpath, release_text in given.items():
        path = Path(folder) / relpath
        if not is_regular(path):
            problems.append(f"{relpath} missing")
            continue
        if path.stat().st_size > MAX_FILE_BYTES:
            problems.append(f"{relpath} is larger than {MAX_FILE_BYTES // 1000} kB")
            continue
        try:
            mine = _top_functions(path.read_text(encoding="utf-8", errors="replace"))
        except (SyntaxError, ValueError, RecursionError, MemoryError) as err:
            problems.append(f"{relpath} could not be parsed ({type(err).__name__}: {err})")
            continue
        theirs = _top_functions(release_text)
        for name in sorted(mine):
            if mine[name].strip() == (theirs.get(name) or "").strip():
                continue
            chunk = f"# {relpath}: {name}\n{mine[name].strip()}\n\n"
            spans.append((pos, pos + len(chunk), f"{relpath}:{name}"))
            parts.append(chunk)
            pos += len(chunk)
    if not parts:
        return "; ".join(problems) or "no function differs from the release"
    return OwnCode(student, "".join(parts), spans)


# ------------------------------------------------------------------ fingerprints

def _window():
    return GUARANTEE - NOISE + 1


def boilerplate_hashes(given):
    """Every k-gram hash of the release's files: matches there are the given code, not copying."""
    from copydetect.utils import filter_code, hashed_kgrams
    hashes = [hashed_kgrams(filter_code(text, "given.py", "python")[0], NOISE)
              for text in given.values()]
    return np.unique(np.concatenate(hashes)) if hashes else np.array([], dtype=np.int64)


class Print:
    """A student's copydetect fingerprint, with its hashes as arrays for fast pair scores."""

    def __init__(self, code, boilerplate):
        from copydetect import CodeFingerprint
        self.code = code
        self.fp = CodeFingerprint(f"{code.student}.py", NOISE, _window(), boilerplate=boilerplate,
                                  language="python", fp=io.StringIO(code.text))
        # one entry per fingerprinted k-gram (a position has one hash), in hash order
        entries = sorted((h, i) for h, where in self.fp.hash_idx.items() for i in where)
        self.entry_hash = np.array([h for h, _ in entries], dtype=np.int64)
        self.entry_pos = np.array([i for _, i in entries], dtype=np.int64)
        self.hashes = np.unique(self.entry_hash)
        self.size = max(len(self.hashes), 1)
        self.function_starts = self._function_starts()

    def keep_only(self, common):
        """Forget the k-grams nobody else has (sorted ``common`` hashes): they never match."""
        keep = np.isin(self.entry_hash, common)
        self.entry_hash, self.entry_pos = self.entry_hash[keep], self.entry_pos[keep]
        self.hashes = np.unique(self.entry_hash)

    def _function_starts(self):
        """Where each function of the own code starts in the normalised text."""
        n = len(self.fp.filtered_code)
        offsets = self.fp.offsets
        filtered = np.arange(n + 1)
        raw = filtered if not len(offsets) else filtered + offsets[:, 1][np.clip(
            np.searchsorted(offsets[:, 0], filtered), 0, len(offsets) - 1)]
        return np.searchsorted(raw, [start for start, _, _ in self.code.spans])

    def matched(self, other):
        """Normalised positions, in order, of the k-grams whose hashes ``other`` has too."""
        if not len(other.hashes) or not len(self.entry_hash):
            return self.entry_pos[:0]
        at = np.minimum(np.searchsorted(other.hashes, self.entry_hash), len(other.hashes) - 1)
        return np.sort(self.entry_pos[other.hashes[at] == self.entry_hash])

    def share(self, positions):
        """Fraction of this code covered by k-grams at ``positions`` (copydetect's measure)."""
        if not len(positions) or not self.fp.token_coverage:
            return 0.0
        covered = np.minimum(np.diff(positions), NOISE).sum() + NOISE
        return float(covered / self.fp.token_coverage)

    def functions(self, positions):
        if not len(positions):
            return set()
        index = np.searchsorted(self.function_starts, positions, side="right") - 1
        return {self.code.spans[i][2] for i in np.unique(index) if i >= 0}


def fingerprint(code, boilerplate):
    """The :class:`Print` of one student's :class:`OwnCode`."""
    return Print(code, boilerplate)


def common_hashes(prints):
    """Sorted hashes that at least two of ``prints`` have."""
    if not prints:
        return np.array([], dtype=np.int64)
    hashes, counts = np.unique(np.concatenate([p.hashes for p in prints]), return_counts=True)
    return hashes[counts >= 2]


def _shared_counts(prints_a, prints_b, chunk=CHUNK):
    """Matrix of how many fingerprints each print of ``a`` shares with each of ``b``.

    One product of 0/1 matrices, over column blocks of the vocabulary, so memory stays at
    ``len(prints) * chunk`` floats however many distinct hashes the class has.
    """
    same = prints_b is prints_a
    vocabulary = np.unique(np.concatenate([p.hashes for p in prints_a + (
        [] if same else prints_b)] or [np.array([], dtype=np.int64)]))
    columns_a = [np.searchsorted(vocabulary, p.hashes) for p in prints_a]
    columns_b = columns_a if same else [np.searchsorted(vocabulary, p.hashes) for p in prints_b]

    def block(columns, start):
        m = np.zeros((len(columns), chunk), dtype=np.float32)
        for row, cols in enumerate(columns):
            lo, hi = np.searchsorted(cols, [start, start + chunk])
            m[row, cols[lo:hi] - start] = 1
        return m
    counts = np.zeros((len(prints_a), len(prints_b)), dtype=np.float32)
    for start in range(0, len(vocabulary), chunk):
        ma = block(columns_a, start)
        counts += ma @ (ma if same else block(columns_b, start)).T
    return counts


def _candidates(prints_a, prints_b, threshold, same):
    counts = _shared_counts(prints_a, prints_a if same else prints_b)
    sizes_a = np.array([p.size for p in prints_a], dtype=np.float32)
    sizes_b = np.array([p.size for p in prints_b], dtype=np.float32)
    near = counts / np.minimum(sizes_a[:, None], sizes_b[None, :]) >= threshold * PREFILTER
    if same:  # each pair once, nobody with themselves
        near &= np.triu(np.ones_like(near), 1)
    return np.argwhere(near)


def _as_list(slices):
    return [[int(s), int(e)] for s, e in zip(*slices)] if len(slices[0]) else []


def compare(print_a, print_b, threshold):
    """The :class:`Pair` of two students' own code.

    The score is copydetect's (``compare_files``: the larger of the two shares of each code
    covered by matching k-grams), computed on arrays; :func:`highlight` adds the matching
    regions.
    """
    at_a, at_b = print_a.matched(print_b), print_b.matched(print_a)
    score = round(max(print_a.share(at_a), print_b.share(at_b)), 3)
    functions = sorted(print_a.functions(at_a) | print_b.functions(at_b))
    return Pair(print_a.code.student, print_b.code.student, score, functions,
                flagged=score >= threshold)


def highlight(pair, print_a, print_b):
    """Set the pair's matching regions in each code's original text (copydetect's)."""
    from copydetect import compare_files
    _, _, (slices_a, slices_b) = compare_files(print_a.fp, print_b.fp)
    pair.slices_a, pair.slices_b = _as_list(slices_a), _as_list(slices_b)


def _collect(folders, given, prefix, result):
    codes = {}
    for student, folder in sorted(folders.items()):
        code = own_code(prefix + student, folder, given)
        if isinstance(code, str):
            result.left_out[prefix + student] = code
        else:
            codes[prefix + student] = code
    return codes


def detect(submissions, archive=None, threshold=THRESHOLD, given=None, progress=False):
    """Compare every pair of ``submissions``, and each of them with every ``archive`` entry.

    Parameters
    ----------
    submissions : ``{student_id: folder}`` of this batch.
    archive : ``{id: folder}`` of earlier submissions (compared with this batch only, never
        among themselves); their ids appear as ``archive:<id>``.
    threshold : score from which a pair is flagged, in (0, 1].
    given : ``{relpath: release text}``; default :func:`given_code` of the assignment source.
    progress : show progress bars (tqdm) for fingerprinting and comparing.

    Returns
    -------
    SimilarityResult, pairs sorted by score, highest first.
    """
    from tqdm import tqdm
    threshold = check_threshold(threshold)
    start = time.perf_counter()
    given = given_code() if given is None else given
    result = SimilarityResult(threshold)
    current = _collect(submissions, given, "", result)
    older = _collect(archive or {}, given, "archive:", result)
    boilerplate = boilerplate_hashes(given)
    prints = {}
    everyone = {**current, **older}
    for key, code in tqdm(everyone.items(), desc="fingerprints", unit="student",
                          disable=not progress):
        prints[key] = fingerprint(code, boilerplate)
        size = len(prints[key].fp.filtered_code)
        if size < MIN_CHARS:
            result.left_out[key] = f"own code too short to compare ({size} normalised characters)"
            del prints[key]
    result.codes = {k: everyone[k] for k in prints}
    common = common_hashes(list(prints.values()))
    for p in prints.values():
        p.keep_only(common)
    ids_now = [k for k in current if k in prints]
    ids_old = [k for k in older if k in prints]
    now = [prints[k] for k in ids_now]
    todo = [(ids_now[i], ids_now[j]) for i, j in _candidates(now, now, threshold, True)]
    if ids_old:
        old = [prints[k] for k in ids_old]
        todo += [(ids_now[i], ids_old[j]) for i, j in _candidates(now, old, threshold, False)]
    for a, b in tqdm(todo, desc="comparing", unit="pair", disable=not progress):
        result.pairs.append(compare(prints[a], prints[b], threshold))
    result.compared_pairs = len(todo)
    result.pairs.sort(key=lambda p: (-p.score, p.student_a, p.student_b))
    for pair in result.pairs[:HIGHLIGHTED]:  # the most alike, whatever the threshold
        highlight(pair, prints[pair.student_a], prints[pair.student_b])
    result.seconds = time.perf_counter() - start
    return result
