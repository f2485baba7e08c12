"""Copy detection on a class with two planted copies among honest, different solutions."""
import ast

import numpy as np
import pytest

from cnnkit.grader.report import similarity
from cnnkit.grader.report.similarity import detect, given_code, own_code
from cnnkit.reference import (conv_backward_naive, conv_forward_naive,
                              max_pool_backward_naive, max_pool_forward_naive)
from honest_students import CORRECT, HONEST, build_class, heidi_from_bob

pytest.importorskip("copydetect")

COPIES = {("alice", "grace"), ("bob", "heidi")}


@pytest.fixture(scope="module")
def klass(tmp_path_factory, builds):
    root = tmp_path_factory.mktemp("class")
    ids = build_class(root, builds["stub"])
    return {i: root / i for i in ids}


@pytest.fixture(scope="module")
def result(klass):
    return detect(klass)


def _functions(code):
    namespace = {"np": np}
    exec(compile(code, "<student>", "exec"), namespace)
    return namespace


def _is_zero(difference):
    """Whether ``difference()`` runs, keeps the expected shape and is all zeros."""
    try:
        with np.errstate(all="ignore"):
            return bool(np.allclose(difference(), 0))
    except (ValueError, IndexError, TypeError):  # wrong shape, or it breaks
        return False


def test_honest_students_are_real_solutions_right_and_wrong():
    """The honest implementations do what they claim: three agree with the reference, the
    others carry the mistakes they are said to carry."""
    x = np.random.default_rng(0).permutation(2 * 3 * 7 * 6).reshape(2, 3, 7, 6) * 0.1
    w = np.random.default_rng(1).standard_normal((4, 3, 3, 2))
    b = np.random.default_rng(2).standard_normal(4)
    conv, pool = {"stride": 2, "pad": 1}, {"pool_height": 3, "pool_width": 2, "stride": 1}
    want, cache = conv_forward_naive(x, w, b, conv)
    dout = np.random.default_rng(3).standard_normal(want.shape)
    want_grads = conv_backward_naive(dout, cache)
    want_pool, pcache = max_pool_forward_naive(x, pool)
    pdout = np.random.default_rng(4).standard_normal(want_pool.shape)
    want_dpool = max_pool_backward_naive(pdout, pcache)
    verdicts = {}
    for name, code in HONEST.items():
        ns = _functions(code)
        checks = [lambda: ns["conv_forward_naive"](x, w, b, conv)[0] - want,
                  lambda: ns["max_pool_forward_naive"](x, pool)[0] - want_pool]
        if "conv_backward_naive" in ns:
            checks += [lambda k=k: ns["conv_backward_naive"](dout, (x, w, b, conv))[k]
                       - want_grads[k] for k in range(3)]
        if "max_pool_backward_naive" in ns:
            checks.append(lambda: ns["max_pool_backward_naive"](pdout, (x, pool)) - want_dpool)
        verdicts[name] = all(_is_zero(check) for check in checks)
    assert {"conv_forward_naive", "conv_backward_naive", "max_pool_forward_naive",
            "max_pool_backward_naive"} <= set(_functions(HONEST["alice"]))
    assert {n for n, good in verdicts.items() if good} == set(CORRECT)


def test_the_disguised_copy_really_is_disguised():
    bob, heidi = HONEST["bob"], heidi_from_bob()
    names = lambda code: [n.name for n in ast.parse(code).body]
    assert names(heidi) != names(bob) and sorted(names(heidi)) == sorted(names(bob))
    variables = lambda code: {n.id for n in ast.walk(ast.parse(code)) if isinstance(n, ast.Name)}
    assert variables(bob) & variables(heidi) == {"np", "range"}
    comments = lambda code: {l.strip() for l in code.splitlines() if l.strip().startswith("#")}
    assert comments(bob) and not comments(bob) & comments(heidi)


def test_both_copies_are_flagged_and_no_honest_pair(result):
    flagged = {tuple(sorted((p.student_a, p.student_b))) for p in result.flagged}
    assert flagged == COPIES
    assert not result.left_out


def test_honest_pairs_stay_well_below_the_threshold(klass):
    every = detect(klass, threshold=0.02)           # compare (nearly) every pair exactly
    assert every.compared_pairs >= 20           # of 28; the others share no k-gram at all
    honest = [p.score for p in every.pairs
              if tuple(sorted((p.student_a, p.student_b))) not in COPIES]
    copies = [p.score for p in every.pairs
              if tuple(sorted((p.student_a, p.student_b))) in COPIES]
    assert max(honest) < similarity.THRESHOLD - 0.1 and min(copies) > similarity.THRESHOLD + 0.1


def test_a_copy_names_the_functions_it_shares(result):
    pair = next(p for p in result.flagged if {p.student_a, p.student_b} == {"bob", "heidi"})
    assert pair.functions == sorted(f"nndl/conv_layers.py:{n}" for n in (
        "conv_backward_naive", "conv_forward_naive", "max_pool_backward_naive",
        "max_pool_forward_naive"))
    assert pair.slices_a and pair.slices_b


def test_own_code_is_the_students_functions_minus_the_release(klass):
    given = given_code()
    assert "nndl/conv_layers.py" in given
    carol = own_code("carol", klass["carol"], given)
    names = [name for _, _, name in carol.spans]
    assert "nndl/conv_layers.py:_zero_pad" in names                    # a helper of her own
    assert "nndl/conv_layers.py:spatial_batchnorm_forward" not in names  # left as a stub
    assert "stride, pad = conv_param['stride'], conv_param['pad']" in carol.text


def test_a_student_who_wrote_nothing_is_left_out(builds):
    why = own_code("nobody", builds["stub"], given_code())
    assert why == "no function differs from the release"


def test_the_release_itself_never_matches(klass, builds):
    """Given code subtracted: a student against the release scores nothing."""
    result = detect({"alice": klass["alice"], "erin": klass["erin"]}, threshold=0.01)
    assert all(p.score < 0.5 for p in result.pairs)


def test_copies_from_an_earlier_term_are_found(klass):
    now = {k: v for k, v in klass.items() if k not in ("alice", "bob")}
    result = detect(now, archive={"alice": klass["alice"], "bob": klass["bob"]})
    flagged = {(p.student_a, p.student_b) for p in result.flagged}
    assert flagged == {("grace", "archive:alice"), ("heidi", "archive:bob")}
    assert not any(p.student_a.startswith("archive:") for p in result.pairs)


def test_threshold_is_checked():
    with pytest.raises(ValueError, match=r"similarity_threshold must be from 0.01 to 1, got 1.5"):
        similarity.check_threshold(1.5)
    with pytest.raises(ValueError, match="must be a number"):
        similarity.check_threshold("high")


def test_pair_scores_are_copydetects_own(klass):
    """The array computation of a pair's score gives what copydetect's compare_files gives."""
    from copydetect import compare_files
    given = given_code()
    boilerplate = similarity.boilerplate_hashes(given)
    prints = {k: similarity.fingerprint(own_code(k, v, given), boilerplate)
              for k, v in klass.items()}
    names = sorted(prints)
    for i, a in enumerate(names):
        for b in names[i + 1:]:
            _, sims, _ = compare_files(prints[a].fp, prints[b].fp)
            pair = similarity.compare(prints[a], prints[b], 0.6)
            assert pair.score == round(float(max(sims)), 3), (a, b)
