"""Copy detection on a large class: how long do N students take?

Each generated student writes the four naive layers of ``nndl/conv_layers.py``, each function
drawn at random from the honest students of the copy-detection tests (six ways of writing it,
some wrong), and leaves the rest of the release as it is. Students who happen to draw the
same versions of most functions are, for the detector, copies: they are flagged, which makes
this a harder case than a real class (more pairs to compare exactly).

    python benchmarks/copy_detection.py --students 1000 [--full]

``--full`` gives every student the whole solution too (15 kB of own code, all of it shared),
so every pair is compared exactly: the worst case.
"""
import argparse
import ast
import json
import random
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests" / "grader"))

from honest_students import HONEST, _replace_functions  # noqa: E402

from cnnkit.grader.release.build import build_package  # noqa: E402
from cnnkit.grader.release.layout import source_dir  # noqa: E402
from cnnkit.grader.report.similarity import detect  # noqa: E402


def pool():
    """``{function name: [source, ...]}`` over the honest students (helpers come along)."""
    versions = {}
    for code in HONEST.values():
        tree = ast.parse(code)
        helpers = [ast.get_source_segment(code, n) for n in tree.body if n.name.startswith("_")]
        for node in tree.body:
            if not node.name.startswith("_"):
                versions.setdefault(node.name, []).append(
                    "\n\n\n".join(helpers + [ast.get_source_segment(code, node)]))
    return versions


def generate(folder, n, full, seed=0):
    rng = random.Random(seed)
    release = folder / "release"
    build_package(source_dir(), release, solutions=full)
    versions = pool()
    base = (release / "nndl" / "conv_layers.py").read_text()
    ids = []
    for i in range(n):
        student = folder / "class" / f"s{i:04d}"
        (student / "nndl").mkdir(parents=True)
        for name in ("cnn.py", "conv_layer_utils.py"):
            (student / "nndl" / name).write_text((release / "nndl" / name).read_text())
        code = "\n\n\n".join(rng.choice(v) for v in versions.values())
        # helpers pulled in twice by two functions of one student: keep the first
        seen, parts = set(), []
        for node in ast.parse(code).body:
            if node.name not in seen:
                seen.add(node.name)
                parts.append(ast.get_source_segment(code, node))
        (student / "nndl" / "conv_layers.py").write_text(
            _replace_functions(base, "\n\n\n".join(parts)))
        ids.append(student.name)
    return {s: folder / "class" / s for s in ids}


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--students", type=int, default=1000)
    parser.add_argument("--full", action="store_true",
                        help="every student also carries the whole solution (worst case)")
    parser.add_argument("--json", default=None, help="write the figures here")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        folders = generate(Path(tmp), args.students, args.full)
        start = time.perf_counter()
        result = detect(folders, progress=True)
        seconds = time.perf_counter() - start
    own = sum(len(c.text) for c in result.codes.values()) / max(len(result.codes), 1)
    figures = {"students": args.students, "full": args.full, "seconds": round(seconds, 1),
               "own_code_chars_mean": round(own), "pairs_compared_exactly": result.compared_pairs,
               "all_pairs": args.students * (args.students - 1) // 2,
               "flagged_pairs": len(result.flagged), "left_out": len(result.left_out)}
    print(json.dumps(figures, indent=2))
    if args.json:
        Path(args.json).write_text(json.dumps(figures, indent=2) + "\n")


if __name__ == "__main__":
    main()
