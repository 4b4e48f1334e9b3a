"""Cost of MemoryStore.save with a state file already holding N conversations.

    PYTHONPATH=. python -m bench.store_save 200 1000

Prints the median, p99, max and mean (the mean includes the occasional fold of the journal into
a new snapshot) of 500 saves, and the time a new process takes to open the state and read one
conversation. For a baseline, run this file against another checkout's agent package:
    PYTHONPATH=/other/checkout python -c "import runpy, sys; sys.argv = ['x', '200']; runpy.run_path('bench/store_save.py', run_name='__main__')"
"""
from __future__ import annotations

import statistics
import sys
import tempfile
import time
from pathlib import Path

from agent.conversation import Conversation, Turn
from agent.store_memory import MemoryStore
from guardrails.codes import Channel


def conversation(i: int) -> Conversation:
    turns = [Turn(role="user" if j % 2 == 0 else "bot", text=f"turn {j} of conversation {i}: " + "lorem " * 20)
             for j in range(6)]
    return Conversation(id=f"webchat:c{i}", customer_id=f"cust-{i}", channel=Channel.WEBCHAT, platform="web",
                        turns=turns)


def run(n: int, saves: int = 500) -> str:
    with tempfile.TemporaryDirectory() as d:
        path = Path(d) / "state.json"
        store = MemoryStore(path=path)
        for i in range(n):
            store.save(conversation(i))
        times = []
        for r in range(saves):
            conv = conversation(r % n)
            t = time.perf_counter()
            store.save(conv)
            times.append(time.perf_counter() - t)
        t = time.perf_counter()
        MemoryStore(path=path).get("webchat:c0")
        cold = time.perf_counter() - t
    ms = sorted(x * 1000 for x in times)
    return (f"n={n}: save median {statistics.median(ms):.2f} ms, p99 {ms[int(len(ms) * 0.99) - 1]:.2f} ms, "
            f"max {ms[-1]:.2f} ms, mean {statistics.fmean(ms):.2f} ms; new reader open+get {cold * 1000:.1f} ms")


def main(argv: list[str] | None = None) -> None:
    for arg in (sys.argv[1:] if argv is None else argv) or ["200"]:
        print(run(int(arg)))


if __name__ == "__main__":
    main()
