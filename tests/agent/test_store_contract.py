"""One contract for every ConversationStore: the in-process one (with and without its state
file) and Redis behave the same for everything the engine and the handoff rely on."""
from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from agent.case_ids import is_case_id
from agent.conversation import Conversation, ConversationStatus, Turn
from agent.packet import ContextPacket
from agent.settings import Settings
from agent.store import LockTimeout, make_store
from agent.store_memory import MemoryStore
from agent.store_redis import RedisStore
from guardrails.codes import Channel, Priority, Reason

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(params=["memory", "memory_file", "redis"])
def make(request, tmp_path):
    """A factory of store instances that share one backing state (like separate processes)."""
    kind = request.param
    if kind == "memory":
        shared = MemoryStore()

        def factory(ttl_s: int = 3600):
            shared.ttl_s = ttl_s
            return shared
    elif kind == "memory_file":
        path = tmp_path / "state.json"

        def factory(ttl_s: int = 3600):
            return MemoryStore(path=path, ttl_s=ttl_s)
    else:
        url = request.getfixturevalue("redis_url")
        prefix = request.getfixturevalue("redis_prefix")

        def factory(ttl_s: int = 3600):
            return RedisStore(url, prefix=prefix, ttl_s=ttl_s)
    factory.kind = kind  # type: ignore[attr-defined]
    return factory


def _conv(key: str = "webchat:c1", customer: str = "cust-1") -> Conversation:
    return Conversation(id=key, customer_id=customer, channel=Channel.WEBCHAT, platform="web",
                        turns=[Turn(role="user", text="where is my order [ACCOUNT]?")],
                        sentiment=[-0.2], pii_kinds=["ACCOUNT"])


def _packet(case_id: str, key: str) -> ContextPacket:
    now = datetime.now(timezone.utc)
    return ContextPacket(case_id=case_id, priority=Priority.HIGH, reasons=[Reason.BILLING_DISPUTE],
                         summary="Charged twice.", customer_id="cust-1", platform="web",
                         channel="webchat", conversation_id=key, created_at=now,
                         sla_due_at=now + timedelta(minutes=30))


def test_round_trip(make):
    store = make()
    conv = _conv()
    conv.status = ConversationStatus.AWAITING_HUMAN
    conv.case_id = "CX-7K3Q9"
    store.save(conv)
    again = store.get(conv.id)
    assert again == conv
    assert store.get("webchat:nobody") is None


def test_conversation_expires_after_ttl(make):
    store = make(ttl_s=1)
    store.save(_conv())
    assert store.get("webchat:c1") is not None
    time.sleep(1.2)
    assert store.get("webchat:c1") is None


def test_dedupe_is_atomic_and_expires(make):
    store = make()
    results: list[bool] = []
    barrier = threading.Barrier(8)

    def mark():
        barrier.wait()
        results.append(make().seen("meta:mid.1", 1))

    threads = [threading.Thread(target=mark) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(results) == [False] + [True] * 7  # exactly one worker handles the message
    assert store.seen("meta:mid.2", 1) is False
    time.sleep(1.2)
    assert store.seen("meta:mid.1", 1) is False  # the dedupe key expired


def test_case_ids_unique_under_concurrency(make):
    ids: list[str] = []
    lock = threading.Lock()

    def take():
        store = make()
        mine = [store.next_case_id() for _ in range(25)]
        with lock:
            ids.extend(mine)

    threads = [threading.Thread(target=take) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(ids) == 200
    assert len(set(ids)) == 200
    assert all(is_case_id(c) for c in ids)


def test_lock_serializes_concurrent_updates(make):
    make().save(_conv())
    errors: list[BaseException] = []

    def append(worker: int):
        store = make()
        try:
            for n in range(5):
                with store.lock("webchat:c1"):
                    conv = store.get("webchat:c1")
                    assert conv is not None
                    conv.turns.append(Turn(role="user", text=f"w{worker}-{n}"))
                    store.save(conv)
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=append, args=(w,)) for w in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    texts = [t.text for t in make().get("webchat:c1").turns[1:]]
    assert sorted(texts) == sorted(f"w{w}-{n}" for w in range(8) for n in range(5))


def test_lock_times_out_then_frees(make):
    store = make()
    other = make()
    with store.lock("webchat:c1"):
        with pytest.raises(LockTimeout):
            with other.lock("webchat:c1", timeout_s=0.2):
                pass
    with other.lock("webchat:c1", timeout_s=1):
        pass


def test_link_customer_across_platforms(make):
    store = make()
    store.link_customer("meta", "psid-42", "cust-9")
    store.link_customer("telegram", "777", "cust-9")
    assert make().customer_for("meta", "psid-42") == "cust-9"
    assert make().customer_for("telegram", "777") == "cust-9"
    assert store.customer_for("x", "psid-42") is None
    store.save(_conv("messenger:page:psid-42", customer="cust-9"))
    store.save(_conv("telegram:777", customer="cust-9"))
    assert sorted(make().customer_conversations("cust-9")) == ["messenger:page:psid-42",
                                                              "telegram:777"]


def test_case_index_packets_events_outbox(make):
    store = make()
    first, second = store.next_case_id(), store.next_case_id()
    store.index_case(first, "webchat:c1")
    store.index_case(second, "webchat:c2")
    store.index_case(first, "webchat:c1")  # re-indexing keeps its place in the queue
    reader = make()
    assert reader.find_case(first) == "webchat:c1"
    assert reader.find_case("CX-ZZZZZ") is None
    assert reader.open_cases() == [first, second]
    store.close_case(first)
    assert reader.open_cases() == [second]
    assert reader.all_cases() == [first, second]
    packet = _packet(first, "webchat:c1")
    store.save_packet(packet)
    assert reader.packet(first) == packet
    assert reader.packet(second) is None
    store.append_case_event(first, {"kind": "opened", "status": "awaiting_human"})
    store.append_case_event(first, {"kind": "claimed", "actor": "U1", "status": "human"})
    assert [e["kind"] for e in reader.case_events(first)] == ["opened", "claimed"]
    store.append_outbox("webchat:c1", {"text": "hello", "n": 1})
    assert reader.outbox("webchat:c1") == [{"text": "hello", "n": 1}]
    assert reader.outbox("webchat:c2") == []


def test_history_survives_restart(make):
    if make.kind == "memory":
        pytest.skip("the plain in-process store lives and dies with its process")
    store = make()
    conv = _conv()
    conv.turns.append(Turn(role="bot", text="It ships in 2 days.", action="answer"))
    store.save(conv)
    case = store.next_case_id()
    store.index_case(case, conv.id)
    del store
    fresh = make()  # a new instance: what a restarted process builds
    assert [t.text for t in fresh.get(conv.id).turns] == [t.text for t in conv.turns]
    assert fresh.find_case(case) == conv.id


def test_new_process_reads_what_the_first_wrote(make, tmp_path):
    if make.kind == "memory":
        pytest.skip("the plain in-process store is not shared between processes")
    store = make()
    store.save(_conv("webchat:restart"))
    if make.kind == "memory_file":
        ctor = f"MemoryStore(path={str(store.path)!r})"
    else:
        ctor = f"RedisStore({store._url!r}, prefix={store.prefix!r})"
    code = ("from agent.store_memory import MemoryStore\nfrom agent.store_redis import RedisStore\n"
            f"s = {ctor}\nprint(s.get('webchat:restart').turns[0].text)\n"
            "print(s.next_case_id())\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60,
                         cwd=REPO, check=True).stdout.split("\n")
    assert out[0] == "where is my order [ACCOUNT]?"
    assert is_case_id(out[1])


def test_make_store_picks_backend(tmp_path, redis_url):
    embedded = make_store(Settings(data_dir=tmp_path, redis_url=None))
    assert isinstance(embedded, MemoryStore)
    assert embedded.path == tmp_path / "state.json"
    shared = make_store(Settings(data_dir=tmp_path, redis_url=redis_url))
    assert isinstance(shared, RedisStore)


# --- the state file: a snapshot plus an append-only journal -------------------------------------

def _long_conv(n: int, words: int = 600) -> Conversation:
    conv = _conv(f"webchat:long{n}", customer=f"cust-{n}")
    conv.turns.append(Turn(role="bot", text=" ".join(f"w{n}x{i}" for i in range(words)), action="answer"))
    return conv


def _fill_until_snapshot(path: Path) -> tuple[MemoryStore, int]:
    store = MemoryStore(path=path)
    n = 0
    while not path.exists() or n < 5:
        store.save(_long_conv(n))
        n += 1
        assert n < 2000, "the state never reached a snapshot"
    return store, n


def test_a_save_does_not_rewrite_the_other_conversations(tmp_path):
    path = tmp_path / "state.json"
    store, n = _fill_until_snapshot(path)
    before = os.stat(path)
    store.save(_long_conv(n))
    store.save(_conv("webchat:new"))
    after = os.stat(path)
    assert (after.st_ino, after.st_mtime_ns, after.st_size) == (before.st_ino, before.st_mtime_ns, before.st_size)
    fresh = MemoryStore(path=path)  # what a restarted process sees
    assert fresh.get("webchat:new") is not None and fresh.get(f"webchat:long{n}") is not None
    assert len([k for k in range(n + 1) if fresh.get(f"webchat:long{k}") is not None]) == n + 1


def test_two_writers_across_folds_of_the_journal_lose_nothing(tmp_path):
    path = tmp_path / "state.json"
    first, second = MemoryStore(path=path), MemoryStore(path=path)
    for n in range(160):  # well past several folds of the journal into the snapshot
        (first if n % 2 else second).save(_long_conv(n, words=300))
        conv = first.get("webchat:counter") or _conv("webchat:counter")
        conv.turns.append(Turn(role="user", text=f"message {n}"))
        second.save(conv)
    for reader in (first, second, MemoryStore(path=path)):
        assert all(reader.get(f"webchat:long{n}") is not None for n in range(160))
        assert len(reader.get("webchat:counter").turns) == 161
    journal = path.with_name(path.name + ".journal")
    assert journal.stat().st_size <= max(path.stat().st_size, 512 * 1024)


def test_a_torn_journal_line_loses_nothing_written_before_it(tmp_path):
    path = tmp_path / "state.json"
    MemoryStore(path=path).save(_conv("webchat:a"))
    journal = path.with_name(path.name + ".journal")
    with open(journal, "ab") as fh:  # a process died halfway through its append
        fh.write(b'[["convs","webchat:b",0,{"data":{"id":"webch')
    restarted = MemoryStore(path=path)
    assert restarted.get("webchat:a") is not None and restarted.get("webchat:b") is None
    restarted.save(_conv("webchat:c"))
    later = MemoryStore(path=path)
    assert later.get("webchat:a") is not None and later.get("webchat:c") is not None


def test_a_fold_interrupted_before_the_journal_is_emptied_replays_to_the_same_state(tmp_path):
    path = tmp_path / "state.json"
    store, n = _fill_until_snapshot(path)
    journal = path.with_name(path.name + ".journal")
    store.save(_conv("webchat:last", customer="cust-1"))
    store.save(_conv("webchat:last", customer="cust-2"))  # a later version of the same entry
    unfolded = journal.read_bytes()
    snapshot = os.stat(path).st_ino
    while os.stat(path).st_ino == snapshot:  # more saves until those lines are folded into a snapshot
        store.save(_long_conv(n))
        n += 1
    # As if that fold had written its snapshot and died before emptying the journal: the old
    # lines are still there, and later writers appended after them.
    journal.write_bytes(unfolded + journal.read_bytes())
    fresh = MemoryStore(path=path)
    assert fresh.get("webchat:last").customer_id == "cust-2"
    assert all(fresh.get(f"webchat:long{k}") is not None for k in range(n))
