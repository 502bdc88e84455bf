"""Every shard of the sample build and of a build from real media is byte-identical to the
digests recorded in ``tests/data/golden/shard_digests.json`` (see :mod:`tests.golden`).

Reorganising the code must not change what users get. When the output changes on purpose,
re-record the digests (``python -m tests.golden --record``) and say why in the commit.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests import golden

RERECORD = "if the output changed on purpose, re-record: python -m tests.golden --record"


def _compare(build: str, got: dict[str, str]) -> None:
    want = golden.recorded()[build]
    missing = sorted(set(want) - set(got))
    extra = sorted(set(got) - set(want))
    changed = sorted(k for k in set(want) & set(got) if want[k] != got[k])
    assert not (missing or extra or changed), (
        f"{build}: shards changed: {changed}, missing: {missing}, new: {extra}; {RERECORD}"
    )


@pytest.mark.slow
def test_sample_build_shards_match_the_recorded_digests(sample_build: Path) -> None:
    _compare("sample", golden.digests(sample_build))


@pytest.mark.slow
def test_real_media_build_shards_match_the_recorded_digests(tmp_path: Path) -> None:
    _compare("real-media", golden.digests(golden.build_real_media(golden.MEDIA, tmp_path)))
