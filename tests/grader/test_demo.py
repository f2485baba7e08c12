"""The embedded demo: generated from the source, graded, reports where it says."""
from cnnkit.grader.cli import main
from cnnkit.grader.demo import generate_demo


def test_generate_demo_students(tmp_path):
    assert generate_demo(tmp_path) == ["demo_correct", "demo_hostile", "demo_mistakes"]
    assert (tmp_path / "demo_correct" / "checkpoints" / "challenge.json").is_file()
    assert "os._exit(0)" in (tmp_path / "demo_hostile" / "nndl" / "conv_layers.py").read_text()
    assert "mode='edge'" in (tmp_path / "demo_mistakes" / "nndl" / "conv_layers.py").read_text()
