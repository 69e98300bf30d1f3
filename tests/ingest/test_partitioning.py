"""The benchmark-group partitioner: a dependent instrument's records share its benchmark's
partition; every other instrument lands where Kafka's default partitioner puts it."""

from __future__ import annotations

from aiokafka.partitioner import DefaultPartitioner

from services.engine.registry import load_registry
from services.ingest.partitioning import BenchmarkGroupPartitioner

REGISTRY = load_registry()
DEPENDENTS = ("005380.KS", "005490.KS")


def default_partition(instrument: str, partitions: int) -> int:
    every = list(range(partitions))
    partition: int = DefaultPartitioner()(instrument.encode(), every, every)
    return partition


def test_dependents_share_their_benchmarks_partition() -> None:
    partitioner = BenchmarkGroupPartitioner(REGISTRY)
    for partitions in (1, 2, 3, 6, 12, 48):
        kospi = partitioner.partition_of("KOSPI", partitions)
        assert [partitioner.partition_of(d, partitions) for d in DEPENDENTS] == [kospi] * 2


def test_the_default_partitioner_splits_the_group_so_the_grouping_matters() -> None:
    # with 3 partitions (the scale-out tests) Hyundai Motor lands away from KOSPI by default
    assert default_partition("005380.KS", 3) != default_partition("KOSPI", 3)
    assert any(default_partition(d, 6) != default_partition("KOSPI", 6) for d in DEPENDENTS)


def test_instruments_without_a_benchmark_keep_the_default_partition() -> None:
    partitioner = BenchmarkGroupPartitioner(REGISTRY)
    for symbol in ("KOSPI", "KOSDAQ", "USDKRW", "NOT-IN-THE-REGISTRY"):
        for partitions in (3, 6, 12):
            assert partitioner.partition_of(symbol, partitions) == default_partition(
                symbol, partitions
            )


def test_a_record_without_a_key_goes_to_an_available_partition() -> None:
    partitioner = BenchmarkGroupPartitioner(REGISTRY)
    assert partitioner(None, [0, 1, 2], [2]) == 2
