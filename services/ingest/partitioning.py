"""Where a price record lands in `market.prices`: beside its benchmark.

Engine replicas split `market.prices` by partition, and an instrument with a benchmark needs the
benchmark's prices for its abnormal return. So a record is placed by its *benchmark group*, the
benchmark's symbol for a dependent instrument and its own symbol otherwise, hashed with Kafka's
default partitioner (murmur2, as every Kafka client does for a key). The record key stays the
instrument. A benchmark and all its dependents then share a partition, hence a replica.

Instruments without a benchmark land exactly where the default partitioner puts them, so a
producer that does not know the registry is only wrong for dependents; every producer of
`market.prices` must use `BenchmarkGroupPartitioner` (or the same rule) with the same registry."""

from __future__ import annotations

from aiokafka.partitioner import DefaultPartitioner

from services.engine.registry import InstrumentRegistry


class BenchmarkGroupPartitioner:
    """An aiokafka producer partitioner (`AIOKafkaProducer(partitioner=...)`) that keeps each
    benchmark group of the registry on one partition."""

    def __init__(self, registry: InstrumentRegistry) -> None:
        self._group = {
            inst.symbol.encode(): inst.benchmark.encode()
            for inst in registry
            if inst.benchmark is not None
        }
        self._default = DefaultPartitioner()

    def group_key(self, key: bytes) -> bytes:
        """The key the partition is hashed from: the benchmark's for a dependent."""
        return self._group.get(key, key)

    def __call__(self, key: bytes | None, all_partitions: list[int], available: list[int]) -> int:
        group = None if key is None else self.group_key(key)
        partition: int = self._default(group, all_partitions, available)
        return partition

    def partition_of(self, instrument: str, partitions: int) -> int:
        """The partition of `instrument`'s records in a topic of `partitions` partitions."""
        every = list(range(partitions))
        return self(instrument.encode(), every, every)
