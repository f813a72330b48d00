"""Typed, strict parameter parsing.

Every pipeline's parameters are described by a dataclass (see :mod:`v2v_pipeline.params`); most
are the libraries' own config types (``MediaPipeConfig``, ``PoseNormConfig``, ...), which may
check their values in ``__post_init__`` or a ``validate()`` method.
:func:`parse` turns the plain dict that Kedro loads from ``conf/*/parameters_*.yml`` into
that dataclass and fails early with an error that names the key, the file to edit,
what was expected, and (for typos) the closest valid key.
"""

from __future__ import annotations

import dataclasses
import difflib
import os
import types
import typing
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Literal, TypeVar, Union, get_args, get_origin, get_type_hints

T = TypeVar("T")


class ConfigError(ValueError):
    """A parameter is missing, unknown, or of the wrong type."""


def _cli_option(argv: list[str], *names: str) -> list[str]:
    """Values of a command-line option (``--params a=1`` or ``--params=a=1``), in order."""
    out = []
    for i, arg in enumerate(argv):
        for name in names:
            if arg == name and i + 1 < len(argv):
                out.append(argv[i + 1])
            elif arg.startswith(name + "="):
                out.append(arg[len(name) + 1:])
    return out


def _defines(tree: Any, dotted: str) -> bool:
    node = tree
    for part in dotted.split("."):
        if not isinstance(node, Mapping) or part not in node:
            return False
        node = node[part]
    return True


def value_origin(path: str, argv: list[str] | None = None, conf: str | Path = "conf",
                 env: str | None = None) -> str | None:
    """Where the value of parameter ``path`` (``ingest.target.path``, ``train.lr[0]``) was set: ``--params``
    on the command line, else the first conf file defining it in the run's environment (``--env`` /
    ``KEDRO_ENV``, default ``local``) then ``base``; None when no file defines it (a default)."""
    import sys

    argv = list(sys.argv if argv is None else argv)
    key = path.split("[")[0]
    for value in _cli_option(argv, "--params"):
        for item in value.split(","):
            name = item.split("=", 1)[0].strip().replace(":", ".")
            if name and (key == name or key.startswith(name + ".") or name.startswith(key + ".")):
                return f"--params ({item.strip()})"
    env = env or (_cli_option(argv, "--env", "-e") or [None])[-1] or os.environ.get("KEDRO_ENV") or "local"
    root = Path(conf)
    for folder in dict.fromkeys((env, "base")):
        for file in sorted((root / folder).glob("**/parameters*.y*ml")):
            try:
                import yaml

                tree = yaml.safe_load(file.read_text(encoding="utf-8"))
            except Exception:  # noqa: BLE001 - an unreadable file is not where the value came from
                continue
            if _defines(tree, key):
                return file.as_posix()
    return None


def where_to_fix(path: str) -> str:
    """The file (or ``--params``) that set parameter ``path``, for messages of library code."""
    return _where_hint(path)


def _where_hint(path: str) -> str:
    """The file (or ``--params``) to fix: where the value came from, else where the section's defaults live."""
    origin = value_origin(path)
    if origin is not None and origin.startswith("--params"):
        return f"the command line's {origin}"
    top = path.split(".")[0]
    if origin is not None:
        return origin
    return f"conf/local/parameters_{top}.yml (the defaults are in conf/base/parameters_{top}.yml)"


def _type_name(tp: Any) -> str:
    origin = get_origin(tp)
    if origin is Literal:
        return " | ".join(repr(a) for a in get_args(tp))
    if origin in (Union, types.UnionType):
        return " or ".join(_type_name(a) for a in get_args(tp))
    if tp is type(None):
        return "null"
    if dataclasses.is_dataclass(tp):
        return f"a mapping ({tp.__name__})"
    if origin is not None:
        return str(tp).replace("typing.", "")
    return getattr(tp, "__name__", str(tp))


def _fail(path: str, expected: Any, value: Any) -> typing.NoReturn:
    raise ConfigError(
        f"parameter '{path}': expected {_type_name(expected)}, got {value!r} ({type(value).__name__}). "
        f"Fix it in {_where_hint(path)}."
    )


def _convert(tp: Any, value: Any, path: str) -> Any:
    origin = get_origin(tp)
    if tp is Any:
        return value
    if dataclasses.is_dataclass(tp):
        if not isinstance(value, Mapping):
            _fail(path, tp, value)
        return parse(tp, value, path)
    if origin is Literal:
        if value not in get_args(tp):
            close = difflib.get_close_matches(str(value), [str(a) for a in get_args(tp)], n=1)
            hint = f" Did you mean {close[0]!r}?" if close else ""
            raise ConfigError(
                f"parameter '{path}': {value!r} is not one of {', '.join(repr(a) for a in get_args(tp))}.{hint} "
                f"Fix it in {_where_hint(path)}."
            )
        return value
    if origin in (Union, types.UnionType):
        errors = []
        args = get_args(tp)
        if value is None and type(None) in args:
            return None
        for arg in args:
            if arg is type(None):
                continue
            try:
                return _convert(arg, value, path)
            except ConfigError as e:
                errors.append(e)
        if len(errors) == 1 and isinstance(value, (Mapping, list, tuple)):
            raise errors[0]  # the nested message names the exact element
        _fail(path, tp, value)
    if tp is type(None):
        if value is not None:
            _fail(path, tp, value)
        return None
    if tp is bool:
        if not isinstance(value, bool):
            _fail(path, tp, value)
        return value
    if tp is int:
        if isinstance(value, bool) or not isinstance(value, int):
            _fail(path, tp, value)
        return value
    if tp is float:
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            _fail(path, tp, value)
        return float(value)
    if tp is str:
        if not isinstance(value, str):
            _fail(path, tp, value)
        return value
    if origin in (list, typing.List):  # noqa: UP006
        if not isinstance(value, (list, tuple)):
            _fail(path, tp, value)
        (arg,) = get_args(tp) or (Any,)
        return [_convert(arg, v, f"{path}[{i}]") for i, v in enumerate(value)]
    if origin is tuple:
        args = get_args(tp)
        if not isinstance(value, (list, tuple)):
            _fail(path, tp, value)
        if len(args) == 2 and args[1] is Ellipsis:
            return tuple(_convert(args[0], v, f"{path}[{i}]") for i, v in enumerate(value))
        if len(value) != len(args):
            _fail(path, tp, value)
        return tuple(_convert(a, v, f"{path}[{i}]") for i, (a, v) in enumerate(zip(args, value)))
    if origin in (dict, Mapping):
        if not isinstance(value, Mapping):
            _fail(path, tp, value)
        _, varg = get_args(tp) or (str, Any)
        return {str(k): _convert(varg, v, f"{path}.{k}") for k, v in value.items()}
    raise TypeError(f"config.parse: unsupported annotation {tp!r} at {path}")


def parse(cls: type[T], data: Mapping[str, Any] | None, path: str) -> T:
    """Build dataclass ``cls`` from ``data``; ``path`` is the dotted parameter name for messages."""
    data = dict(data or {})
    hints = get_type_hints(cls)
    fields = {f.name: f for f in dataclasses.fields(cls)}
    unknown = [k for k in data if k not in fields]
    if unknown:
        key = unknown[0]
        close = difflib.get_close_matches(str(key), list(fields), n=1)
        hint = f" Did you mean '{path}.{close[0]}'?" if close else f" Valid keys: {', '.join(sorted(fields))}."
        raise ConfigError(f"unknown parameter '{path}.{key}'.{hint} Fix it in {_where_hint(path)}.")
    kwargs = {}
    for name, f in fields.items():
        if name in data:
            kwargs[name] = _convert(hints[name], data[name], f"{path}.{name}")
        elif f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING:
            raise ConfigError(f"missing parameter '{path}.{name}' ({_type_name(hints[name])}). Add it to {_where_hint(path)}.")
    try:
        obj = cls(**kwargs)  # a library config may check its values in __post_init__
        check = getattr(obj, "validate", None)
        if check is not None:
            check()
    except ConfigError:
        raise
    except ValueError as e:
        raise ConfigError(f"parameters '{path}': {e}. Fix it in {_where_hint(path)}.") from e
    return obj


def to_dict(obj: Any) -> Any:
    """Plain-dict form of a parsed parameter dataclass (for hashing and logging)."""
    if dataclasses.is_dataclass(obj):
        return {f.name: to_dict(getattr(obj, f.name)) for f in dataclasses.fields(obj)}
    if isinstance(obj, (list, tuple)):
        return [to_dict(v) for v in obj]
    if isinstance(obj, dict):
        return {k: to_dict(v) for k, v in obj.items()}
    return obj
