"""The submission rules come from the test groups and reach the release through `cnnkit assign`."""
import json

from cnnkit.grader.cli import main
from cnnkit.grader.collect.rules import submission_rules
from cnnkit.grader.release.layout import source_dir
from cnnkit.grader.testbank.groups import CNN


def test_rules_name_what_the_hidden_tests_import():
    rules = submission_rules(CNN)
    assert rules["functions"]["nndl/conv_layers.py"] == [
        "conv_backward_naive", "conv_forward_naive", "max_pool_backward_naive",
        "max_pool_forward_naive", "spatial_batchnorm_backward", "spatial_batchnorm_forward"]
    assert rules["functions"]["nndl/cnn.py"] == ["ThreeLayerConvNet"]
    assert rules["checkpoint"][0] == "checkpoints/challenge"
    assert "__pycache__" in rules["skip_dirs"] and rules["full_accuracy"] == 0.65


def test_cnnkit_assign_ships_them(tmp_path, capsys):
    assert main(["assign", str(source_dir()), str(tmp_path / "release")]) == 0
    shipped = json.loads((tmp_path / "release" / "utils" / "submission_rules.json").read_text())
    assert shipped == json.loads(json.dumps(submission_rules(CNN)))
