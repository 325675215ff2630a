"""counter_pg_batch.Texts, the batch write's explanations and its years' person ids, goes
as PostgreSQL's binary text[] made by its own dumper: the server reads back each text as
it was sent (quotes, braces, commas, backslashes, Chinese, empty; as str or as UTF-8
bytes), and an empty Texts as an empty array. On PostgreSQL."""

from __future__ import annotations

import psycopg
import pytest
from sqlalchemy.engine import Engine

from yibao.adapters.db.counter_pg_batch import Texts


@pytest.mark.parametrize(
    "texts",
    [
        ["a", '中文 "引号" {,}', "", "b\\c", "NULL", '[{"k": "v"}]'],
        ["P1"],
        [],
    ],
)
def test_texts_arrive_as_they_were_sent(engine: Engine, texts: list[str]) -> None:
    if engine.dialect.name != "postgresql":
        pytest.skip("a psycopg dumper: PostgreSQL's")
    with engine.connect() as conn:
        pg = conn.connection.driver_connection
        assert isinstance(pg, psycopg.Connection)
        with psycopg.RawCursor(pg) as cursor:
            cursor.execute(
                "SELECT $1::text[], pg_typeof($1)::text, cardinality($1::varchar[])",
                [Texts(texts)],
                prepare=True,
            )
            assert cursor.fetchone() == (texts, "text[]", len(texts))


def test_texts_given_as_utf8_bytes_arrive_as_their_text(engine: Engine) -> None:
    """The explanations go as the UTF-8 bytes orjson made (SettlementRecord.values):
    beside texts given as str, each arrives as the text its bytes spell."""
    if engine.dialect.name != "postgresql":
        pytest.skip("a psycopg dumper: PostgreSQL's")
    texts = ['[["personal", "12.50", "", "30.00", {"fund": "17.50"}]]', "中文 {,}", "P1"]
    sent = Texts([texts[0].encode(), texts[1].encode(), texts[2]])
    with engine.connect() as conn:
        pg = conn.connection.driver_connection
        assert isinstance(pg, psycopg.Connection)
        with psycopg.RawCursor(pg) as cursor:
            cursor.execute("SELECT $1::text[]", [sent], prepare=True)
            assert cursor.fetchone() == (texts,)
