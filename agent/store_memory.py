"""MemoryStore: the embedded ConversationStore. Thread-safe; optionally shared through files.

With `path`, the state lives in a snapshot (`path`) plus an append-only journal
(`path.journal`), used under an exclusive file lock: an operation first applies what other
processes appended since it last looked, and a change appends one line holding the entries it
changed (whole entries, so replaying a line twice is harmless). A save costs one short append,
not a rewrite of every conversation; once the journal outgrows the snapshot it is folded into
a new snapshot. Nothing waits in memory, so a shutdown (clean or not) loses no conversation.
That lets `concierge chat` / `make run` and a separate `concierge escalations` command see the
same cases without Redis. It is meant for one machine and modest volume; use Redis to scale.
"""
from __future__ import annotations

import fcntl
import hashlib
import json
import os
import tempfile
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from agent.case_ids import random_case_id
from agent.conversation import Conversation
from agent.packet import ContextPacket
from agent.store import LockTimeout, StoreError

_SECTIONS = ("convs", "kv", "customers", "cust_convs", "case_ids", "cases", "open", "packets",
             "events", "outbox")
# The journal is folded into the snapshot once it is larger than this and than the snapshot,
# so the rewrites cost at most about one snapshot byte per journal byte.
COMPACT_MIN_BYTES = 256 * 1024


class _Section(dict):
    """A state table that remembers which keys an operation set, deleted or reached into
    (setdefault, then a nested append), so only those entries go to the journal."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.touched: set[str] = set()

    def __setitem__(self, key: str, value: Any) -> None:
        self.touched.add(key)
        super().__setitem__(key, value)

    def __delitem__(self, key: str) -> None:
        self.touched.add(key)
        super().__delitem__(key)

    def setdefault(self, key: str, default: Any = None) -> Any:
        self.touched.add(key)
        return super().setdefault(key, default)

    def pop(self, key: str, *default: Any) -> Any:
        self.touched.add(key)
        return super().pop(key, *default)


def _empty(tracked: bool = True) -> dict[str, Any]:
    # Untracked (plain dicts) without a file: nothing to journal, and no key set to grow.
    return {name: _Section() if tracked else {} for name in _SECTIONS}


class MemoryStore:
    """In-process store with the same semantics as RedisStore (TTLs, atomic dedupe, locks)."""

    def __init__(self, path: Path | str | None = None, *, ttl_s: int = 30 * 24 * 3600,
                 lock_lease_s: float = 30.0) -> None:
        self.path = Path(path) if path is not None else None
        self.ttl_s = ttl_s
        self.lock_lease_s = lock_lease_s
        self._mutex = threading.RLock()
        self._state = _empty(tracked=self.path is not None)
        self._signature: tuple[int, int, int] | None = None
        self._journal_pos = 0  # bytes of the journal already applied to _state
        self._writes = 0
        if self.path is not None:
            try:
                self.path.parent.mkdir(parents=True, exist_ok=True)
            except OSError as exc:
                raise StoreError(f"cannot create {self.path.parent} for the state file: {exc}") from exc
            self._lock_path = self.path.with_name(self.path.name + ".lock")
            self._journal_path = self.path.with_name(self.path.name + ".journal")

    # --- snapshot and journal plumbing ----------------------------------------------
    def _file_signature(self) -> tuple[int, int, int] | None:
        assert self.path is not None
        try:
            st = os.stat(self.path)
        except FileNotFoundError:
            return None
        return (st.st_ino, st.st_mtime_ns, st.st_size)

    def _reload_if_changed(self) -> None:
        assert self.path is not None
        sig = self._file_signature()
        if sig != self._signature:
            self._load_snapshot(sig)
        self._apply_journal()

    def _load_snapshot(self, sig: tuple[int, int, int] | None) -> None:
        assert self.path is not None
        self._state = _empty()
        if sig is not None:
            try:
                loaded = json.loads(self.path.read_text(encoding="utf-8"))
            except (OSError, json.JSONDecodeError) as exc:
                raise StoreError(
                    f"state file {self.path} is unreadable ({exc}); move it and {self._journal_path.name} "
                    "away to start fresh"
                ) from exc
            for name in _SECTIONS:
                if isinstance(loaded.get(name), dict):
                    self._state[name] = _Section(loaded[name])
        self._signature = sig
        self._journal_pos = 0  # a new snapshot: its journal is replayed from the start

    def _apply_journal(self) -> None:
        """Apply the complete lines other processes appended since we last looked."""
        try:
            size = os.stat(self._journal_path).st_size
        except FileNotFoundError:
            size = 0
        if size < self._journal_pos:  # folded into a snapshot we have not loaded: start over
            self._load_snapshot(self._file_signature())
        if size <= self._journal_pos:
            return
        with open(self._journal_path, "rb") as fh:
            fh.seek(self._journal_pos)
            chunk = fh.read(size - self._journal_pos)
        end = chunk.rfind(b"\n") + 1  # a line without its newline is a torn write: ignored
        for n, line in enumerate(chunk[:end].splitlines()):
            try:
                changes = json.loads(line)
                for section, key, deleted, value in changes:
                    table = self._state[section]
                    if deleted:
                        dict.pop(table, key, None)
                    else:
                        dict.__setitem__(table, key, value)
            except (ValueError, TypeError, KeyError) as exc:
                raise StoreError(
                    f"journal {self._journal_path} is unreadable after byte {self._journal_pos} "
                    f"(line {n + 1}: {exc}); move it and {self.path} away to start fresh"
                ) from exc
        self._journal_pos += end

    def _touched(self) -> list[list[Any]]:
        changes: list[list[Any]] = []
        for name in _SECTIONS:
            table = self._state[name]
            for key in sorted(table.touched):
                if key in table:
                    changes.append([name, key, 0, table[key]])
                else:
                    changes.append([name, key, 1, None])
            table.touched.clear()
        return changes

    def _append(self, changes: list[list[Any]]) -> None:
        line = (json.dumps(changes, default=str, separators=(",", ":")) + "\n").encode("utf-8")
        fd = os.open(self._journal_path, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            # Anything past what we applied is the torn tail of a writer that died mid-line.
            os.ftruncate(fd, self._journal_pos)
            os.lseek(fd, self._journal_pos, os.SEEK_SET)
            os.write(fd, line)
        finally:
            os.close(fd)
        self._journal_pos += len(line)
        snapshot = self._signature[2] if self._signature else 0
        if self._journal_pos > max(COMPACT_MIN_BYTES, snapshot):
            self._compact()

    def _compact(self) -> None:
        """A new snapshot with everything, then an empty journal. A crash in between only
        leaves lines the snapshot already holds, which replay to the same state."""
        self._write()
        os.truncate(self._journal_path, 0)
        self._journal_pos = 0

    def _write(self) -> None:
        assert self.path is not None
        fd, tmp = tempfile.mkstemp(prefix=self.path.name, suffix=".tmp", dir=self.path.parent)
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as fh:
                fh.write(json.dumps(self._state, default=str, separators=(",", ":")))
            os.replace(tmp, self.path)
        except BaseException:
            try:
                os.unlink(tmp)
            except FileNotFoundError:
                pass
            raise
        self._signature = self._file_signature()

    @contextmanager
    def _txn(self, write: bool = False) -> Iterator[dict[str, Any]]:
        """Run one operation atomically: across threads (mutex) and processes (flock)."""
        with self._mutex:
            if self.path is None:
                yield self._state
                self._after_write(write)
                return
            with open(self._lock_path, "a+") as lock_fh:
                fcntl.flock(lock_fh, fcntl.LOCK_EX)
                try:
                    self._reload_if_changed()
                    self._touched()  # a clean slate: only this operation's changes are written
                    try:
                        yield self._state
                    except BaseException:
                        self._signature = None  # drop half-made changes: reload from the files
                        raise
                    if write:
                        self._after_write(True)
                        changes = self._touched()
                        if changes:
                            self._append(changes)
                finally:
                    fcntl.flock(lock_fh, fcntl.LOCK_UN)

    def _after_write(self, write: bool) -> None:
        if not write:
            return
        self._writes += 1
        if self._writes % 256 == 0:  # expired entries are otherwise only dropped when read
            now = time.time()
            for section in ("kv", "convs"):
                table = self._state[section]
                for k in [k for k, v in table.items() if v.get("exp") and v["exp"] <= now]:
                    del table[k]

    @staticmethod
    def _live(entry: dict[str, Any] | None) -> dict[str, Any] | None:
        if entry is None:
            return None
        exp = entry.get("exp")
        return None if exp is not None and exp <= time.time() else entry

    # --- conversations ------------------------------------------------------------
    def get(self, key: str) -> Conversation | None:
        with self._txn() as st:
            entry = self._live(st["convs"].get(key))
            data = entry["data"] if entry else None
        return Conversation.model_validate(data) if data is not None else None

    def save(self, conv: Conversation) -> None:
        data = conv.model_dump(mode="json")
        with self._txn(write=True) as st:
            st["convs"][conv.id] = {"data": data, "exp": time.time() + self.ttl_s}
            if conv.customer_id:
                keys = st["cust_convs"].setdefault(conv.customer_id, [])
                if conv.id not in keys:
                    keys.append(conv.id)

    @contextmanager
    def lock(self, key: str, timeout_s: float = 10.0) -> Iterator[None]:
        if self.path is not None:
            with self._file_lock(key, timeout_s):
                yield
            return
        lock_key = f"lock:{key}"
        token = uuid.uuid4().hex
        deadline = time.monotonic() + timeout_s
        while True:
            with self._txn(write=True) as st:
                if self._live(st["kv"].get(lock_key)) is None:
                    # A lease, like Redis PX: a crashed holder cannot block the key forever.
                    st["kv"][lock_key] = {"v": token, "exp": time.time() + self.lock_lease_s}
                    break
            if time.monotonic() >= deadline:
                raise LockTimeout(f"conversation {key!r} stayed locked for {timeout_s:.0f}s")
            time.sleep(0.005)
        try:
            yield
        finally:
            with self._txn(write=True) as st:
                entry = st["kv"].get(lock_key)
                if entry is not None and entry.get("v") == token:
                    del st["kv"][lock_key]

    @contextmanager
    def _file_lock(self, key: str, timeout_s: float) -> Iterator[None]:
        """A per-conversation flock: no state-file rewrite, released by the OS if we die."""
        assert self.path is not None
        lock_dir = self.path.with_name(self.path.name + ".locks")
        lock_dir.mkdir(exist_ok=True)
        name = hashlib.sha1(key.encode("utf-8")).hexdigest()
        deadline = time.monotonic() + timeout_s
        with open(lock_dir / name, "a+") as fh:  # each open() is its own lock, threads included
            while True:
                try:
                    fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
                    break
                except BlockingIOError:
                    if time.monotonic() >= deadline:
                        raise LockTimeout(
                            f"conversation {key!r} stayed locked for {timeout_s:.0f}s") from None
                    time.sleep(0.005)
            try:
                yield
            finally:
                fcntl.flock(fh, fcntl.LOCK_UN)

    def seen(self, dedupe_key: str, ttl_s: int) -> bool:
        with self._txn(write=True) as st:
            if self._live(st["kv"].get(f"seen:{dedupe_key}")) is not None:
                return True
            st["kv"][f"seen:{dedupe_key}"] = {"v": 1, "exp": time.time() + ttl_s}
            return False

    # --- customers -----------------------------------------------------------------
    def link_customer(self, platform: str, platform_user_id: str, customer_id: str) -> None:
        with self._txn(write=True) as st:
            st["customers"][f"{platform}\x1f{platform_user_id}"] = customer_id

    def customer_for(self, platform: str, platform_user_id: str) -> str | None:
        with self._txn() as st:
            return st["customers"].get(f"{platform}\x1f{platform_user_id}")

    def customer_conversations(self, customer_id: str) -> list[str]:
        with self._txn() as st:
            keys = list(st["cust_convs"].get(customer_id, []))
            return [k for k in keys if self._live(st["convs"].get(k)) is not None]

    # --- cases -----------------------------------------------------------------------
    def next_case_id(self) -> str:
        with self._txn(write=True) as st:
            while True:
                candidate = random_case_id()
                if candidate not in st["case_ids"]:
                    st["case_ids"][candidate] = 1
                    return candidate

    def index_case(self, case_id: str, key: str) -> None:
        with self._txn(write=True) as st:
            now = time.time()
            entry = st["cases"].setdefault(case_id, {"key": key, "at": now})
            entry["key"] = key
            st["open"].setdefault(case_id, entry["at"])

    def find_case(self, case_id: str) -> str | None:
        with self._txn() as st:
            entry = st["cases"].get(case_id)
            return entry["key"] if entry else None

    def open_cases(self) -> list[str]:
        with self._txn() as st:
            return sorted(st["open"], key=lambda c: st["open"][c])

    def all_cases(self) -> list[str]:
        with self._txn() as st:
            return sorted(st["cases"], key=lambda c: st["cases"][c]["at"])

    def close_case(self, case_id: str) -> None:
        with self._txn(write=True) as st:
            st["open"].pop(case_id, None)

    def save_packet(self, packet: ContextPacket) -> None:
        with self._txn(write=True) as st:
            st["packets"][packet.case_id] = packet.model_dump(mode="json")

    def packet(self, case_id: str) -> ContextPacket | None:
        with self._txn() as st:
            data = st["packets"].get(case_id)
        return ContextPacket.model_validate(data) if data is not None else None

    def append_case_event(self, case_id: str, event: dict[str, Any]) -> None:
        with self._txn(write=True) as st:
            st["events"].setdefault(case_id, []).append(json.loads(json.dumps(event, default=str)))

    def case_events(self, case_id: str) -> list[dict[str, Any]]:
        with self._txn() as st:
            return [dict(e) for e in st["events"].get(case_id, [])]

    # --- outbound ---------------------------------------------------------------------
    def append_outbox(self, conversation_id: str, record: dict[str, Any]) -> None:
        with self._txn(write=True) as st:
            st["outbox"].setdefault(conversation_id, []).append(
                json.loads(json.dumps(record, default=str)))

    def outbox(self, conversation_id: str) -> list[dict[str, Any]]:
        with self._txn() as st:
            return [dict(r) for r in st["outbox"].get(conversation_id, [])]
