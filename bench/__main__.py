"""`python -m bench NAME [args]`: run one benchmark module (bench/<name>.py's main(argv))."""
from __future__ import annotations

import importlib
import sys

BENCHES = {
    "retrieval": "bench.retrieval",
}


def main(argv: list[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    if not args or args[0] not in BENCHES:
        print(f"usage: python -m bench {{{','.join(BENCHES)}}} [options]", file=sys.stderr)
        return 2
    module = importlib.import_module(BENCHES[args[0]])
    return int(module.main(args[1:]) or 0)


if __name__ == "__main__":
    sys.exit(main())
