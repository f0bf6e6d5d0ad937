"""The document worker: renders in a process of its own (never on the event loop), at a lower
priority, with a bounded queue, stopped by close()."""

from __future__ import annotations

import asyncio
import os
import time
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from hub.domain.minutes import HearingFacts, PetitionFacts, draft
from hub.domain.minutes_layout import Layout, layout
from hub.services.documents import (
    WORKER_NICENESS,
    DocumentWorkers,
    DocumentWorkersBusy,
    render_minutes_docx,
    render_minutes_pdf,
)
from hub.services.minutes_pdf import FontMissing, render_pdf

VN = ZoneInfo("Asia/Ho_Chi_Minh")


def _layout() -> Layout:
    day = datetime(2026, 12, 2, 8, tzinfo=VN)
    facts = HearingFacts(
        title="Tiếp công dân định kỳ",
        host_name="Trụ sở Tiếp công dân Trung ương (Hà Nội)",
        host_code="TW",
        parent_name="",
        location="",
        chair_name="Lãnh đạo Ban Tiếp công dân Trung ương",
        starts_at=day,
        ends_at=day.replace(hour=10),
        started_at=day,
        ended_at=day.replace(hour=10),
        invited_sites=(),
    )
    heard = PetitionFacts(
        1, "TW-2026-000001", "Phạm Thị Huệ", "feedback", "", "Phản ánh.", "filed", "", day, day
    )
    return layout(draft(facts, [], [heard], "Cán bộ"), VN)


async def test_documents_render_in_a_worker_process_at_a_lower_priority() -> None:
    workers = DocumentWorkers()
    try:
        pid = await workers.run(os.getpid)
        assert pid != os.getpid()
        niceness = await workers.run(os.nice, 0)
        assert niceness == min(19, os.nice(0) + WORKER_NICENESS)
        doc = _layout()
        pdf, docx = await asyncio.gather(
            workers.run(render_minutes_pdf, doc), workers.run(render_minutes_docx, doc)
        )
        assert pdf.startswith(b"%PDF-") and docx.startswith(b"PK")  # a zip: the OOXML package
        # The loop stayed free while the worker rendered: a 10 ms timer keeps its time.
        late: list[float] = []

        async def tick() -> None:
            for _ in range(20):
                start = time.monotonic()
                await asyncio.sleep(0.01)
                late.append(time.monotonic() - start - 0.01)

        await asyncio.gather(tick(), *(workers.run(render_minutes_pdf, doc) for _ in range(3)))
        assert max(late) < 0.2, late
    finally:
        await asyncio.to_thread(workers.close)
    assert await asyncio.to_thread(_gone, pid)


def _gone(pid: int) -> bool:
    for _ in range(50):
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return True
        time.sleep(0.1)
    return False


async def test_a_full_queue_is_answered_at_once() -> None:
    workers = DocumentWorkers(max_waiting=1)
    try:
        slow = asyncio.ensure_future(workers.run(time.sleep, 1.0))
        await asyncio.sleep(0)
        with pytest.raises(DocumentWorkersBusy):
            await workers.run(os.getpid)
        await slow
        assert await workers.run(os.getpid) > 0  # free again
    finally:
        await asyncio.to_thread(workers.close)


def test_without_the_font_the_pdf_is_refused_saying_which_package(tmp_path: Path) -> None:
    with pytest.raises(FontMissing) as caught:
        render_pdf(_layout(), font_dir=tmp_path)
    assert caught.value.status == 503 and "fonts-liberation2" in caught.value.message
