"""RedisIntake against a real Redis: a failed submit loses nothing (dedupe and rate limit: test_webhooks)."""
from __future__ import annotations

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

