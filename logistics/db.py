"""Database engine and sessions; SQLite by default, PostgreSQL through DATABASE_URL."""
from __future__ import annotations

import warnings
from contextlib import contextmanager
from typing import Callable, Iterator

from sqlalchemy import create_engine, event
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, declarative_base, sessionmaker

Base = declarative_base()
# The largest id an INTEGER column holds (PostgreSQL's is 32-bit): larger ids in paths, queries and bodies are
# answered with a 4xx before they reach the database, where they would overflow.
MAX_ID = 2**31 - 1
POOL_SIZE = 12


def make_engine(url: str, schema: str | None = None) -> Engine:
    """Create an engine; `schema` pins PostgreSQL's search_path so test runs never collide."""
    if url.startswith("sqlite"):
        # Money is Numeric(12, 2); SQLite's float round trip is exact at that scale.
        warnings.filterwarnings("ignore", message="Dialect sqlite.*Decimal")
        _ensure_sqlite_dir(url)
        engine = create_engine(url, future=True, connect_args={"check_same_thread": False, "timeout": 15})
        event.listen(engine, "connect", _sqlite_pragmas)
        return engine
    connect_args = {"options": f"-csearch_path={schema}"} if schema else {}
    # At least as many kept connections as the server has threads (BACKEND_THREADS, default 8): with SQLAlchemy's
    # default of 5 the 6th to 8th concurrent requests each opened a new PostgreSQL connection (a new server
    # process) and closed it again, every time (issue #15, profiled under load).
    return create_engine(url, future=True, pool_pre_ping=True, connect_args=connect_args, pool_size=POOL_SIZE,
                         max_overflow=10)


def _sqlite_pragmas(dbapi_connection, _record) -> None:
    # WAL lets the API serve reads while the seeder or a ticket write holds the lock.
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()


def _ensure_sqlite_dir(url: str) -> None:
    from pathlib import Path

    path = url.split(":///", 1)[-1]
    if path and path != ":memory:":
        Path(path).parent.mkdir(parents=True, exist_ok=True)


def session_factory(engine: Engine) -> sessionmaker:
    return sessionmaker(bind=engine, future=True, expire_on_commit=False)


@contextmanager
def transaction(factory: sessionmaker) -> Iterator[Session]:
    """A session that commits on success and rolls back on any error."""
    session: Session = factory()
    try:
        yield session
        session.commit()
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()


def add_once(session: Session, row, find_existing: Callable[[], object | None]):
    """Insert a row keyed by a unique idempotency key; when a concurrent retry won the race for the key, return
    (the winner, False) instead. A savepoint keeps the outer transaction usable after the conflict."""
    try:
        with session.begin_nested():
            session.add(row)
            session.flush()
    except IntegrityError:
        existing = find_existing()
        if existing is None:
            raise
        return existing, False
    return row, True
