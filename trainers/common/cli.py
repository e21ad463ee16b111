"""``python -m trainers.<name> --data DIR --model MODEL --output OUT [--resume] [--set key=value ...]``."""

from __future__ import annotations

import argparse
import dataclasses
import sys
from typing import Callable

from transforms.search.base import build_config


def build_parser(prog: str, config_cls: type, description: str) -> argparse.ArgumentParser:
    fields = ", ".join(f.name for f in dataclasses.fields(config_cls) if f.name not in ("data", "model", "output"))
    parser = argparse.ArgumentParser(prog=prog, description=description,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", required=True, help="treemill export folder or label-run folder")
    parser.add_argument("--model", default="default", help="local folder, hub id, or 'default' (SmolLM2-135M-Instruct)")
    parser.add_argument("--output", required=True, help="folder to write the trained model to")
    parser.add_argument("--resume", action="store_true", help="continue from the newest checkpoint in OUTPUT/checkpoints")
    parser.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                        help=f"any {config_cls.__name__} field, repeatable: {fields}")
    return parser


def config_from_args(config_cls: type, args: argparse.Namespace):
    params = {}
    for item in args.set:
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise ValueError(f"--set takes KEY=VALUE, got {item!r}")
        params[key.strip()] = value
    for name in ("data", "model", "output"):
        if name in params:
            raise ValueError(f"give {name} with --{name}, not --set")
    params.update(data=args.data, model=args.model, output=args.output)
    if args.resume:
        params["resume"] = "true"
    return build_config(config_cls, params)


def main(prog: str, config_cls: type, train: Callable, description: str, argv=None):
    """Parse, train, print where the model is; a bad option or input is one 'error:' line, exit 2."""
    args = build_parser(prog, config_cls, description).parse_args(argv)
    try:
        config = config_from_args(config_cls, args)
        out = train(config)
    except (ValueError, FileNotFoundError) as err:
        print(f"error: {err}", file=sys.stderr)
        raise SystemExit(2) from None
    print(f"{prog}: model written to {out} (model card: {out}/README.md)")
    return out
