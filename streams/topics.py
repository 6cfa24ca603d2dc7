"""Pre-create the design's topics with explicit partition counts (Faust's auto-declare and
some brokers' auto-create give one partition)."""
from __future__ import annotations

import asyncio

from tsur.config import Settings


async def _ensure(settings: Settings, timeout: float) -> list[str]:
    from aiokafka.admin import AIOKafkaAdminClient, NewTopic
    from aiokafka.errors import TopicAlreadyExistsError

    admin = AIOKafkaAdminClient(bootstrap_servers=settings.bootstrap_servers, request_timeout_ms=int(timeout * 1000))
    await asyncio.wait_for(admin.start(), timeout)
    created = []
    try:
        existing = set(await admin.list_topics())
        wanted = [NewTopic(name, settings.topic_partitions, 1) for name in settings.topics.values() if name not in existing]
        if wanted:
            try:
                await admin.create_topics(wanted)
            except TopicAlreadyExistsError:
                pass
            created = [t.name for t in wanted]
    finally:
        await admin.close()
    return created


def ensure_topics(settings: Settings, timeout: float = 15.0) -> list[str]:
    """Create missing topics; return the names created now."""
    return asyncio.run(_ensure(settings, timeout))
