"""The spectra cache: verified on read, a corrupt entry discarded and recomputed, several writers
merged without loss, writes atomic."""

import multiprocessing
import warnings

import numpy as np
import pytest

from sim.radiative.spectra import PanelStore, read_cache_entry


def spectrum(w):
    return np.column_stack([np.sin(w), np.cos(w)])


PANELS = [(float(k), float(k + 1)) for k in range(12)]


def _fill(path, panels):
    store = PanelStore(spectrum, 2, path)
    store.get(panels)
    store.save()
    return store


def test_a_saved_entry_reads_back_verified(tmp_path):
    path = tmp_path / "s.npz"
    values = _fill(path, PANELS).get(PANELS)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # a good entry raises no warning
        again = PanelStore(lambda w: pytest.fail("recomputed a cached panel"), 2, path).get(PANELS)
    assert np.array_equal(again, values)
    assert not list(tmp_path.glob("*.tmp"))


@pytest.mark.parametrize("damage", ["truncate", "flip", "garbage"])
def test_a_corrupt_entry_is_discarded_with_a_warning_and_recomputed(tmp_path, damage):
    path = tmp_path / "s.npz"
    values = _fill(path, PANELS).get(PANELS)
    data = path.read_bytes()
    if damage == "truncate":
        path.write_bytes(data[: len(data) // 2])
    elif damage == "flip":
        i = data.find(b"\x93NUMPY", data.find(b"values")) + 300
        path.write_bytes(data[:i] + bytes([data[i] ^ 0x01]) + data[i + 1 :])
    else:
        path.write_bytes(b"not a zip file at all")
    with pytest.warns(UserWarning, match=f"discarding corrupt spectra cache entry {path}"):
        store = PanelStore(spectrum, 2, path)
    assert store.values == {} and not path.exists()
    assert np.array_equal(store.get(PANELS), values)


def test_an_entry_without_a_checksum_is_named_as_from_an_older_version_and_recomputed(tmp_path):
    path = tmp_path / "s.npz"
    values = _fill(path, PANELS).get(PANELS)
    with np.load(path) as d:
        np.savez(path, a=d["a"], b=d["b"], values=d["values"])  # the format before checksums
    with pytest.warns(UserWarning, match="no checksum: written by an older version"):
        store = PanelStore(spectrum, 2, path)
    assert store.values == {} and not path.exists()
    assert np.array_equal(store.get(PANELS), values)


def test_two_stores_saving_the_same_entry_lose_nothing(tmp_path):
    path = tmp_path / "s.npz"
    first, second = PanelStore(spectrum, 2, path), PanelStore(spectrum, 2, path)  # both opened on an empty cache
    first.get(PANELS[:6])
    second.get(PANELS[6:])
    first.save()
    second.save()
    assert sorted(read_cache_entry(path, 2)) == PANELS


def _writer(path, offset):
    for k in range(15):
        _fill(path, [(float(offset + 100 * k), float(offset + 100 * k + 1))])


def test_concurrent_processes_writing_one_entry_lose_nothing(tmp_path):
    path = tmp_path / "s.npz"
    ctx = multiprocessing.get_context("spawn")
    procs = [ctx.Process(target=_writer, args=(path, off)) for off in (0, 50)]
    for p in procs:
        p.start()
    for p in procs:
        p.join(timeout=120)
        assert p.exitcode == 0
    assert len(read_cache_entry(path, 2)) == 30
