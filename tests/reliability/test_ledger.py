"""The send ledger against a real Redis that dies and comes back: an accepted send stays
recorded, an unconfirmed one is known as such, a failed one may simply be sent again."""
from __future__ import annotations

import time

import redis

from connectors.senders import RedisLedger
from tests.reliability.conftest import poll


def test_send_accepted_while_redis_is_down_is_recorded_when_it_returns(dedicated_redis):
    ledger = RedisLedger(dedicated_redis.client(), "ledger:", retry_s=0.05)
    assert ledger.begin("reply:meta:m1:0", lease_s=0.2, owner="w1") == "go"
    dedicated_redis.kill()
    ledger.done("reply:meta:m1:0", owner="w1")  # the platform took it; Redis cannot hear about it
    assert ledger.unrecorded() == 1
    time.sleep(0.3)  # the lease in Redis is long expired by the time it is back
    assert ledger.begin("reply:meta:m1:0", lease_s=0.2, owner="w1b") == "done", "this process knows it was sent"
    dedicated_redis.start()
    poll(lambda: ledger.unrecorded() == 0, timeout_s=30, what="the ledger to write 'done'")
    other_worker = RedisLedger(dedicated_redis.client(), "ledger:")
    assert other_worker.begin("reply:meta:m1:0", lease_s=1, owner="w2") == "done"


def test_expired_lease_is_reported_as_unconfirmed_and_abort_clears_it(dedicated_redis):
    first, second = RedisLedger(dedicated_redis.client(), "ledger:"), RedisLedger(dedicated_redis.client(), "ledger:")
    assert first.begin("k", lease_s=0.2, owner="a1") == "go"
    assert second.begin("k", lease_s=0.2, owner="b1") == "busy"
    time.sleep(0.3)  # the first worker died mid-send
    assert second.begin("k", lease_s=5, owner="b2") == "again"
    assert second.abort("k", owner="b2")  # that attempt failed for sure: a plain retry
    assert first.begin("k", lease_s=5, owner="a2") == "go"
    assert first.done("k", owner="a2")
    assert second.begin("k", lease_s=5, owner="b3") == "done"


def _three_workers(redis_url: str, prefix: str) -> list[RedisLedger]:
    return [RedisLedger(redis.Redis.from_url(redis_url, decode_responses=True), prefix) for _ in range(3)]


def test_a_stale_worker_cannot_abort_the_lease_of_the_worker_that_took_over(redis_url, redis_prefix):
    stale, current, third = _three_workers(redis_url, redis_prefix)
    assert stale.begin("k", lease_s=0.2, owner="stale") == "go"
    time.sleep(0.3)  # the stale worker is stuck past its lease
    assert current.begin("k", lease_s=30, owner="current") == "again"
    assert not stale.abort("k", owner="stale"), "its send failed late: the lease is not its own any more"
    assert third.begin("k", lease_s=30, owner="third") == "busy", "the current worker is still sending"
    assert current.abort("k", owner="current")
    assert third.begin("k", lease_s=30, owner="third") == "go"


def test_a_send_confirmed_after_its_lease_expired_is_still_recorded(redis_url, redis_prefix):
    stale, current, third = _three_workers(redis_url, redis_prefix)
    assert stale.begin("k", lease_s=0.2, owner="stale") == "go"
    time.sleep(0.3)
    assert current.begin("k", lease_s=30, owner="current") == "again"
    # The platform did accept the stale worker's send: that fact wins, and the caller learns
    # it had lost its lease (so the possible duplicate is logged).
    assert stale.done("k", owner="stale") is False
    assert not current.abort("k", owner="current"), "a failed resend does not undo a send that happened"
    assert third.begin("k", lease_s=30, owner="third") == "done"


def test_an_old_workers_lease_without_owner_is_respected(redis_url, redis_prefix):
    client = redis.Redis.from_url(redis_url, decode_responses=True)
    until_ms = int(client.time()[0]) * 1000 + 30_000
    client.set(f"{redis_prefix}sent:k", f"lease:{until_ms}")  # written by a worker before owner tokens
    ledger = RedisLedger(client, redis_prefix)
    assert ledger.begin("k", lease_s=30, owner="new") == "busy"
    assert not ledger.abort("k", owner="new")
    assert ledger.begin("k", lease_s=30, owner="new") == "busy"
