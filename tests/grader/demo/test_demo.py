"""The embedded demo: generated from the source, graded, reports where it says."""
from cnnkit.grader.cli import main
from cnnkit.grader.demo import generate_demo


def test_generate_demo_students(tmp_path):
    assert generate_demo(tmp_path) == ["demo_correct", "demo_hostile", "demo_mistakes"]
    assert (tmp_path / "demo_correct" / "checkpoints" / "challenge.json").is_file()
    assert "os._exit(0)" in (tmp_path / "demo_hostile" / "nndl" / "conv_layers.py").read_text()
    assert "mode='edge'" in (tmp_path / "demo_mistakes" / "nndl" / "conv_layers.py").read_text()


def test_cnnkit_demo_end_to_end(tmp_path, capsys, monkeypatch):
    from cnnkit.grader import demo
    monkeypatch.setattr(demo, "run_demo", _quick(demo.run_demo))
    assert main(["demo", str(tmp_path / "demo")]) == 0
    out = capsys.readouterr().out
    assert f"grades:   {tmp_path / 'demo' / 'reports' / 'grades.csv'}" in out
    rows = (tmp_path / "demo" / "reports" / "grades.csv").read_text().splitlines()
    assert [r.split(",")[0] for r in rows[1:]] == ["demo_correct", "demo_hostile",
                                                   "demo_mistakes"]
    import json
    hostile = json.loads((tmp_path / "demo" / "reports" / "demo_hostile" / "grade.json")
                         .read_text())
    statuses = {c["status"] for g in hostile["groups"] for c in g["cases"]}
    assert {"passed", "crashed", "timeout", "error"} <= statuses
    correct = json.loads((tmp_path / "demo" / "reports" / "demo_correct" / "grade.json")
                         .read_text())
    assert correct["total"] == 80  # everything but the accuracy test (no data here)


def _quick(run_demo):
    """The demo with a 3-second time budget per group, so the hostile loop ends quickly."""
    def quick(out, data=None, workers=1, timeout=10, progress=False):
        return run_demo(out, data=data, workers=workers, timeout=3, progress=progress)
    return quick


def test_generate_batch_cycles_through_the_kinds(tmp_path):
    from cnnkit.grader.demo import generate_batch
    ids = generate_batch(tmp_path, 10)
    assert ids[:3] == ["s000_correct", "s001_stub", "s002_wrong_padding"]
    assert len(ids) == 10 and (tmp_path / "s000_correct" / "checkpoints" / "challenge.npz").is_file()
