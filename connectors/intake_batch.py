"""Intake for the API's event loop: webhooks that arrive together share one Redis round trip.

`concierge serve` takes many webhooks at once. Each one's submit script (see
connectors.intake.RedisIntake) is queued here, and whatever has queued while the previous
round trip was on the wire goes out as one pipeline, so under load a round trip carries
dozens of submits and the event loop never blocks on a socket. A lone webhook waits for
nothing: its batch is itself.
"""
from __future__ import annotations

import asyncio
import contextlib
from typing import Any

from agent.messages import InboundMessage
from connectors.intake import FORGET_LUA, SUBMIT_LUA, RedisIntake, ScriptCall, Submitted, outcome_of

MAX_BATCH = 256  # submits per round trip; bounds one pipeline's size


class BatchedRedisIntake:
    """The async face of a RedisIntake (same keys, script and outcomes), pipelined across requests."""

    def __init__(self, intake: RedisIntake, redis_url: str, *, max_batch: int = MAX_BATCH,
                 timeout_s: float = 5.0) -> None:
        self.intake = intake
        self.redis_url = redis_url
        self.max_batch = max_batch
        self.timeout_s = timeout_s
        self._loop: asyncio.AbstractEventLoop | None = None
        self._client: Any = None
        self._pending: list[tuple[ScriptCall, asyncio.Future[Submitted]]] = []
        self._flusher: asyncio.Task[None] | None = None

    def _bind(self) -> None:
        """An asyncio client belongs to one event loop: make one for the loop we run on."""
        loop = asyncio.get_running_loop()
        if loop is self._loop:
            return
        import redis.asyncio as aioredis

        self._loop = loop
        self._client = aioredis.Redis.from_url(self.redis_url, decode_responses=True, socket_connect_timeout=5,
                                               socket_timeout=self.timeout_s)
        self._submit = self._client.register_script(SUBMIT_LUA)
        self._forget = self._client.register_script(FORGET_LUA)
        self._pending = []
        self._flusher = None

    async def submit(self, msg: InboundMessage) -> Submitted:
        self._bind()
        future: asyncio.Future[Submitted] = self._loop.create_future()  # type: ignore[union-attr]
        self._pending.append((self.intake.prepare(msg), future))
        if self._flusher is None:
            self._flusher = self._loop.create_task(self._flush())  # type: ignore[union-attr]
        return await future

    async def _flush(self) -> None:
        try:
            while self._pending:
                batch, self._pending = self._pending[: self.max_batch], self._pending[self.max_batch :]
                try:
                    replies = await self._run([call for call, _ in batch])
                except BaseException as exc:  # cancelled (shutdown): no request may wait forever
                    for _, future in batch:
                        if not future.done():
                            future.set_exception(RuntimeError(f"intake stopped: {type(exc).__name__}"))
                    raise
                for (_, future), reply in zip(batch, replies):
                    if future.done():  # the request went away; its submit still counts
                        continue
                    if isinstance(reply, BaseException):
                        future.set_exception(reply)
                        continue
                    try:
                        future.set_result(outcome_of(reply))
                    except KeyError:
                        future.set_exception(RuntimeError(f"unexpected reply from the submit script: {reply!r}"))
        finally:
            self._flusher = None

    async def _run(self, calls: list[ScriptCall]) -> list[Any]:
        """One pipeline of submit scripts; a failed slot's dedupe key is forgotten, as in RedisIntake."""
        try:
            async with self._client.pipeline(transaction=False) as pipe:
                for call in calls:
                    await self._submit(keys=call.keys, args=call.args, client=pipe)
                replies = await pipe.execute(raise_on_error=False)
        except Exception as exc:  # noqa: BLE001 - connection lost: every slot failed, maybe half-done
            replies = [exc] * len(calls)
        failed = [call for call, reply in zip(calls, replies) if isinstance(reply, BaseException)]
        if failed:
            # Not queued (or not known to be): drop what this attempt set so the platform's retry
            # gets through. Redis down: this fails too, and the submit's own error says more.
            with contextlib.suppress(Exception):
                async with self._client.pipeline(transaction=False) as pipe:
                    for call in failed:
                        await self._forget(keys=[call.dedupe_key], args=[call.token], client=pipe)
                    await pipe.execute(raise_on_error=False)
        return replies


__all__ = ["BatchedRedisIntake", "MAX_BATCH", "Submitted"]
