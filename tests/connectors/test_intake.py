"""RedisIntake against a real Redis: a failed submit loses nothing (dedupe and rate limit: test_webhooks)."""
from __future__ import annotations

import asyncio
import json

import pytest
import redis

from agent.messages import InboundMessage
from connectors.intake import RedisIntake, Submitted
from guardrails.codes import Channel


def _msg(n: int, customer: str = "c1") -> InboundMessage:
    return InboundMessage(platform="meta", channel=Channel.MESSENGER, conversation_key=f"meta:{customer}",
                          customer_id=customer, message_id=f"m.{n}", text=f"question {n}")


def test_failed_submit_lets_the_platform_retry_and_keeps_earlier_deliveries(redis_url, redis_prefix):
    client = redis.Redis.from_url(redis_url, decode_responses=True)
    intake = RedisIntake(client, prefix=redis_prefix, rate_limit_per_minute=0)
    assert intake.submit(_msg(1)) == Submitted.ENQUEUED
    stream = client.xrange(redis_prefix + "intake")
    client.delete(redis_prefix + "intake")
    client.set(redis_prefix + "intake", "not a stream")  # the queue cannot take entries now
    with pytest.raises(redis.ResponseError):
        intake.submit(_msg(2))
    assert intake.submit(_msg(1)) == Submitted.DUPLICATE  # the earlier delivery is still known
    client.delete(redis_prefix + "intake")
    assert intake.submit(_msg(2)) == Submitted.ENQUEUED  # the redelivery of the failed one gets in
    texts = [f["msg"] for _id, f in client.xrange(redis_prefix + "intake")]
    assert len(stream) == 1 and len(texts) == 1 and '"question 2"' in texts[0]



# --- the API's batched intake: concurrent webhooks share pipelined round trips ------------------

def test_concurrent_submits_each_land_once_with_their_own_outcome(redis_url, redis_prefix):
    from connectors.intake_batch import BatchedRedisIntake

    client = redis.Redis.from_url(redis_url, decode_responses=True)
    batched = BatchedRedisIntake(RedisIntake(client, prefix=redis_prefix, rate_limit_per_minute=3), redis_url,
                                 max_batch=16)
    # 120 deliveries at once: 100 distinct messages (from 25 customers, 4 each) plus 20 redeliveries.
    msgs = [_msg(n, customer=f"c{n % 25}") for n in range(100)] + [_msg(n, customer=f"c{n % 25}") for n in range(20)]

    async def deliver():
        return await asyncio.gather(*(batched.submit(m) for m in msgs))

    outcomes = asyncio.run(deliver())
    entries = client.xrange(redis_prefix + "intake")
    ids = [json.loads(f["msg"])["message_id"] for _id, f in entries]
    assert sorted(ids) == sorted(f"m.{n}" for n in range(100))  # every distinct message once
    assert outcomes[100:] == [Submitted.DUPLICATE] * 20
    assert outcomes[:100].count(Submitted.ENQUEUED) == 75  # 3 per customer, the 4th is over the limit
    assert sum(f["kind"] == "rate_limited" for _id, f in entries) == 25  # told once each


def test_a_failed_batch_is_an_error_for_each_webhook_and_their_retries_get_in(redis_url, redis_prefix):
    from connectors.intake_batch import BatchedRedisIntake

    client = redis.Redis.from_url(redis_url, decode_responses=True)
    batched = BatchedRedisIntake(RedisIntake(client, prefix=redis_prefix, rate_limit_per_minute=0), redis_url)

    async def deliver(ns):
        return await asyncio.gather(*(batched.submit(_msg(n)) for n in ns), return_exceptions=True)

    assert asyncio.run(deliver([1])) == [Submitted.ENQUEUED]
    client.delete(redis_prefix + "intake")
    client.set(redis_prefix + "intake", "not a stream")
    failed = asyncio.run(deliver(range(2, 12)))
    assert all(isinstance(r, redis.ResponseError) for r in failed), failed
    client.delete(redis_prefix + "intake")
    assert asyncio.run(deliver([1])) == [Submitted.DUPLICATE]  # the earlier delivery is still known
    assert asyncio.run(deliver(range(2, 12))) == [Submitted.ENQUEUED] * 10  # the redeliveries get in


def test_webhooks_get_503_when_redis_is_down_and_get_in_once_it_is_back(tmp_path, redis_url, redis_prefix):
    """A dedicated redis-server, stopped under the API: the platform is told to retry, then nothing is lost."""
    from connectors.app import create_app
    from tests.connectors.conftest import META_SECRET, PAGE_ID, make_settings
    from tests.connectors.live import LiveServer
    from tests.emulators.webhooks import messenger_event, post_meta
    from tests.reliability.conftest import DedicatedRedis

    (tmp_path / "redis").mkdir()
    server = DedicatedRedis(tmp_path / "redis")
    server.start()
    try:
        app = create_app(make_settings(tmp_path, redis_url=server.url), redis_prefix=redis_prefix, run_worker=False)
        events = [messenger_event(PAGE_ID, f"PSID{n}", f"m.{n}", f"question {n}") for n in range(5)]
        with LiveServer(app) as live:
            assert [post_meta(live.url, e, META_SECRET).status_code for e in events[:2]] == [200, 200]
            server.kill()
            down = [post_meta(live.url, e, META_SECRET) for e in events[2:]]
            assert [r.status_code for r in down] == [503] * 3 and "retry" in down[0].text
            server.start()
            # The platform retries the refused ones and, for good measure, redelivers the rest.
            assert [post_meta(live.url, e, META_SECRET).status_code for e in events] == [200] * 5
        ids = [json.loads(f["msg"])["message_id"] for _id, f in server.client().xrange(redis_prefix + "intake")]
    finally:
        server.kill()
    assert sorted(ids) == [f"m.{n}" for n in range(5)]
