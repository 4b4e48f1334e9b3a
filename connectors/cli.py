"""The `concierge` command. Each connectors/cli_*.py module registers its own commands."""
from __future__ import annotations

import importlib
import os

import typer

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("ANONYMIZED_TELEMETRY", "False")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

app = typer.Typer(
    name="concierge",
    help="Concierge: grounded customer-support agent for social platforms.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_show_locals=False,
)

# Order is the order commands appear in --help.
_COMMAND_MODULES = (
    "connectors.cli_kb",
    "connectors.cli_chat",
    "connectors.cli_serve",
    "connectors.cli_eval",
    "connectors.cli_escalations",
)

for _name in _COMMAND_MODULES:
    try:
        _module = importlib.import_module(_name)
    except ModuleNotFoundError as exc:
        if exc.name != _name:  # a real missing dependency inside the module: say so
            raise
        continue
    _module.register(app)


def main() -> None:
    app()


if __name__ == "__main__":
    main()
