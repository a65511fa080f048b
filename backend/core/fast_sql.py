"""Statements on the reading path, compiled once and run on the unit of work's own connection.

A reading POST runs eight statements. SQLAlchemy's execution machinery (an execution context,
parameter processing, a result with its metadata, the ORM session's bookkeeping) cost each of
them several times the database's own 10 to 30 us, most of the worker thread's time per
reading. A `Prepared` statement works out once per dialect what SQLAlchemy works out on every
call (the SQL text in the driver's paramstyle, the parameters' order, each value's bind and
result processing) and runs it on the same DBAPI connection, in the same transaction.

It behaves as any other statement to the rest of Vigil: the engine's cursor events fire (the
statement count in tests/api/test_ingest_cost.py, the "this connection wrote" mark the disk-full
state needs), and a driver error comes back as SQLAlchemy's DBAPIError, which `overload_of` turns
into a 503 when the database is busy, full or gone.
"""

from collections.abc import Callable, Mapping, Sequence
from contextlib import suppress
from dataclasses import dataclass, replace
from typing import Any, TypeVar, cast

from sqlalchemy import inspect
from sqlalchemy.engine import Connection, Dialect
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session, make_transient_to_detached
from sqlalchemy.orm.attributes import instance_state, set_committed_value
from sqlalchemy.sql.expression import Executable

Processor = Callable[[Any], Any]


@dataclass(frozen=True)
class _Compiled:
    sql: str
    positional: bool
    # (name, its bind processor or None, its value when the statement holds it, else _GIVEN) in
    # the order the SQL takes them.
    binds: tuple[tuple[str, Processor | None, Any], ...]
    columns: tuple[Any, ...]  # what it returns, whose types process the values


class Prepared:
    """A Core statement, its parameters all named bindparams, compiled once per dialect."""

    def __init__(self, statement: Executable) -> None:
        self._statement = statement
        self._compiled: dict[str, _Compiled] = {}
        self._results: dict[str, tuple[Processor | None, ...]] = {}

    def rows(self, db: Session, params: Mapping[str, Any]) -> list[tuple[Any, ...]]:
        """Run once; the rows it returns, each value as SQLAlchemy would give it."""
        conn = db.connection()
        compiled = self._for(conn.dialect)
        rows, types = _run(conn, compiled, _arguments(compiled, params), many=False)
        processors = self._results.get(conn.dialect.name)
        if processors is None:
            # From the first run: a driver's processing depends on the type codes its cursor
            # describes (psycopg's for a float column), which the statement alone does not give.
            processors = self._results[conn.dialect.name] = tuple(
                column.type.dialect_impl(conn.dialect).result_processor(conn.dialect, code)
                for column, code in zip(compiled.columns, types, strict=True)
            )
        if not any(processors):
            return rows
        return [
            tuple(
                value if p is None else p(value) for p, value in zip(processors, row, strict=True)
            )
            for row in rows
        ]

    def returned(self, db: Session, params: Sequence[Mapping[str, Any]]) -> list[Any]:
        """Run for every set of parameters; the first value of every row the runs returned, in
        no set order: the keys an INSERT ... ON CONFLICT DO NOTHING RETURNING stored. One
        statement on SQLite (a multi-row VALUES, up to `ROWS_A_STATEMENT` rows), one round trip
        on PostgreSQL (psycopg's pipelined executemany). No result processing: for keys."""
        if not params:
            return []
        conn = db.connection()
        compiled = self._for(conn.dialect)
        arguments = [_arguments(compiled, p) for p in params]
        if not compiled.positional:
            return _run(conn, compiled, arguments, many=True, returning=True)[0]
        keys: list[Any] = []
        for start in range(0, len(arguments), ROWS_A_STATEMENT):
            chunk = arguments[start : start + ROWS_A_STATEMENT]
            rows, _ = _run(conn, _rows_of(compiled, len(chunk)), _flat(chunk), many=False)
            keys.extend(row[0] for row in rows)
        return keys

    def many(self, db: Session, params: Sequence[Mapping[str, Any]]) -> None:
        """Run once for each set of parameters (executemany); nothing returned."""
        if not params:
            return
        conn = db.connection()
        compiled = self._for(conn.dialect)
        _run(conn, compiled, [_arguments(compiled, p) for p in params], many=True)

    def _for(self, dialect: Dialect) -> _Compiled:
        compiled = self._compiled.get(dialect.name)
        if compiled is None:
            compiled = self._compiled[dialect.name] = _compile(self._statement, dialect)
        return compiled


def run_plain(conn: Connection, sql: str) -> None:
    """A statement without parameters or rows (a BEGIN), run as a Prepared one is."""
    _run(conn, _Compiled(sql, positional=True, binds=(), columns=()), (), many=False)


def _compile(statement: Executable, dialect: Dialect) -> _Compiled:
    compiled = statement.compile(dialect=dialect)  # type: ignore[attr-defined]
    # The names the SQL takes, in its order (`binds` holds internal names besides).
    names: Sequence[str] = compiled.positiontup or list(compiled.bind_names.values())

    def bind(name: str) -> tuple[str, Processor | None, Any]:
        parameter = compiled.binds[name]
        processor = parameter.type.dialect_impl(dialect).bind_processor(dialect)
        held = _GIVEN if parameter.required else parameter.effective_value  # `id == 1`'s 1
        if held is not _GIVEN and processor is not None:
            held = processor(held)
        return name, processor, held

    columns = getattr(statement, "exported_columns", None) or ()
    return _Compiled(
        sql=compiled.string,
        positional=compiled.positiontup is not None,
        binds=tuple(bind(name) for name in names),
        columns=tuple(columns),
    )


_GIVEN = object()  # a parameter the caller gives on each run


def _arguments(compiled: _Compiled, params: Mapping[str, Any]) -> Any:
    # Inline, not a function a value: a reading's statements take about 90 values.
    values = [
        held if held is not _GIVEN else params[name] if p is None else p(params[name])
        for name, p, held in compiled.binds
    ]
    if compiled.positional:
        return tuple(values)
    return dict(zip((bind[0] for bind in compiled.binds), values, strict=True))


def _run(
    conn: Connection, compiled: _Compiled, arguments: Any, *, many: bool, returning: bool = False
) -> tuple[list[Any], tuple[Any, ...]]:
    """The rows and the type codes the cursor describes them with."""
    dialect = conn.dialect
    dbapi_connection = conn.connection.driver_connection
    assert dbapi_connection is not None
    cursor = dbapi_connection.cursor()
    dispatch = conn.dispatch
    try:
        dispatch.before_cursor_execute(conn, cursor, compiled.sql, arguments, None, many)
        types: tuple[Any, ...] = ()
        if many and len(arguments) == 1:
            # One set is one statement: psycopg's executemany pipelines, and its pipeline's
            # extra synchronisation cost a single reading's statements more than they saved.
            cursor.execute(compiled.sql, arguments[0])
            rows: list[Any] = [row[0] for row in cursor.fetchall()] if returning else []
        elif returning:
            rows = _each(cursor, compiled.sql, arguments)
        elif many:
            cursor.executemany(compiled.sql, arguments)
            rows = []
        else:
            cursor.execute(compiled.sql, arguments)
            described = cursor.description
            rows = cursor.fetchall() if described is not None else []
            types = tuple(column[1] for column in described or ())
        dispatch.after_cursor_execute(conn, cursor, compiled.sql, arguments, None, many)
        return rows, types
    except dialect.loaded_dbapi.Error as error:
        gone = dialect.is_disconnect(error, dbapi_connection, cursor)
        if gone:
            conn.invalidate(error)
        raise DBAPIError.instance(
            compiled.sql,
            arguments,
            error,
            dialect.loaded_dbapi.Error,
            connection_invalidated=gone,
            dialect=dialect,
        ) from error
    finally:
        with suppress(dialect.loaded_dbapi.Error):  # a connection gone takes its cursors along
            cursor.close()


def _each(cursor: Any, sql: str, arguments: list[Any]) -> list[Any]:
    """psycopg's executemany, every run's first row's first value."""
    firsts: list[Any] = []
    cursor.executemany(sql, arguments, returning=True)
    while True:
        firsts.extend(row[0] for row in cursor.fetchall())
        if not cursor.nextset():
            return firsts


# SQLite takes at most 32,766 values a statement: 1,000 rows of a reading's 18 columns.
ROWS_A_STATEMENT = 1000


def _rows_of(compiled: _Compiled, count: int) -> _Compiled:
    """The single-row INSERT as one of `count` rows: its VALUES group repeated (positional)."""
    if count == 1:
        return compiled
    group = "(" + ", ".join(["?"] * len(compiled.binds)) + ")"
    assert compiled.sql.count(group) == 1, compiled.sql
    return replace(compiled, sql=compiled.sql.replace(group, ", ".join([group] * count)))


def _flat(rows: list[Any]) -> tuple[Any, ...]:
    return tuple(value for row in rows for value in row)


E = TypeVar("E")


def columns_of(entity: type[Any]) -> list[Any]:
    """An entity's mapped columns, in the order `as_loaded` takes their values."""
    return [prop.columns[0] for prop in inspect(entity).column_attrs]


def as_loaded(db: Session, entity: type[E], values: Sequence[Any]) -> E:
    """The persistent `entity` of this session whose columns (`columns_of`) hold `values`, as if
    a query had loaded it: the one already in the session refreshed (as populate_existing
    would), or a new one attached without another statement. For a row a Prepared statement
    read, when what follows needs the ORM object (its relationships, its changes flushed)."""
    mapper = inspect(entity)
    loaded = dict(zip((prop.key for prop in mapper.column_attrs), values, strict=True))
    key = mapper.identity_key_from_primary_key(
        tuple(loaded[mapper.get_property_by_column(column).key] for column in mapper.primary_key)
    )
    known = db.identity_map.get(key)
    if known is not None:
        for name, value in loaded.items():
            set_committed_value(known, name, value)
        return cast(E, known)
    instance = mapper.class_manager.new_instance()
    instance_state(instance).dict.update(loaded)
    make_transient_to_detached(instance)  # its loaded state, its identity
    db.add(instance)  # a detached instance joins as persistent: no INSERT, no SELECT
    return cast(E, instance)
