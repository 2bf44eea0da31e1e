"""Time ranges without a ``ts`` index (schema 0004): append times follow the index, so a range
of times is a range of indexes; older ledgers with clock steps are migrated and still answer."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from alembic import command
from sqlalchemy import create_engine, inspect, text

from ledger import Ledger
from ledger.entry import to_micros
from ledger.schema import _alembic_config


def _times(led: Ledger) -> list[datetime]:
    return [e.time for e in led.iter_entries()]


def test_ranges_are_index_ranges_with_exact_edges(any_url: str) -> None:
    Ledger.create(any_url, origin="t.example/log").close()
    with Ledger.open(any_url, checkpoint_every=None) as led:
        for i in range(9):
            led.append("generate" if i % 3 else "edit", {"i": i})
        times = _times(led)
        assert times == sorted(times)
        for a in range(10):
            for b in range(a, 10):
                since = times[a] if a < 9 else times[-1] + timedelta(microseconds=1)
                until = times[b] if b < 9 else None
                got = [e.body["i"] for e in led.iter_entries(since=since, until=until)]
                want = [
                    i for i, t in enumerate(times) if t >= since and (until is None or t < until)
                ]
                assert got == want, (a, b)
        edits = [e.body["i"] for e in led.iter_entries(since=times[2], kinds=["edit"])]
        assert edits == [3, 6]
        assert list(led.iter_entries(until=times[0])) == []


def test_a_clock_behind_the_last_entry_never_puts_times_out_of_order(any_url: str) -> None:
    Ledger.create(any_url, origin="t.example/log").close()
    with Ledger.open(any_url, checkpoint_every=None) as led:
        led.append("generate", {"i": 0})
        ahead = datetime.now(UTC) + timedelta(days=1)  # as if the last append's clock ran ahead
        with led.engine.begin() as c:
            c.execute(text("UPDATE ledger_head SET last_ts = :t"), {"t": to_micros(ahead)})
        e = led.append("generate", {"i": 1})
        assert e.time == ahead
        assert led.at(1).leaf == e.leaf
        assert [x.index for x in led.iter_entries(since=ahead)] == [1]
        assert led.audit().ok


def test_an_older_ledger_with_a_clock_step_is_migrated_and_still_filtered(sqlite_url: str) -> None:
    Ledger.create(sqlite_url, origin="t.example/log").close()
    with Ledger.open(sqlite_url, checkpoint_every=None) as led:
        for i in range(6):
            led.append("generate", {"i": i})
    eng = create_engine(sqlite_url)
    with eng.begin() as c:
        command.downgrade(_alembic_config(c), "0003")
        # Times as an older version could have written them: the clock stepped back at entry 3.
        for idx, ts in enumerate([100, 200, 300, 150, 250, 400]):
            c.execute(text("UPDATE ledger_entry SET ts = :t WHERE idx = :i"), {"t": ts, "i": idx})
        assert "ix_ledger_entry_ts" in {i["name"] for i in inspect(c).get_indexes("ledger_entry")}
    with Ledger.open(sqlite_url, checkpoint_every=None) as led:
        with led.engine.connect() as c:
            assert (
                c.execute(
                    text("SELECT value FROM ledger_meta WHERE key = 'ts_ordered_from'")
                ).scalar()
                == "3"
            )
            assert c.execute(text("SELECT last_ts FROM ledger_head")).scalar() == 400
            assert inspect(c).get_indexes("ledger_entry") == []

        def at(us: int) -> datetime:
            return datetime(1970, 1, 1, tzinfo=UTC) + timedelta(microseconds=us)

        got = [e.index for e in led.iter_entries(since=at(150), until=at(300))]
        assert got == [1, 3, 4]
        assert [e.index for e in led.iter_entries(since=at(260))] == [2, 5]
        # New appends stamp the real clock, after 400 us past the epoch: in order, found by bisection.
        led.append("generate", {"i": 6})
        assert [e.index for e in led.iter_entries(since=at(401))] == [6]
    eng.dispose()
