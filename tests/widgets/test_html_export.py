"""Offline export: inputs, asset layout and the command line (no kernel, no browser)."""
import nbformat
import pytest

from cnnkit.grader.cli import main
from cnnkit.widgets import export
from cnnkit.widgets.export import REMOTE_LOAD, copy_assets, ensure_assets, export_html


def fake_node_modules(root):
    dist = root / "@jupyter-widgets" / "html-manager" / "dist"
    dist.mkdir(parents=True)
    for name in ("embed-amd.js", "embed.js", "embed.js.map", "abc123.woff2", "def456.ttf"):
        (dist / name).write_text(name)
    (root / "requirejs").mkdir()
    (root / "requirejs" / "require.js").write_text("require")
    return root


def test_assets_keep_the_bundle_layout_and_serve_fonts_where_requested(tmp_path):
    node_modules = fake_node_modules(tmp_path / "node_modules")
    out = tmp_path / "out"
    out.mkdir()
    copy_assets(out, node_modules)
    files = sorted(p.relative_to(out).as_posix() for p in out.rglob("*") if p.is_file())
    assert files == ["@jupyter-widgets/abc123.woff2", "@jupyter-widgets/def456.ttf",
                     "@jupyter-widgets/html-manager/dist/embed-amd.js", "require.js"]


def test_assets_come_from_the_environment_override(tmp_path, monkeypatch):
    node_modules = fake_node_modules(tmp_path / "nm")
    monkeypatch.setenv("CNNKIT_WIDGET_ASSETS", str(node_modules))
    assert ensure_assets() == node_modules
    monkeypatch.setenv("CNNKIT_WIDGET_ASSETS", str(tmp_path))
    with pytest.raises(FileNotFoundError, match=r"CNNKIT_WIDGET_ASSETS=.* has no "
                                                r"@jupyter-widgets/html-manager/dist/embed-amd"):
        ensure_assets()


def test_missing_assets_are_explained(tmp_path, monkeypatch):
    monkeypatch.delenv("CNNKIT_WIDGET_ASSETS", raising=False)
    with pytest.raises(FileNotFoundError, match=r"the widget JavaScript is missing from this "
                                                r"cnnkit install .* reinstall cnnkit"):
        ensure_assets(tmp_path)


def test_the_installed_assets_are_complete_and_carry_their_licences(tmp_path, monkeypatch):
    monkeypatch.delenv("CNNKIT_WIDGET_ASSETS", raising=False)
    assets = ensure_assets()
    assert assets == export.packaged_assets()
    out = tmp_path / "out"
    out.mkdir()
    copy_assets(out, assets)
    for relpath in export.LICENCES + ("require.js",
                                      "@jupyter-widgets/html-manager/dist/embed-amd.js"):
        assert (out / relpath).is_file(), relpath
    assert list((out / "@jupyter-widgets").glob("*.woff2"))


def test_bad_notebook_paths_are_named(tmp_path):
    with pytest.raises(ValueError, match=r"notebook must be an .ipynb file, got .*notes.txt"):
        export_html(tmp_path / "notes.txt", tmp_path / "out")
    with pytest.raises(FileNotFoundError, match=r"notebook not found: .*missing.ipynb"):
        export_html(tmp_path / "missing.ipynb", tmp_path / "out")


def test_a_notebook_without_widget_state_is_refused(tmp_path, monkeypatch):
    monkeypatch.setenv("CNNKIT_WIDGET_ASSETS", str(fake_node_modules(tmp_path / "nm")))
    path = tmp_path / "plain.ipynb"
    nbformat.write(nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("1")]), path)
    with pytest.raises(ValueError, match=r"plain.ipynb has no saved widget state: run it "
                                         r"with execute=True"):
        export_html(path, tmp_path / "out", execute=False)


def test_remote_scripts_are_detected():
    page = ('<script src="require.js"></script><script src="https://cdn.example/x.js">'
            "</script><link rel='stylesheet' href='//fonts.example/f.css'>"
            '<script>import("https://cdnjs.example/mermaid.mjs")</script>')
    assert REMOTE_LOAD.findall(page) == ["https://cdn.example/x.js", "//fonts.example/f.css"]


def test_command_line_reports_errors(tmp_path, capsys):
    assert main(["widgets-export", str(tmp_path / "missing.ipynb"), str(tmp_path)]) == 1
    assert "cnnkit widgets-export: notebook not found:" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        main(["widgets-export", "--timeout", "0", "a.ipynb", str(tmp_path)])
    assert ("argument --timeout: must be an int >= 1, got '0'"
            in capsys.readouterr().err)
