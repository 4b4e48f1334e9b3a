"""The send ledger against a real Redis that dies and comes back: an accepted send stays
recorded, an unconfirmed one is known as such, a failed one may simply be sent again."""
from __future__ import annotations

import time

from connectors.senders import RedisLedger
from tests.reliability.conftest import poll


def test_send_accepted_while_redis_is_down_is_recorded_when_it_returns(dedicated_redis):
    ledger = RedisLedger(dedicated_redis.client(), "ledger:", retry_s=0.05)
    assert ledger.begin("reply:meta:m1:0", lease_s=0.2) == "go"
    dedicated_redis.kill()
    ledger.done("reply:meta:m1:0")  # the platform took it; Redis cannot hear about it
    assert ledger.unrecorded() == 1
    time.sleep(0.3)  # the lease in Redis is long expired by the time it is back
    assert ledger.begin("reply:meta:m1:0", lease_s=0.2) == "done", "this process knows it was sent"
    dedicated_redis.start()
    poll(lambda: ledger.unrecorded() == 0, timeout_s=30, what="the ledger to write 'done'")
    other_worker = RedisLedger(dedicated_redis.client(), "ledger:")
    assert other_worker.begin("reply:meta:m1:0", lease_s=1) == "done"


def test_expired_lease_is_reported_as_unconfirmed_and_abort_clears_it(dedicated_redis):
    first, second = RedisLedger(dedicated_redis.client(), "ledger:"), RedisLedger(dedicated_redis.client(), "ledger:")
    assert first.begin("k", lease_s=0.2) == "go"
    assert second.begin("k", lease_s=0.2) == "busy"
    time.sleep(0.3)  # the first worker died mid-send
    assert second.begin("k", lease_s=5) == "again"
    second.abort("k")  # that attempt failed for sure: a plain retry
    assert first.begin("k", lease_s=5) == "go"
    first.done("k")
    assert second.begin("k", lease_s=5) == "done"
