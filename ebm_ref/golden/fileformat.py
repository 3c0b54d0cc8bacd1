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
import re
import zipfile
import zlib
from pathlib import Path

import numpy as np

__all__ = ["GoldenError", "FORMAT", "SIGN_CONVENTION", "load_case", "save_results", "read_manifest",
           "write_npz", "load_npz", "check_case_name", "check_inside", "MEMORY_BOUND", "MAX_FILE_BYTES", "MAX_MANIFEST_BYTES",
           "MAX_ENTRIES"]

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
    """Write ``arrays`` to ``path``; a symbolic link at ``path`` is refused, never written through."""
    if path.is_symlink():
        raise GoldenError(f"{path}: is a symbolic link; refused (never written through)")
    path.write_bytes(_npz_bytes(arrays))



# ====================================================================== reading
#: a case name is one path component of letters, digits, '_' and '-' (never '.', '..', a
#: separator or an absolute path), so ``DIR/<case>`` and ``RESULTS/<case>`` stay inside
#: their folders.
CASE_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]{0,63}")
#: the largest array a manifest may declare (entries); the real cases hold a few hundred.
MAX_ENTRIES = 1 << 20
#: no archive larger than this on disk is opened, and no member whose declared size is larger
#: than its manifest shape needs (header + entries × 16 bytes, the widest float accepted).
MAX_FILE_BYTES = 32 << 20
#: no manifest larger than this is parsed.
MAX_MANIFEST_BYTES = 4 << 20
#: room for one .npy header (numpy writes 64- or 128-byte headers; 4 KiB is generous).
NPY_HEADER_BYTES = 4096
#: the memory bound, stated: reading holds the parsed manifest (≤ MAX_MANIFEST_BYTES of text)
#: and the arrays of one case's reference and results (each archive ≤ MAX_FILE_BYTES, read
#: member by member after its header matched the manifest), so well under this many bytes.
MEMORY_BOUND = 16 * MAX_MANIFEST_BYTES + 4 * MAX_FILE_BYTES


def check_case_name(case, where: str = "case") -> str:
    """``case`` if it is a valid case name (one safe path component), else a GoldenError."""
    if not isinstance(case, str) or CASE_NAME.fullmatch(case) is None:
        raise GoldenError(f"{where}: {case!r} is not a valid case name; expected letters, digits, '_' "
                          "and '-' only (at most 64 characters, no '.', no path separator)")
    return case


def check_inside(root: Path, path: Path, what: str) -> Path:
    """``path`` if it is no symbolic link and, resolved, lies inside ``root``; else a GoldenError."""
    p = path
    while p != root and p != p.parent:
        if p.is_symlink():
            raise GoldenError(f"{p}: is a symbolic link; refused ({what} must be a real file or folder "
                              f"inside {root})")
        p = p.parent
    try:
        path.resolve().relative_to(root.resolve())
    except ValueError:
        raise GoldenError(f"{path}: lies outside {root}; refused ({what})") from None
    return path


def _entries(shape) -> int:
    return int(math.prod(shape))


def load_npz(path: Path, what: str, expected: dict, *, reference: bool = False) -> dict:
    """The arrays of an .npz archive, each checked against ``expected`` before its data are read.

    Parameters
    ----------
    path : Path
        The archive.
    what : str
        What it should hold, for the messages.
    expected : dict
        ``key -> shape`` from the manifest.  A member not listed is refused by name; a
        member whose .npy header gives another shape, a non-float dtype (``float64``
        exactly when ``reference``) or an object dtype is refused before its data are read.
    reference : bool
        The file is a reference (exactly float64) rather than a result (any float).

    Notes
    -----
    Memory: an archive larger than its manifest shapes can need (:data:`NPY_HEADER_BYTES`
    + 16 bytes per entry per member, capped at :data:`MAX_FILE_BYTES`) is refused unopened;
    a member is decompressed only after its header matched, and never beyond the size its
    header requires.  Missing keys are left to the caller.
    """
    if not path.exists():
        raise GoldenError(f"{path}: missing file; expected {what} (an .npz archive written by np.savez)")
    if not path.is_file():
        raise GoldenError(f"{path}: is not a file; expected {what} (an .npz archive)")
    limit = min(MAX_FILE_BYTES, 1024 + sum(2 * NPY_HEADER_BYTES + 16 * _entries(s) for s in expected.values()))
    size = path.stat().st_size
    if size > limit:
        raise GoldenError(f"{path}: {size} bytes, more than the {limit} bytes the manifest's arrays can need; "
                          f"refused unread (expected {what})")
    with open(path, "rb") as fh:
        head = fh.read(6)
    if head[:4] != b"PK\x03\x04" and head[:4] != b"PK\x05\x06":
        if head == b"\x93NUMPY":
            raise GoldenError(f"{path}: is a single .npy array, not an .npz archive; expected {what} "
                              "written by np.savez(path, key=array, ...)")
        if head[:1] == b"\x80":
            raise GoldenError(f"{path}: holds pickled data, refused (read with allow_pickle=False); "
                              f"expected {what} written by np.savez with float arrays")
        raise GoldenError(f"{path}: is not an .npz archive (a zip of .npy arrays: it starts with {head[:4]!r}); "
                          f"expected {what} written by np.savez")
    out = {}
    try:
        with zipfile.ZipFile(path) as zf:
            infos = zf.infolist()
            names = [i.filename for i in infos]
            for info in infos:
                key = info.filename[:-4] if info.filename.endswith(".npy") else info.filename
                if not info.filename.endswith(".npy") or key not in expected:
                    raise GoldenError(f"{path}: key {key!r} is not a quantity of {what}; expected keys: "
                                      f"{sorted(expected)}")
                if names.count(info.filename) > 1:
                    raise GoldenError(f"{path}: key {key!r} appears twice in the archive")
                out[key] = _read_member(path, zf, info, key, tuple(expected[key]), reference)
    except (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, EOFError, zlib.error,
            NotImplementedError, RuntimeError) as exc:
        raise GoldenError(f"{path}: truncated or corrupt archive ({type(exc).__name__}: {exc}); "
                          f"expected {what} written by np.savez") from None
    return out


def _read_member(path, zf, info, key, shape, reference) -> np.ndarray:
    """One member: header checked against (shape, float), then its data, CRC checked."""
    need = NPY_HEADER_BYTES + 16 * _entries(shape)
    if info.file_size > need:
        raise GoldenError(f"{path}: key {key!r} declares {info.file_size} bytes, more than an array of shape "
                          f"{shape} needs; refused unread")
    try:
        with zf.open(info) as m:
            version = np.lib.format.read_magic(m)
            if version == (1, 0):
                got_shape, fortran, dtype = np.lib.format.read_array_header_1_0(m)
            elif version == (2, 0):
                got_shape, fortran, dtype = np.lib.format.read_array_header_2_0(m)
            else:
                raise GoldenError(f"{path}: key {key!r} has .npy format version {version}; expected 1.0 or 2.0")
            if dtype.hasobject:
                raise GoldenError(f"{path}: key {key!r} holds an object (pickled) array, refused; "
                                  "save plain float64 arrays")
            if reference and (got_shape != shape or dtype != np.float64):
                raise GoldenError(f"{path}: key {key!r} has shape {got_shape} and dtype {dtype}; "
                                  f"the manifest says {shape} float64")
            if dtype.kind != "f":
                raise GoldenError(f"{path}: key {key!r} has dtype {dtype}; expected a float array (float64)")
            if got_shape != shape:
                raise GoldenError(f"{path}: key {key!r} has shape {got_shape}; expected {shape}")
            header_len = m.tell()
            nbytes = _entries(shape) * dtype.itemsize
            if info.file_size != header_len + nbytes:
                raise GoldenError(f"{path}: key {key!r} is truncated or corrupt (its size does not match "
                                  "its header)")
            data = m.read(nbytes + 1)    # reading to the end makes zipfile check the CRC-32
            if len(data) != nbytes:
                raise GoldenError(f"{path}: key {key!r} is truncated or corrupt")
    except GoldenError:
        raise
    except zipfile.BadZipFile as exc:
        raise GoldenError(f"{path}: key {key!r} is truncated or corrupt ({exc}; its CRC-32 does not match)") from None
    except (ValueError, OSError, EOFError, zlib.error) as exc:
        raise GoldenError(f"{path}: key {key!r} is truncated or corrupt ({type(exc).__name__}: {exc})") from None
    a = np.frombuffer(data, dtype=dtype)
    return a.reshape(shape, order="F" if fortran else "C").copy()


def read_manifest(root: Path) -> dict:
    path = root / "manifest.json"
    if not root.is_dir():
        raise GoldenError(f"{root}: not a directory of reference cases (run `ebm-ref golden export {root}`)")
    if not path.is_file():
        raise GoldenError(f"{path}: missing file; expected the manifest written by `ebm-ref golden export`")
    check_inside(root, path, "the manifest")
    if path.stat().st_size > MAX_MANIFEST_BYTES:
        raise GoldenError(f"{path}: larger than {MAX_MANIFEST_BYTES} bytes; refused unread (the manifest "
                          "written by `ebm-ref golden export` is a few hundred KiB)")
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
    def check_shape(where, shape):
        if not isinstance(shape, list) or not all(isinstance(s, int) and not isinstance(s, bool) and s >= 0
                                                  for s in shape):
            bad(f"{where}.shape", "a list of non-negative ints")
        if _entries(shape) > MAX_ENTRIES:
            bad(f"{where}.shape", f"at most {MAX_ENTRIES} entries, got {shape}")

    for name, c in cases.items():
        check_case_name(name, f"{path}: cases")
        if not isinstance(c, dict) or not isinstance(c.get("outputs"), dict) or not c["outputs"]:
            bad(f"cases[{name!r}]", "an object with a non-empty 'outputs' object")
        for part in ("inputs", "params"):
            for key, spec in (c.get(part) or {}).items():
                if not isinstance(spec, dict):
                    bad(f"cases[{name!r}].{part}[{key!r}]", "an object")
                check_shape(f"cases[{name!r}].{part}[{key!r}]", spec.get("shape"))
        for key, spec in c["outputs"].items():
            where = f"cases[{name!r}].outputs[{key!r}]"
            if not isinstance(spec, dict):
                bad(where, "an object")
            check_shape(where, spec.get("shape"))
            for t in ("rtol", "atol"):
                v = spec.get(t)
                if isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v) or v < 0:
                    bad(f"{where}.{t}", f"a finite number >= 0, got {v!r}")
    return m


def load_case(dir, case: str) -> tuple[dict, dict, dict]:
    """``(inputs, params, outputs)`` of one reference case, each a dict of arrays."""
    root = Path(dir)
    check_case_name(case)
    m = read_manifest(root)
    if case not in m["cases"]:
        raise GoldenError(f"case: {case!r} is not in {root / 'manifest.json'}; known: {sorted(m['cases'])}")
    spec = m["cases"][case]
    out = []
    for r in ("inputs", "params", "outputs"):
        path = check_inside(root, root / case / f"{r}.npz", f"the reference {r} of case {case!r}")
        expected = {k: tuple(v["shape"]) for k, v in (spec.get(r) or {}).items()}
        out.append(load_npz(path, f"the reference {r} of case {case!r}", expected, reference=True))
    return tuple(out)


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
    check_case_name(case)
    for k, a in flat.items():
        if not np.issubdtype(a.dtype, np.floating):
            raise GoldenError(f"outputs[{k!r}]: expected a float array, got dtype {a.dtype}")
    root = Path(results_dir)
    root.mkdir(parents=True, exist_ok=True)
    d = check_inside(root, root / case, "a results case folder")
    d.mkdir(exist_ok=True)
    path = d / "outputs.npz"
    write_npz(check_inside(root, path, "a results file"), flat)
    return path
