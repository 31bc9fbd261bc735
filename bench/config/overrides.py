"""Command-line overrides and sweeps, applied to a config's data before it is validated.

``--repetitions N``, ``--warmup N``, ``--rounds R``, ``--order ORDER`` (bench.runner.plan
.schedule), ``--set key.path=value`` (any field; a list item is named by its index or by its
``name``: ``backends.cpu.options.n_batch=256``), and the llama-bench-like sweeps:

- ``--threads 1,2,4``: every backend whose options have ``threads`` (llama.cpp) becomes one
  backend per count, named ``<name>-t<N>``; its artifacts and mixed placements follow.
- ``-p 128,512``, ``-n 64,128``, ``-d 0,1024``: every throughput workload becomes one
  workload per combination, named ``pp<P>-tg<N>`` (``-d<D>`` added when a depth is swept),
  prefixed ``<name>:`` when the config has several throughput workloads.

The result is validated like the YAML itself; a mistake in a value that came from the
command line names the option that set it (``--set workloads.w1.gen_tokens=0: ...``).
The overrides are recorded in run.json (``overrides``) and are part of the resolved config,
so a resume with different ones is refused like a changed config.
"""

from __future__ import annotations

import copy
import itertools
from dataclasses import asdict, dataclass, field
from typing import Any

from bench.config.errors import Loc
from bench.errors import UserError


@dataclass(frozen=True)
class Overrides:
    repetitions: int | None = None
    warmup: int | None = None
    rounds: int | None = None
    order: str | None = None
    threads: tuple[int, ...] = ()
    prompt_tokens: tuple[int, ...] = ()
    gen_tokens: tuple[int, ...] = ()
    depth: tuple[int, ...] = ()
    sets: tuple[str, ...] = ()

    def empty(self) -> bool:
        return self == Overrides()

    def as_dict(self) -> dict[str, Any]:
        return {k: list(v) if isinstance(v, tuple) else v for k, v in asdict(self).items()}

    @classmethod
    def from_dict(cls, data: Any) -> Overrides:
        if not isinstance(data, dict):
            return cls()
        try:
            return cls(repetitions=data.get("repetitions"), warmup=data.get("warmup"),
                       rounds=data.get("rounds"), order=data.get("order"),
                       threads=tuple(data.get("threads") or ()),
                       prompt_tokens=tuple(data.get("prompt_tokens") or ()),
                       gen_tokens=tuple(data.get("gen_tokens") or ()),
                       depth=tuple(data.get("depth") or ()),
                       sets=tuple(str(s) for s in data.get("sets") or ()))
        except TypeError:
            raise UserError(f"run.json: overrides are damaged: {data!r}") from None


@dataclass
class Applied:
    data: dict[str, Any]
    origins: dict[Loc, str] = field(default_factory=dict)
    """Path of a value set from the command line -> the option that set it."""

    def origin(self, loc: Loc) -> str | None:
        for n in range(len(loc), 0, -1):
            if loc[:n] in self.origins:
                return self.origins[loc[:n]]
        return None


def int_list(text: str, what: str, low: int = 1) -> tuple[int, ...]:
    """"1,2,4" -> (1, 2, 4); one clear line for anything else."""
    out: list[int] = []
    for part in (p.strip() for p in text.split(",")):
        if not part:
            continue
        try:
            value = int(part)
        except ValueError:
            raise UserError(f"{what} {text!r}: expected whole numbers separated by commas, "
                            f"got {part!r}") from None
        if value < low:
            raise UserError(f"{what} {text!r}: each value must be at least {low}, got {value}")
        if value not in out:
            out.append(value)
    if not out:
        raise UserError(f"{what}: expected at least one number, e.g. {what} 1,2,4")
    return tuple(out)


def _parse_value(text: str, option: str) -> Any:
    from bench.config.yamlfile import YamlRefused, safe_parse

    try:
        value, _ = safe_parse(text, option)
    except YamlRefused as exc:
        raise UserError(f"{option}: the value is not valid YAML ({exc})") from None
    return value


def _index(items: list[Any], parts: list[str], option: str, where: str) -> tuple[int, int]:
    """The list item that ``parts`` start with (an index, or a ``name`` that may hold dots):
    (its index, how many parts named it)."""
    if parts[0].isdigit():
        i = int(parts[0])
        if i >= len(items):
            raise UserError(f"{option}: {where} has {len(items)} item(s); no index {i}")
        return i, 1
    names = [str(it.get("name")) for it in items if isinstance(it, dict) and "name" in it]
    for take in range(len(parts), 0, -1):
        name = ".".join(parts[:take])
        for i, it in enumerate(items):
            if isinstance(it, dict) and it.get("name") == name:
                return i, take
    from bench.registry import did_you_mean

    raise UserError(f"{option}: no item named {parts[0]!r} in {where}: "
                    f"{did_you_mean(parts[0], names)}")


def apply_set(data: dict[str, Any], assignment: str, origins: dict[Loc, str]) -> None:
    option = f"--set {assignment}"
    key, sep, text = assignment.partition("=")
    parts = [p for p in key.strip().split(".")]
    if not sep or not key.strip() or any(not p for p in parts):
        raise UserError(f"{option}: expected KEY.PATH=VALUE, e.g. --set repetitions=3 or "
                        "--set backends.cpu.options.threads=2")
    value = _parse_value(text, option)
    node: Any = data
    loc: list[str | int] = []
    while True:
        where = ".".join(str(x) for x in loc) or "the config"
        if isinstance(node, list):
            i, used = _index(node, parts, option, where)
            parts = parts[used:]
            loc.append(i)
            if not parts:
                node[i] = value
                break
            node = node[i]
            continue
        if not isinstance(node, dict):
            raise UserError(f"{option}: {where} is a value, not a mapping: cannot set "
                            f"{'.'.join(parts)} inside it")
        head = parts[0]
        if len(parts) == 1:
            node[head] = value
            loc.append(head)
            break
        if head not in node or node[head] is None:
            node[head] = {}
        node = node[head]
        loc.append(head)
        parts = parts[1:]
    origins[tuple(loc)] = option


def _threads_backends(data: dict[str, Any]) -> set[str]:
    """Names of the backends whose options take ``threads`` (read from each backend's
    options model, never from its name)."""
    from bench.registry import BACKENDS, backend_entry

    out = set()
    for b in data.get("backends") or []:
        if not isinstance(b, dict) or b.get("type") not in BACKENDS:
            continue
        cls = backend_entry(b["type"]).options_cls()
        if "threads" in getattr(cls, "model_fields", {}):
            out.add(str(b.get("name")))
    return out


def _sweep_threads(data: dict[str, Any], counts: tuple[int, ...],
                   origins: dict[Loc, str]) -> None:
    option = f"--threads {','.join(map(str, counts))}"
    names = _threads_backends(data)
    if not names:
        raise UserError(f"{option}: no backend of this config takes threads (a llama_cpp "
                        "backend does)")
    renamed: dict[str, list[str]] = {}
    backends: list[Any] = []
    for b in data["backends"]:
        if not isinstance(b, dict) or b.get("name") not in names:
            backends.append(b)
            continue
        renamed[b["name"]] = []
        for n in counts:
            nb = copy.deepcopy(b)
            nb["name"] = f"{b['name']}-t{n}"
            opts = nb.get("options")
            nb["options"] = {**(opts if isinstance(opts, dict) else {}), "threads": n}
            origins[("backends", len(backends), "options", "threads")] = option
            renamed[b["name"]].append(nb["name"])
            backends.append(nb)
    data["backends"] = backends
    for m in data.get("models") or []:
        arts = m.get("artifacts") if isinstance(m, dict) else None
        if isinstance(arts, dict):
            for old, new in renamed.items():
                if old in arts:
                    art = arts.pop(old)
                    for name in new:
                        arts[name] = copy.deepcopy(art)
    mixed = data.get("mixed")
    if isinstance(mixed, dict) and isinstance(mixed.get("placements"), list):
        out = []
        for p in mixed["placements"]:
            if isinstance(p, dict) and p.get("backend") in renamed:
                for name in renamed[p["backend"]]:
                    out.append({**copy.deepcopy(p), "backend": name,
                                "name": f"{p.get('name')}-{name.rsplit('-', 1)[1]}"})
            else:
                out.append(p)
        mixed["placements"] = out


def _sweep_workloads(data: dict[str, Any], ov: Overrides, origins: dict[Loc, str]) -> None:
    given = [("-p", ov.prompt_tokens), ("-n", ov.gen_tokens), ("-d", ov.depth)]
    options = " ".join(f"{o} {','.join(map(str, v))}" for o, v in given if v)
    workloads = data.get("workloads") or []
    tp = [w for w in workloads if isinstance(w, dict) and w.get("kind", "throughput")
          == "throughput"]
    if not tp:
        raise UserError(f"{options}: this config has no throughput workload to sweep "
                        "(-p/-n/-d set the lengths of throughput workloads)")
    prefix = len(tp) > 1
    renamed: dict[str, list[str]] = {}
    out: list[Any] = []
    for w in workloads:
        if w not in tp:
            out.append(w)
            continue
        ps = ov.prompt_tokens or (w.get("prompt_tokens"),)
        ns = ov.gen_tokens or (w.get("gen_tokens"),)
        ds = ov.depth or (w.get("depth", 0),)
        renamed[str(w.get("name"))] = []
        for p, n, d in itertools.product(ps, ns, ds):
            name = f"pp{p}-tg{n}" + (f"-d{d}" if ov.depth else "")
            if prefix:
                name = f"{w.get('name')}:{name}"
            nw = {**copy.deepcopy(w), "name": name, "prompt_tokens": p, "gen_tokens": n}
            if ov.depth or "depth" in w:
                nw["depth"] = d
            i = len(out)
            for key, values, opt in (("prompt_tokens", ov.prompt_tokens, "-p"),
                                     ("gen_tokens", ov.gen_tokens, "-n"),
                                     ("depth", ov.depth, "-d")):
                if values:
                    origins[("workloads", i, key)] = f"{opt} {nw[key]}"
            renamed[str(w.get("name"))].append(name)
            out.append(nw)
    data["workloads"] = out
    mixed = data.get("mixed")
    if isinstance(mixed, dict) and isinstance(mixed.get("workloads"), list):
        mixed["workloads"] = [n for old in mixed["workloads"]
                              for n in renamed.get(str(old), [old])]


def apply(data: Any, ov: Overrides) -> Applied:
    """``data`` (the parsed YAML) with the overrides applied; the input is not changed."""
    if ov.empty() or not isinstance(data, dict):
        return Applied(data if isinstance(data, dict) else {})
    data = copy.deepcopy(data)
    origins: dict[Loc, str] = {}
    for key, value in (("repetitions", ov.repetitions), ("warmup", ov.warmup),
                       ("rounds", ov.rounds), ("order", ov.order)):
        if value is not None:  # a top-level field set by its own option, e.g. --rounds 3
            data[key] = value
            origins[(key,)] = f"--{key} {value}"
    for assignment in ov.sets:
        apply_set(data, assignment, origins)
    if ov.threads:
        _sweep_threads(data, ov.threads, origins)
    if ov.prompt_tokens or ov.gen_tokens or ov.depth:
        _sweep_workloads(data, ov, origins)
    return Applied(data, origins)
