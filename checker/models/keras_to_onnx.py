"""Convert a Keras HDF5 model (functional config + weights) to an ONNX graph, with h5py and onnx only.

Why our own step: the mask classifier ships as a TensorFlow/Keras ``.model`` HDF5 file, and the
project must not install TensorFlow (nor tf2onnx, which needs it). The file is two things h5py can
read without Keras: the model config as JSON (``attrs["model_config"]``) and each layer's weights
(``model_weights/<layer>/<weight name>``). This module walks that config and emits one ONNX node (or
a few) per layer, for the layer types MobileNetV2-style classifiers use; any other layer type, or an
option of a known type that is not handled, raises :class:`UnsupportedLayer` instead of producing a
graph that computes something else.

Layout: Keras is channels-last (NHWC). The ONNX graph takes the same NHWC input, transposes once to
NCHW (what ONNX Conv and pooling expect), and transposes back before Flatten so the flattened order
is Keras's. Weights are copied bit for bit (BatchNormalization stays an ONNX BatchNormalization
rather than being folded into the convolution), and nothing time- or machine-dependent goes into
the file, so the same HDF5 always gives the same bytes and the result can be pinned by sha256.

Used by ``idphoto models pull`` (see :mod:`checker.models.files`); nothing imports it at run time.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

OPSET = 13  # Clip/Pad take their bounds as inputs (>= 11), Softmax is per-axis (>= 13)
IR_VERSION = 8  # the IR version that goes with opset 13; any onnxruntime of the last years reads it
PRODUCER = "idphoto keras_to_onnx"
PRODUCER_VERSION = "1"  # bump when the emitted graph changes (its sha256 pin changes with it)

SUPPORTED = ("InputLayer", "Conv2D", "DepthwiseConv2D", "BatchNormalization", "ReLU", "Activation",
             "ZeroPadding2D", "Add", "AveragePooling2D", "MaxPooling2D", "GlobalAveragePooling2D", "Flatten",
             "Dense", "Dropout")


class UnsupportedLayer(ValueError):
    """The Keras model uses a layer type or an option this converter does not implement."""


@dataclass
class KerasModel:
    """What the HDF5 file holds: the functional config and each layer's weights by short name
    ("kernel", "bias", "gamma", "beta", "moving_mean", "moving_variance", "depthwise_kernel")."""

    config: dict[str, Any]
    weights: dict[str, dict[str, np.ndarray]]
    attrs: dict[str, str] = field(default_factory=dict)  # keras_version, backend


def _text(value: Any) -> str:
    return value.decode("utf-8") if isinstance(value, bytes) else str(value)


def read_h5(path: Path) -> KerasModel:
    """Read a Keras 2 ``model.save()`` HDF5 file: config JSON and weights (no Keras needed)."""
    import h5py

    with h5py.File(path, "r") as f:
        if "model_config" not in f.attrs:
            raise UnsupportedLayer(f"{path} has no model_config attribute: not a Keras model file")
        top = json.loads(_text(f.attrs["model_config"]))
        if top.get("class_name") not in ("Model", "Functional"):
            raise UnsupportedLayer(f"only functional Keras models are converted, not {top.get('class_name')!r}")
        group = f.get("model_weights", f)  # a full save nests the weights; save_weights does not
        weights: dict[str, dict[str, np.ndarray]] = {}
        for raw_layer in group.attrs.get("layer_names", []):
            layer = _text(raw_layer)
            g = group[layer]
            arrays: dict[str, np.ndarray] = {}
            for raw_name in g.attrs.get("weight_names", []):
                name = _text(raw_name)
                # "Conv1/kernel:0" (or "model/Conv1/kernel:0"): the kind is the last part.
                short = name.rsplit("/", 1)[-1].split(":", 1)[0]
                arrays[short] = np.asarray(g[name], dtype=np.float32)
            weights[layer] = arrays
        attrs = {k: _text(f.attrs[k]) for k in ("keras_version", "backend") if k in f.attrs}
    return KerasModel(config=top["config"], weights=weights, attrs=attrs)


@dataclass
class _Tensor:
    name: str
    shape: tuple[int, ...]  # without the batch axis: (C, H, W) for images (NCHW inside the graph), (F,) for vectors


def _pair(value: Any) -> tuple[int, int]:
    if isinstance(value, int):
        return value, value
    a, b = value
    return int(a), int(b)


def _same_pads(size: tuple[int, int], kernel: tuple[int, int], stride: tuple[int, int],
               dilation: tuple[int, int] = (1, 1)) -> list[int]:
    """Explicit ONNX pads for TensorFlow's "same": output = ceil(in / stride), any odd extra pixel
    at the bottom/right (ONNX's SAME_UPPER agrees, but explicit pads leave nothing to interpret)."""
    begin, end = [], []
    for n, k, s, d in zip(size, kernel, stride, dilation, strict=True):
        out = math.ceil(n / s)
        total = max((out - 1) * s + (k - 1) * d + 1 - n, 0)
        begin.append(total // 2)
        end.append(total - total // 2)
    return begin + end


def _out_size(size: tuple[int, int], kernel: tuple[int, int], stride: tuple[int, int], pads: list[int],
              dilation: tuple[int, int] = (1, 1)) -> tuple[int, int]:
    h = (size[0] + pads[0] + pads[2] - (kernel[0] - 1) * dilation[0] - 1) // stride[0] + 1
    w = (size[1] + pads[1] + pads[3] - (kernel[1] - 1) * dilation[1] - 1) // stride[1] + 1
    return h, w


class _Builder:
    """Accumulates nodes and initializers in layer order (so the output is deterministic)."""

    def __init__(self, model: KerasModel) -> None:
        from onnx import helper, numpy_helper

        self.helper, self.numpy_helper = helper, numpy_helper
        self.model = model
        self.nodes: list[Any] = []
        self.inits: list[Any] = []
        self.tensors: dict[str, _Tensor] = {}

    def const(self, name: str, array: np.ndarray) -> str:
        self.inits.append(self.numpy_helper.from_array(np.ascontiguousarray(array), name))
        return name

    def node(self, op: str, inputs: list[str], output: str, **attrs: Any) -> str:
        self.nodes.append(self.helper.make_node(op, inputs, [output], name=output, **attrs))
        return output

    def weights(self, layer: str, *needed: str) -> dict[str, np.ndarray]:
        got = self.model.weights.get(layer, {})
        missing = [n for n in needed if n not in got]
        if missing:
            raise UnsupportedLayer(f"layer {layer!r} has no weights {missing} in the file")
        return got

    def activation(self, layer: str, kind: str, x: _Tensor) -> _Tensor:
        """A Keras ``activation=`` string applied to ``x``."""
        if kind == "linear":
            return x
        ops = {"relu": "Relu", "sigmoid": "Sigmoid", "tanh": "Tanh"}
        if kind in ops:
            return _Tensor(self.node(ops[kind], [x.name], f"{layer}/{kind}"), x.shape)
        if kind == "softmax":
            if len(x.shape) != 1:
                raise UnsupportedLayer(f"layer {layer!r}: softmax over an image tensor is not handled")
            return _Tensor(self.node("Softmax", [x.name], f"{layer}/softmax", axis=-1), x.shape)
        raise UnsupportedLayer(f"layer {layer!r}: activation {kind!r} is not handled")


def _check_channels_last(layer: str, cfg: dict[str, Any]) -> None:
    if cfg.get("data_format", "channels_last") != "channels_last":
        raise UnsupportedLayer(f"layer {layer!r}: data_format {cfg.get('data_format')!r} is not handled")


def _image(layer: str, x: _Tensor) -> tuple[int, int, int]:
    if len(x.shape) != 3:
        raise UnsupportedLayer(f"layer {layer!r} needs an image input, got shape {x.shape}")
    return x.shape


def _conv(b: _Builder, layer: str, cfg: dict[str, Any], x: _Tensor, depthwise: bool) -> _Tensor:
    _check_channels_last(layer, cfg)
    c, h, w = _image(layer, x)
    kernel, stride = _pair(cfg["kernel_size"]), _pair(cfg["strides"])
    dilation = _pair(cfg.get("dilation_rate", 1))
    if int(cfg.get("groups", 1)) != 1:
        raise UnsupportedLayer(f"layer {layer!r}: grouped Conv2D is not handled")
    if depthwise:
        wts = b.weights(layer, "depthwise_kernel")
        k = wts["depthwise_kernel"]  # (kh, kw, in, multiplier); Keras output channel = in * mult + m
        mult = int(cfg.get("depth_multiplier", 1))
        if k.shape != (*kernel, c, mult):
            raise UnsupportedLayer(f"layer {layer!r}: depthwise kernel {k.shape} does not fit input {c} x {mult}")
        onnx_w = k.transpose(2, 3, 0, 1).reshape(c * mult, 1, *kernel)
        out_c, group = c * mult, c
    else:
        wts = b.weights(layer, "kernel")
        k = wts["kernel"]  # (kh, kw, in, out)
        if k.shape[:3] != (*kernel, c):
            raise UnsupportedLayer(f"layer {layer!r}: kernel {k.shape} does not fit input channels {c}")
        onnx_w = k.transpose(3, 2, 0, 1)
        out_c, group = k.shape[3], 1
    padding = cfg.get("padding", "valid")
    if padding == "same":
        pads = _same_pads((h, w), kernel, stride, dilation)
    elif padding == "valid":
        pads = [0, 0, 0, 0]
    else:
        raise UnsupportedLayer(f"layer {layer!r}: padding {padding!r} is not handled")
    inputs = [x.name, b.const(f"{layer}/W", onnx_w)]
    if cfg.get("use_bias", True):
        inputs.append(b.const(f"{layer}/B", b.weights(layer, "bias")["bias"]))
    out = b.node("Conv", inputs, f"{layer}/conv", kernel_shape=list(kernel), strides=list(stride),
                 dilations=list(dilation), pads=pads, group=group)
    y = _Tensor(out, (int(out_c), *_out_size((h, w), kernel, stride, pads, dilation)))
    return b.activation(layer, cfg.get("activation", "linear"), y)


def _batchnorm(b: _Builder, layer: str, cfg: dict[str, Any], x: _Tensor) -> _Tensor:
    axis = cfg.get("axis", -1)
    axis = axis[0] if isinstance(axis, list) and len(axis) == 1 else axis
    rank = len(x.shape) + 1  # with the batch axis, in Keras (channels-last) terms
    if axis not in (-1, rank - 1):
        raise UnsupportedLayer(f"layer {layer!r}: BatchNormalization over axis {cfg.get('axis')} is not handled")
    wts = b.weights(layer, "moving_mean", "moving_variance")
    n = wts["moving_mean"].shape[0]
    gamma = wts["gamma"] if cfg.get("scale", True) else np.ones(n, np.float32)
    beta = wts["beta"] if cfg.get("center", True) else np.zeros(n, np.float32)
    names = [b.const(f"{layer}/{k}", v) for k, v in (("gamma", gamma), ("beta", beta),
                                                      ("mean", wts["moving_mean"]), ("var", wts["moving_variance"]))]
    # ONNX BatchNormalization normalises axis 1: the channel axis of NCHW images and of (N, F) vectors.
    out = b.node("BatchNormalization", [x.name, *names], f"{layer}/bn", epsilon=float(cfg.get("epsilon", 1e-3)))
    return _Tensor(out, x.shape)


def _relu(b: _Builder, layer: str, cfg: dict[str, Any], x: _Tensor) -> _Tensor:
    if float(cfg.get("negative_slope", 0.0) or 0.0) != 0.0 or float(cfg.get("threshold", 0.0) or 0.0) != 0.0:
        raise UnsupportedLayer(f"layer {layer!r}: ReLU with a negative slope or threshold is not handled")
    top = cfg.get("max_value")
    if top is None:
        return _Tensor(b.node("Relu", [x.name], f"{layer}/relu"), x.shape)
    lo = b.const(f"{layer}/min", np.array(0.0, np.float32))
    hi = b.const(f"{layer}/max", np.array(float(top), np.float32))
    return _Tensor(b.node("Clip", [x.name, lo, hi], f"{layer}/clip"), x.shape)


def _pool(b: _Builder, layer: str, cls: str, cfg: dict[str, Any], x: _Tensor) -> _Tensor:
    _check_channels_last(layer, cfg)
    c, h, w = _image(layer, x)
    kernel = _pair(cfg["pool_size"])
    stride = _pair(cfg.get("strides") or kernel)
    padding = cfg.get("padding", "valid")
    if padding not in ("valid", "same"):
        raise UnsupportedLayer(f"layer {layer!r}: padding {padding!r} is not handled")
    pads = _same_pads((h, w), kernel, stride) if padding == "same" else [0, 0, 0, 0]
    attrs: dict[str, Any] = {"kernel_shape": list(kernel), "strides": list(stride), "pads": pads}
    if cls == "AveragePooling2D":
        attrs["count_include_pad"] = 0  # TensorFlow averages over the real pixels only
    op = "AveragePool" if cls == "AveragePooling2D" else "MaxPool"
    out = b.node(op, [x.name], f"{layer}/pool", **attrs)
    return _Tensor(out, (c, *_out_size((h, w), kernel, stride, pads)))


def _layer(b: _Builder, spec: dict[str, Any], inputs: list[_Tensor]) -> _Tensor:
    cls, layer, cfg = spec["class_name"], spec["name"], spec.get("config", {})
    if cls not in SUPPORTED:
        raise UnsupportedLayer(f"layer {layer!r} is a {cls}, which is not handled "
                               f"(handled: {', '.join(SUPPORTED)})")
    if cls != "Add" and len(inputs) != 1:
        raise UnsupportedLayer(f"layer {layer!r} ({cls}) has {len(inputs)} inputs, expected one")
    x = inputs[0]
    if cls in ("Conv2D", "DepthwiseConv2D"):
        return _conv(b, layer, cfg, x, depthwise=cls == "DepthwiseConv2D")
    if cls == "BatchNormalization":
        return _batchnorm(b, layer, cfg, x)
    if cls == "ReLU":
        return _relu(b, layer, cfg, x)
    if cls == "Activation":
        return b.activation(layer, cfg.get("activation", "linear"), x)
    if cls == "ZeroPadding2D":
        _check_channels_last(layer, cfg)
        c, h, w = _image(layer, x)
        pad = cfg["padding"]
        (top, bottom), (left, right) = (_pair(p) for p in pad) if isinstance(pad, list) else (_pair(pad),) * 2
        pads = b.const(f"{layer}/pads", np.array([0, 0, top, left, 0, 0, bottom, right], np.int64))
        out = b.node("Pad", [x.name, pads], f"{layer}/pad", mode="constant")
        return _Tensor(out, (c, h + top + bottom, w + left + right))
    if cls == "Add":
        if len(inputs) < 2 or any(t.shape != x.shape for t in inputs):
            raise UnsupportedLayer(f"layer {layer!r}: Add needs two or more inputs of one shape")
        out = x.name
        for k, t in enumerate(inputs[1:]):
            out = b.node("Add", [out, t.name], f"{layer}/add{k}")
        return _Tensor(out, x.shape)
    if cls in ("AveragePooling2D", "MaxPooling2D"):
        return _pool(b, layer, cls, cfg, x)
    if cls == "GlobalAveragePooling2D":
        _check_channels_last(layer, cfg)
        c, _h, _w = _image(layer, x)
        if cfg.get("keepdims"):
            raise UnsupportedLayer(f"layer {layer!r}: GlobalAveragePooling2D(keepdims=True) is not handled")
        pooled = b.node("GlobalAveragePool", [x.name], f"{layer}/gap")
        return _Tensor(b.node("Flatten", [pooled], f"{layer}/flatten", axis=1), (c,))
    if cls == "Flatten":
        _check_channels_last(layer, cfg)
        if len(x.shape) == 1:
            return x
        c, h, w = _image(layer, x)
        # Back to NHWC first, so the flattened vector is in Keras's order (it matters unless H = W = 1).
        nhwc = b.node("Transpose", [x.name], f"{layer}/nhwc", perm=[0, 2, 3, 1])
        return _Tensor(b.node("Flatten", [nhwc], f"{layer}/flatten", axis=1), (c * h * w,))
    if cls == "Dense":
        if len(x.shape) != 1:
            raise UnsupportedLayer(f"layer {layer!r}: Dense on a tensor of shape {x.shape} is not handled")
        wts = b.weights(layer, "kernel")
        kernel = wts["kernel"]  # (in, out)
        if kernel.shape[0] != x.shape[0]:
            raise UnsupportedLayer(f"layer {layer!r}: kernel {kernel.shape} does not fit input {x.shape}")
        inputs_ = [x.name, b.const(f"{layer}/W", kernel)]
        if cfg.get("use_bias", True):
            inputs_.append(b.const(f"{layer}/B", wts["bias"]))
        out = b.node("Gemm", inputs_, f"{layer}/gemm")
        return b.activation(layer, cfg.get("activation", "linear"), _Tensor(out, (int(kernel.shape[1]),)))
    assert cls == "Dropout"
    return x  # inference: dropout is the identity


def _inbound(spec: dict[str, Any]) -> list[str]:
    """Names of the layers feeding ``spec`` (Keras 2 functional format)."""
    nodes = spec.get("inbound_nodes", [])
    if not nodes:
        return []
    if len(nodes) != 1:
        raise UnsupportedLayer(f"layer {spec['name']!r} is called {len(nodes)} times (shared layers are not handled)")
    out = []
    for entry in nodes[0]:
        if not isinstance(entry, list) or len(entry) < 3:
            raise UnsupportedLayer(f"layer {spec['name']!r}: inbound node format {entry!r} is not Keras 2's")
        if entry[1] != 0 or entry[2] != 0:
            raise UnsupportedLayer(f"layer {spec['name']!r} takes output {entry[1:3]} of {entry[0]!r}; only 0, 0")
        out.append(entry[0])
    return out


def to_onnx(model: KerasModel, metadata: dict[str, str] | None = None) -> Any:
    """The ONNX ModelProto of ``model``: input NHWC float32 with a free batch axis, outputs as
    Keras's output layers (named after them). Raises UnsupportedLayer for anything not handled."""
    from onnx import TensorProto, checker, helper

    b = _Builder(model)
    cfg = model.config
    inputs, outputs = [], []
    by_name = {spec["name"]: spec for spec in cfg["layers"]}
    for spec in cfg["layers"]:  # Keras saves functional layers in an order where inputs come first
        layer = spec["name"]
        if spec["class_name"] == "InputLayer":
            shape = spec["config"]["batch_input_shape"]
            if len(shape) != 4 or any(d is None for d in shape[1:]):
                raise UnsupportedLayer(f"input {layer!r} must be a fixed-size image (N, H, W, C), got {shape}")
            h, w, c = (int(d) for d in shape[1:])
            inputs.append(helper.make_tensor_value_info(layer, TensorProto.FLOAT, ["N", h, w, c]))
            nchw = b.node("Transpose", [layer], f"{layer}/nchw", perm=[0, 3, 1, 2])
            b.tensors[layer] = _Tensor(nchw, (c, h, w))
            continue
        feeds = _inbound(spec)
        unknown = [n for n in feeds if n not in b.tensors]
        if unknown:
            what = "unknown" if any(n not in by_name for n in unknown) else "later"
            raise UnsupportedLayer(f"layer {layer!r} reads {what} layer(s) {unknown}")
        b.tensors[layer] = _layer(b, spec, [b.tensors[n] for n in feeds])
    for entry in cfg["output_layers"]:
        name = entry[0]
        t = b.tensors[name]
        if len(t.shape) != 1:
            raise UnsupportedLayer(f"output {name!r} is an image tensor; only vector outputs are handled")
        b.node("Identity", [t.name], name)
        outputs.append(helper.make_tensor_value_info(name, TensorProto.FLOAT, ["N", t.shape[0]]))
    graph = helper.make_graph(b.nodes, cfg.get("name", "keras_model"), inputs, outputs, initializer=b.inits)
    proto = helper.make_model(graph, producer_name=PRODUCER, producer_version=PRODUCER_VERSION,
                              opset_imports=[helper.make_opsetid("", OPSET)], ir_version=IR_VERSION)
    for key, value in sorted({**model.attrs, **(metadata or {})}.items()):
        entry = proto.metadata_props.add()
        entry.key, entry.value = key, value
    checker.check_model(proto)
    return proto


def convert_file(source: Path, target: Path, metadata: dict[str, str] | None = None) -> None:
    """Read the Keras HDF5 ``source`` and write its ONNX graph to ``target`` (same bytes every time).
    The source's sha256 is recorded in the graph's metadata, so the file says what it was made from."""
    import hashlib

    digest = hashlib.sha256(Path(source).read_bytes()).hexdigest()
    proto = to_onnx(read_h5(source), {"source_sha256": digest, **(metadata or {})})
    Path(target).write_bytes(proto.SerializeToString())
