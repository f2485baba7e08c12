"""The visible checks' expected values: computed by the reference, written as ``.npz``."""
import importlib.util
import io
import re
import zipfile
from pathlib import Path

import numpy as np

from .layout import AssignError


def npz_bytes(arrays):
    """Bytes of an ``.npz`` of ``arrays`` (name -> ndarray) that never vary.

    ``np.savez`` stamps each member with the current time; this writes the
    members in sorted order with a fixed timestamp, without pickle.
    """
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for name in sorted(arrays):
            array = np.asarray(arrays[name])
            if array.dtype == object:
                raise AssignError(f"visible case value {name!r} is an object array; "
                                  "use numeric arrays only")
            member = io.BytesIO()
            np.lib.format.write_array(member, array, allow_pickle=False)
            info = zipfile.ZipInfo(f"{name}.npy", date_time=(1980, 1, 1, 0, 0, 0))
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = 0o644 << 16
            archive.writestr(info, member.getvalue())
    return buffer.getvalue()


def build_cases(source, layout):
    """Run ``build_cases()`` of the source's visible-cases module; return its dict."""
    if not layout["visible_cases"]:
        return {}
    path = Path(source) / layout["visible_cases"]
    spec = importlib.util.spec_from_file_location("_cnnkit_visible_cases", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    if not hasattr(module, "build_cases"):
        raise AssignError(f"{path} defines no build_cases() function")
    cases = module.build_cases()
    for name, arrays in cases.items():
        if not re.fullmatch(r"\w+", name) or not isinstance(arrays, dict):
            raise AssignError(f"{path}: case {name!r} must have a plain name and a dict of arrays")
    return cases
