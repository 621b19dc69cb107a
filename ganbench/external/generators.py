"""Generators that ganbench did not train, loaded as its own ``Generator``: a TorchScript file, a
``torch.export`` program ``.pt2``, an ONNX file, a state dict plus its ``module:Class``, a ``module:function``
callable, or a Python module / callable (``load_external`` -> ``ExternalGenerator``).

Files are loaded without unpickling code: TorchScript, exported programs and ONNX graphs run operators only,
and state dicts load with ``weights_only=True``.
"""
from __future__ import annotations

import inspect
import json
import logging
import warnings
import zipfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Callable, Optional

import numpy as np
import torch
from torch import Tensor, nn

from ..files import sha256_file
from ..models import LATENTS, Generator
from ..plugins import IMPORT_PATH, import_object
from ..registry import ConfigError, check_signature, message_line, one_line

__all__ = ["ExternalGenerator", "load_external"]


class ExternalGenerator(Generator):
    """ganbench's ``Generator`` (``z_dim``, ``latent``, ``sample_latent``) around a foreign network."""

    def __init__(self, net: nn.Module, z_dim: int, latent: str, source: dict[str, Any]):
        super().__init__(net, z_dim, latent, ())
        self.source = source  # how it was loaded: recorded in config.json and the provenance
        if next(iter(self.parameters()), None) is None:
            # evaluate and plots read the device off the first parameter; callables and ONNX sessions have none
            self.anchor = nn.Parameter(torch.zeros(0), requires_grad=False)

    def forward(self, z: Tensor) -> Tensor:
        try:
            x = self.net(z)
        except ConfigError:
            raise
        except Exception as e:  # the foreign network's own failure, at whatever batch size it comes
            lines = str(e).strip().splitlines()  # TorchScript puts its own traceback first, the error last
            raise ConfigError(f"generator {self.source['name']!r} failed on a batch of {len(z)} latents "
                              f"[{len(z)}, {self.z_dim}]: {type(e).__name__}: {lines[-1] if lines else ''}") from None
        if isinstance(x, np.ndarray):
            x = torch.from_numpy(x)
        if not isinstance(x, Tensor):
            raise ConfigError(f"generator {self.source['name']!r} returned a {type(x).__name__}, not a tensor")
        return x


class _Function(nn.Module):
    """A plain function (or a module that must not be put in eval mode, e.g. an exported program)."""

    def __init__(self, fn: Callable[[Tensor], Any]):
        super().__init__()
        self._fn = [fn]  # in a list: not registered as a submodule, so .eval()/.to() leave it alone

    @property
    def fn(self) -> Callable[[Tensor], Any]:
        return self._fn[0]

    def forward(self, z: Tensor) -> Any:
        return self.fn(z)


class _FixedBatch(nn.Module):
    """Feeds a network exported for one batch size: chunks of that size, the last one padded with zeros."""

    def __init__(self, net: nn.Module, batch: int):
        super().__init__()
        self.net, self.batch = net, batch

    def forward(self, z: Tensor) -> Tensor:
        out = []
        for start in range(0, len(z), self.batch):
            chunk = z[start:start + self.batch]
            pad = self.batch - len(chunk)
            if pad:
                chunk = torch.cat([chunk, chunk.new_zeros((pad, *chunk.shape[1:]))])
            x = self.net(chunk)
            out.append(torch.as_tensor(x)[:len(chunk) - pad])
        return torch.cat(out)


class _Onnx(nn.Module):
    def __init__(self, path: Path):
        super().__init__()
        try:
            import onnxruntime as ort
        except ImportError:
            raise ConfigError(f"{path}: ONNX generators need onnxruntime: pip install 'ganbench[onnx]'") from None
        try:
            self.session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
        except Exception as e:
            raise ConfigError(f"{path}: not a loadable ONNX model ({one_line(e)})") from None
        inputs = self.session.get_inputs()
        if len(inputs) != 1:
            raise ConfigError(f"{path}: an ONNX generator must have one input (the latent batch), "
                              f"got {[i.name for i in inputs]}")
        self.input_name, self.input_shape = inputs[0].name, list(inputs[0].shape)

    def forward(self, z: Tensor) -> Tensor:
        out = self.session.run(None, {self.input_name: z.detach().cpu().numpy().astype(np.float32)})
        return torch.from_numpy(np.asarray(out[0]))


def _static(dim: Any) -> Optional[int]:
    return dim if isinstance(dim, int) and not isinstance(dim, bool) and dim > 0 else None


def _load_torchscript(path: Path, device: str) -> nn.Module:
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", FutureWarning)  # torch.jit is deprecated but still the common export
            return torch.jit.load(str(path), map_location=device)
    except Exception as e:
        jit_error = one_line(e)[:200]
    try:
        obj = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as e:
        if "weights_only" in str(e) or "Unpickl" in type(e).__name__:
            raise ConfigError(f"{path}: holds a pickled object (e.g. torch.save(model)); ganbench does not unpickle "
                              f"code: export with torch.jit.script / torch.export, or save model.state_dict() "
                              f"and pass --class module:Class") from None
        raise ConfigError(f"{path}: not a TorchScript (.pt), torch.export (.pt2), ONNX (.onnx) or state-dict file "
                          f"(torch.jit.load: {jit_error})") from None
    if isinstance(obj, Mapping):
        raise ConfigError(f"{path}: holds a state dict, not a TorchScript module; pass --class module:Class "
                          f"(and --init-args) to build the network it belongs to")
    raise ConfigError(f"{path}: holds a {type(obj).__name__}, not a TorchScript module")


def _load_exported(path: Path) -> tuple[nn.Module, Optional[int], Optional[int]]:
    """(module, static batch size or None, z_dim or None) of a ``torch.export.save`` program."""
    if not zipfile.is_zipfile(path):  # every .pt2 is a zip archive; torch would log a traceback before failing
        raise ConfigError(f"{path}: not a torch.export program (not a zip archive); write it with torch.export.save")
    quiet = logging.getLogger("torch.export")
    level = quiet.level
    quiet.setLevel(logging.CRITICAL)  # torch logs the traceback of a damaged archive as a warning, then raises
    try:
        program = torch.export.load(str(path))
    except Exception as e:
        raise ConfigError(f"{path}: not a torch.export program ({one_line(e)})") from None
    finally:
        quiet.setLevel(level)
    users = list(program.graph_signature.user_inputs)
    if len(users) != 1:
        raise ConfigError(f"{path}: an exported generator must take one input (the latent batch), got {users}")
    node = next(n for n in program.graph.nodes if n.op == "placeholder" and n.name == users[0])
    shape = list(getattr(node.meta.get("val"), "shape", []))
    batch = _static(shape[0]) if shape else None
    z_dim = _static(shape[1]) if len(shape) == 2 else None
    return _Function(program.module()), batch, z_dim  # exported modules refuse .train()/.eval()


def _state_dict(path: Path) -> Mapping[str, Tensor]:
    try:
        obj = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as e:
        raise ConfigError(f"{path}: cannot be read as a state dict with weights_only=True ({one_line(e)})") from None
    if isinstance(obj, Mapping) and "step" in obj and isinstance(obj.get("G"), Mapping):
        obj = obj.get("ema") or obj["G"]  # a ganbench checkpoint: the weights evaluate_run would use
    elif isinstance(obj, Mapping) and isinstance(obj.get("state_dict"), Mapping):
        obj = obj["state_dict"]
    if not isinstance(obj, Mapping) or not all(isinstance(v, Tensor) for v in obj.values()):
        raise ConfigError(f"{path}: not a state dict (a mapping of parameter names to tensors)")
    return obj


def _from_class(path: Path, cls_path: str, init_args: dict[str, Any]) -> nn.Module:
    cls = import_object(cls_path, "--class")
    if not (inspect.isclass(cls) and issubclass(cls, nn.Module)):
        raise ConfigError(f"--class {cls_path!r} is a {type(cls).__name__}, not a torch.nn.Module subclass")
    if not isinstance(init_args, Mapping):
        raise ConfigError(f"--init-args must be a JSON object of keyword arguments, got {init_args!r}")
    check_signature(cls, dict(init_args), f"generator class {cls_path!r}", "--init-args")
    try:
        net = cls(**init_args)
    except Exception as e:
        raise ConfigError(f"--class {cls_path!r} with --init-args {json.dumps(init_args)} raised {one_line(e)}") from None
    state = _state_dict(path)
    try:
        result = net.load_state_dict(state, strict=False)
    except RuntimeError as e:  # shape mismatches
        raise ConfigError(f"{path}: does not fit {cls_path!r}: {message_line(e)}") from None
    if result.missing_keys or result.unexpected_keys:
        raise ConfigError(f"{path}: does not fit {cls_path!r}: missing keys {result.missing_keys[:5]}, "
                          f"unexpected keys {result.unexpected_keys[:5]}")
    return net


def _source_file_sha(obj: Any) -> Optional[str]:
    try:
        src = inspect.getsourcefile(inspect.getmodule(obj))  # type: ignore[arg-type]
        return sha256_file(Path(src)) if src else None
    except (TypeError, OSError):
        return None


def _open_file(path: Path, cls: Optional[str], init_args: Optional[dict[str, Any]],
               device: str) -> tuple[nn.Module, dict[str, Any], Optional[int], Optional[int]]:
    """(network, source record, static batch size, z_dim from the input shape) of a generator file."""
    if not path.is_file():
        raise ConfigError(f"generator file {str(path)!r} not found")
    source: dict[str, Any] = {"name": path.name, "path": str(path.resolve()), "sha256": sha256_file(path)}
    if cls is not None:
        source.update({"format": "state_dict", "class": cls, "init_args": dict(init_args or {})})
        return _from_class(path, cls, init_args or {}), source, None, None
    if path.suffix.lower() == ".onnx":
        net = _Onnx(path)
        shape = net.input_shape
        source["format"] = "onnx"
        return net, source, _static(shape[0]) if shape else None, _static(shape[1]) if len(shape) == 2 else None
    if path.suffix.lower() == ".pt2":
        net, batch, z_dim = _load_exported(path)
        source["format"] = "export"
        return net, source, batch, z_dim
    source["format"] = "torchscript"
    return _load_torchscript(path, device), source, None, None


def _open_object(generator: Any) -> tuple[Any, dict[str, Any]]:
    """(the callable, source record) of an import path or a Python module / callable."""
    if isinstance(generator, str):
        obj = import_object(generator, "--generator")
        if inspect.isclass(obj):
            raise ConfigError(f"--generator {generator!r} is a class; pass its weights as --generator FILE "
                              f"with --class {generator}")
        if not callable(obj):
            raise ConfigError(f"--generator {generator!r} is a {type(obj).__name__}, not a module or function "
                              f"taking a latent batch")
        return obj, {"name": generator, "format": "callable", "source_sha256": _source_file_sha(obj)}
    if not callable(generator):
        raise ConfigError(f"generator must be a file, an import path 'module:function', a torch.nn.Module or a "
                          f"callable, got {type(generator).__name__}")
    qualname = getattr(generator, "__qualname__", None) or type(generator).__qualname__
    module = getattr(generator, "__module__", None) or type(generator).__module__
    return generator, {"name": f"{module}:{qualname}", "format": "python"}


def load_external(generator: Any, *, cls: Optional[str] = None, init_args: Optional[dict[str, Any]] = None,
                  z_dim: Optional[int] = None, latent: Optional[str] = None,
                  device: str = "cpu") -> ExternalGenerator:
    """Load ``generator`` (file path, import path, module or callable) as an :class:`ExternalGenerator`.

    ``z_dim`` and ``latent`` default to the network's own ``z_dim`` / ``latent`` attributes (kept by
    ``torch.jit.script``), or for ONNX and ``.pt2`` files to the latent input's static size.
    """
    is_import_path = isinstance(generator, str) and cls is None and bool(IMPORT_PATH.match(generator)) \
        and not Path(generator).is_file()
    if isinstance(generator, Path) or (isinstance(generator, str) and not is_import_path):
        net, source, batch, found_z = _open_file(Path(generator), cls, init_args, device)
        own: Any = net
    else:
        own, source = _open_object(generator)
        net, batch, found_z = own if isinstance(own, nn.Module) else _Function(own), None, None
    if isinstance(net, _Function):
        own = net.fn
    z = z_dim if z_dim is not None else getattr(own, "z_dim", None) or found_z
    if isinstance(z, bool) or not isinstance(z, int) or z < 1:
        raise ConfigError(f"generator {source['name']!r}: the latent size is unknown or invalid ({z!r}); "
                          f"pass --z-dim (a positive int)")
    lat = latent if latent is not None else getattr(own, "latent", "normal")
    if lat not in LATENTS:
        raise ConfigError(f"--latent must be one of {', '.join(LATENTS)}, got {lat!r}")
    if batch is not None:
        net = _FixedBatch(net, batch)
    source.update({"z_dim": z, "latent": lat, "fixed_batch": batch})
    return ExternalGenerator(net, z, lat, source).to(device).eval()
