"""Building protobuf values in tests."""

from __future__ import annotations

from google.protobuf import duration_pb2, struct_pb2

from hooksmith.v1 import webhooks_pb2 as pb


def struct(**values: object) -> struct_pb2.Struct:
    s = struct_pb2.Struct()
    s.update(values)
    return s


def seconds(value: float) -> duration_pb2.Duration:
    d = duration_pb2.Duration()
    d.FromNanoseconds(int(value * 1e9))
    return d


def recipients(n: int, prefix: str = "user") -> list[pb.Recipient]:
    return [pb.Recipient(user_id=f"{prefix}-{i}") for i in range(n)]
