r"""The file format of the reference cases: npz archives and the manifest.

``DIR/manifest.json`` describes every case and quantity; ``DIR/<case>/{inputs,params,outputs}.npz``
hold float64 arrays, one key per quantity (a parameter-dict quantity one key per parameter,
``<quantity>.<param>``).  Archives are written with sorted keys, stored members and a fixed
timestamp, so an export is byte-for-byte reproducible; every file is read with
``allow_pickle=False`` and any defect raises :class:`GoldenError` naming the file and key.
"""
from __future__ import annotations

import io
import json
import math
import zipfile
import zlib
from pathlib import Path

import numpy as np

__all__ = ["GoldenError", "FORMAT", "SIGN_CONVENTION", "load_case", "save_results", "read_manifest",
           "write_npz", "load_npz"]

#: identifies the manifest layout; :func:`check` refuses any other.
FORMAT = "ebm_ref-golden/1"
#: fixed timestamp of every zip member: the export is byte-for-byte reproducible.
ZIP_DATE = (1980, 1, 1, 0, 0, 0)

SIGN_CONVENTION = "energy E with p(x) = exp(-E(x)) / Z; score s(x) = grad_x log p(x) = -grad_x E(x)"

class GoldenError(ValueError):
    """A reference or results file is missing, malformed or mislabelled."""



# ====================================================================== writing
def _npz_bytes(arrays: dict) -> bytes:
    """An .npz archive with sorted keys, stored members and a fixed timestamp."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", compression=zipfile.ZIP_STORED) as zf:
        for key in sorted(arrays):
            member = io.BytesIO()
            np.lib.format.write_array(member, np.asarray(arrays[key]), allow_pickle=False)
            info = zipfile.ZipInfo(f"{key}.npy", date_time=ZIP_DATE)
            info.compress_type = zipfile.ZIP_STORED
            info.create_system = 3
            info.external_attr = 0o644 << 16
            zf.writestr(info, member.getvalue())
    return buf.getvalue()


def write_npz(path: Path, arrays: dict) -> None:
    path.write_bytes(_npz_bytes(arrays))



# ====================================================================== reading
def load_npz(path: Path, what: str) -> dict:
    """Every array of an .npz archive, read without pickles; any failure is a GoldenError."""
    if not path.exists():
        raise GoldenError(f"{path}: missing file; expected {what} (an .npz archive written by np.savez)")
    if not path.is_file():
        raise GoldenError(f"{path}: is not a file; expected {what} (an .npz archive)")
    data = path.read_bytes()
    if data[:4] == b"PK\x03\x04":
        # np.load reads a member's header and data but not up to its end, so it never
        # sees a CRC mismatch: test every member first
        try:
            with zipfile.ZipFile(io.BytesIO(data)) as zf:
                bad = zf.testzip()
        except (zipfile.BadZipFile, OSError, EOFError, ValueError, zlib.error) as exc:
            raise GoldenError(f"{path}: truncated or corrupt archive ({type(exc).__name__}: {exc}); "
                              f"expected {what} written by np.savez") from None
        if bad is not None:
            key = bad[:-4] if bad.endswith(".npy") else bad
            raise GoldenError(f"{path}: key {key!r} is truncated or corrupt (its CRC-32 does not match)")
    try:
        f = np.load(io.BytesIO(data), allow_pickle=False)
    except ValueError as exc:
        if "pickle" in str(exc):
            raise GoldenError(f"{path}: holds pickled data, refused (read with allow_pickle=False); "
                              f"expected {what} written by np.savez with float arrays") from None
        raise GoldenError(f"{path}: cannot be read as an .npz archive ({exc}); expected {what}") from None
    except (zipfile.BadZipFile, OSError, EOFError) as exc:
        raise GoldenError(f"{path}: truncated or corrupt archive ({type(exc).__name__}: {exc}); "
                          f"expected {what} written by np.savez") from None
    if not isinstance(f, np.lib.npyio.NpzFile):
        raise GoldenError(f"{path}: is a single .npy array, not an .npz archive; expected {what} "
                          "written by np.savez(path, key=array, ...)")
    out = {}
    with f:
        for key in f.files:
            try:
                a = f[key]
            except ValueError as exc:
                if "pickle" in str(exc) or "Object arrays" in str(exc):
                    raise GoldenError(f"{path}: key {key!r} holds an object (pickled) array, refused; "
                                      "save plain float64 arrays") from None
                raise GoldenError(f"{path}: key {key!r} cannot be read ({exc})") from None
            except Exception as exc:  # zipfile/zlib/format errors of a damaged member
                raise GoldenError(f"{path}: key {key!r} is truncated or corrupt "
                                  f"({type(exc).__name__}: {exc})") from None
            if not isinstance(a, np.ndarray):
                raise GoldenError(f"{path}: member {key!r} is not a .npy array; expected only arrays")
            out[key] = a
    return out


def read_manifest(root: Path) -> dict:
    path = root / "manifest.json"
    if not root.is_dir():
        raise GoldenError(f"{root}: not a directory of reference cases (run `ebm-ref golden export {root}`)")
    if not path.is_file():
        raise GoldenError(f"{path}: missing file; expected the manifest written by `ebm-ref golden export`")
    try:
        m = json.loads(path.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise GoldenError(f"{path}: malformed JSON ({exc})") from None

    def bad(where, want):
        raise GoldenError(f"{path}: malformed manifest at {where}: expected {want}")

    if not isinstance(m, dict):
        bad("the top level", "a JSON object")
    if m.get("format") != FORMAT:
        bad("'format'", f"{FORMAT!r}, got {m.get('format')!r}")
    cases = m.get("cases")
    if not isinstance(cases, dict) or not cases:
        bad("'cases'", "a non-empty object of cases")
    for name, c in cases.items():
        if not isinstance(c, dict) or not isinstance(c.get("outputs"), dict) or not c["outputs"]:
            bad(f"cases[{name!r}]", "an object with a non-empty 'outputs' object")
        for key, spec in c["outputs"].items():
            where = f"cases[{name!r}].outputs[{key!r}]"
            if not isinstance(spec, dict):
                bad(where, "an object")
            shape = spec.get("shape")
            if not isinstance(shape, list) or not all(isinstance(s, int) and not isinstance(s, bool) and s >= 0
                                                      for s in shape):
                bad(f"{where}.shape", "a list of non-negative ints")
            for t in ("rtol", "atol"):
                v = spec.get(t)
                if isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v) or v < 0:
                    bad(f"{where}.{t}", f"a finite number >= 0, got {v!r}")
    return m


def load_case(dir, case: str) -> tuple[dict, dict, dict]:
    """``(inputs, params, outputs)`` of one reference case, each a dict of arrays."""
    root = Path(dir)
    m = read_manifest(root)
    if case not in m["cases"]:
        raise GoldenError(f"case: {case!r} is not in {root / 'manifest.json'}; known: {sorted(m['cases'])}")
    return tuple(load_npz(root / case / f"{r}.npz", f"the reference {r} of case {case!r}")
                 for r in ("inputs", "params", "outputs"))


def save_results(results_dir, case: str, outputs: dict) -> Path:
    """Write ``RESULTS/<case>/outputs.npz`` in the layout :func:`ebm_ref.golden.check` reads.

    ``outputs`` maps a quantity to an array, or to a dict of arrays (one per parameter),
    which is stored as ``<quantity>.<param>``.
    """
    flat = {}
    for q, v in outputs.items():
        if isinstance(v, dict):
            for k, a in v.items():
                flat[f"{q}.{k}"] = np.asarray(a)
        else:
            flat[q] = np.asarray(v)
    for k, a in flat.items():
        if not np.issubdtype(a.dtype, np.floating):
            raise GoldenError(f"outputs[{k!r}]: expected a float array, got dtype {a.dtype}")
    d = Path(results_dir) / case
    d.mkdir(parents=True, exist_ok=True)
    path = d / "outputs.npz"
    write_npz(path, flat)
    return path
