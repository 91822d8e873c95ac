"""Google BigQuery backend: the production warehouse, and the BigQuery emulator in tests.

The SQL in ``sql/`` runs as written. A slice replace loads the frame into a staging table (Parquet,
with the target table's own column types, so DATE stays DATE and TIMESTAMP stays TIMESTAMP), then
runs one multi-statement transaction that deletes the (date range, symbol) slice and inserts from
staging: on BigQuery the slice is replaced atomically or not at all. The staging table is always
dropped afterwards.

Credentials come only from the environment: Application Default Credentials (e.g.
``GOOGLE_APPLICATION_CREDENTIALS``), or, when ``BIGQUERY_EMULATOR_HOST`` is set, anonymous
credentials against that emulator. Nothing about credentials is logged or put into messages.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import io
import logging
import os
import re
import threading
import time
import uuid
from collections.abc import Iterator, Mapping, Sequence
from typing import TYPE_CHECKING

import polars as pl
import pyarrow as pa
import pyarrow.parquet as pq

from mes_assets.warehouse.base import (
    WarehouseError,
    check_slice,
    check_symbol,
    check_table_name,
)
from mes_assets.warehouse.sql_files import SqlFile, migration_statements

if TYPE_CHECKING:
    from google.cloud import bigquery

_LOG = logging.getLogger(__name__)

EMULATOR_HOST_ENV = "BIGQUERY_EMULATOR_HOST"
_PARAM = re.compile(r"@([A-Za-z_][A-Za-z0-9_]*)")
_PROJECT = re.compile(r"^[a-z][a-z0-9.:-]{0,127}$")
_IDENTIFIER = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,1023}$")
_CONCURRENT_UPDATE = re.compile(r"concurrent update", re.IGNORECASE)
_CONFLICT_ATTEMPTS = 4

_NO_CREDENTIALS = (
    "no Google credentials found for the BigQuery warehouse: set GOOGLE_APPLICATION_CREDENTIALS to "
    "a service-account key file (or provide Application Default Credentials), or set "
    "BIGQUERY_EMULATOR_HOST for the emulator. MES_WAREHOUSE=duckdb (the default) needs no credentials."
)
_BAD_CREDENTIALS = (
    "the file GOOGLE_APPLICATION_CREDENTIALS names does not exist or holds no usable Google credentials "
    "({kind}); point it at a service-account key file, or set BIGQUERY_EMULATOR_HOST for the emulator. "
    "MES_WAREHOUSE=duckdb (the default) needs no credentials."
)


# BigQuery column type (standard and legacy names) -> the Arrow type written to Parquet for it.
_ARROW_TYPES: dict[str, pa.DataType] = {
    "STRING": pa.string(),
    "BYTES": pa.binary(),
    "INT64": pa.int64(),
    "INTEGER": pa.int64(),
    "FLOAT64": pa.float64(),
    "FLOAT": pa.float64(),
    "NUMERIC": pa.decimal128(38, 9),
    "BIGNUMERIC": pa.decimal256(76, 38),
    "BOOL": pa.bool_(),
    "BOOLEAN": pa.bool_(),
    "DATE": pa.date32(),
    "TIMESTAMP": pa.timestamp("us", tz="UTC"),
    "DATETIME": pa.timestamp("us"),
    "TIME": pa.time64("us"),
}


def _accepts(bq_type: str, dtype: pl.DataType) -> bool:
    """Whether a polars column of ``dtype`` may be written into a BigQuery ``bq_type`` column.

    Only lossless or value-preserving conversions pass: numbers into FLOAT64/NUMERIC, integers
    into INT64, ``pl.Date`` (never a datetime) into DATE, datetimes into TIMESTAMP (naive means UTC).
    """
    if dtype == pl.Null:
        return True
    if bq_type in ("INT64", "INTEGER"):
        return dtype.is_integer()
    if bq_type in ("FLOAT64", "FLOAT", "NUMERIC", "BIGNUMERIC"):
        return dtype.is_numeric()
    if bq_type == "STRING":
        return dtype == pl.String or isinstance(dtype, (pl.Categorical, pl.Enum))
    if bq_type in ("BOOL", "BOOLEAN"):
        return dtype == pl.Boolean
    if bq_type == "DATE":
        return dtype == pl.Date
    if bq_type == "TIMESTAMP":
        return isinstance(dtype, pl.Datetime)
    if bq_type == "DATETIME":
        return isinstance(dtype, pl.Datetime) and dtype.time_zone is None
    if bq_type == "TIME":
        return dtype == pl.Time
    if bq_type == "BYTES":
        return dtype == pl.Binary
    return False


def _to_bq_column(name: str, bq_type: str, dtype: pl.DataType) -> pl.Expr:
    """Normalise one scalar column in polars before the exact Arrow cast (time zones and units)."""
    col = pl.col(name)
    if isinstance(dtype, (pl.List, pl.Array)):
        return col  # the Arrow cast converts the elements
    if bq_type == "TIMESTAMP" and isinstance(dtype, pl.Datetime):
        col = col.dt.replace_time_zone("UTC") if dtype.time_zone is None else col.dt.convert_time_zone("UTC")
        return col.dt.cast_time_unit("us")
    if bq_type == "DATETIME" and isinstance(dtype, pl.Datetime):
        return col.dt.cast_time_unit("us")
    if bq_type == "STRING":
        return col.cast(pl.String)
    return col


def _query_parameter(name: str, value: object) -> bigquery.ScalarQueryParameter | bigquery.ArrayQueryParameter:
    from google.cloud import bigquery

    if isinstance(value, (list, tuple)):
        kinds = {_scalar_type(name, v) for v in value}
        if len(kinds) != 1:
            raise TypeError(f"query parameter @{name}: an array needs one non-null element type, got {kinds or 'none'}")
        return bigquery.ArrayQueryParameter(name, kinds.pop(), list(value))
    return bigquery.ScalarQueryParameter(name, _scalar_type(name, value), value)  # type: ignore[arg-type]  # _scalar_type checked it


def _scalar_type(name: str, value: object) -> str:
    # bool before int (bool is an int), datetime before date (datetime is a date).
    if isinstance(value, bool):
        return "BOOL"
    if isinstance(value, int):
        return "INT64"
    if isinstance(value, float):
        return "FLOAT64"
    if isinstance(value, str):
        return "STRING"
    if isinstance(value, dt.datetime):
        return "TIMESTAMP"
    if isinstance(value, dt.date):
        return "DATE"
    raise TypeError(
        f"query parameter @{name}: unsupported type {type(value).__name__} "
        "(use date, datetime, int, float, str or bool)"
    )


class BigQueryBackend:
    """Warehouse backend over one Google Cloud project's BigQuery datasets."""

    def __init__(
        self,
        project: str,
        *,
        location: str = "US",
        staging_dataset: str = "_staging",
        client: bigquery.Client | None = None,
    ) -> None:
        if not _PROJECT.match(project):
            raise ValueError(f"not a BigQuery project id: {project!r}")
        if not _IDENTIFIER.match(staging_dataset):
            raise ValueError(f"not a BigQuery dataset name: {staging_dataset!r}")
        self.project = project
        self.location = location
        self.staging_dataset = staging_dataset
        self._client = client
        self._client_lock = threading.Lock()
        self._staging_ready = False

    @contextlib.contextmanager
    def session(self) -> Iterator[BigQueryBackend]:
        """Nothing to hold on BigQuery: every operation is its own job."""
        yield self

    def __repr__(self) -> str:
        return f"BigQueryBackend(project={self.project!r}, location={self.location!r})"

    # -- client ---------------------------------------------------------------------------------

    @property
    def client(self) -> bigquery.Client:
        """The BigQuery client, built on first use from the environment's credentials."""
        if self._client is None:
            with self._client_lock:
                if self._client is None:
                    self._client = self._make_client()
        return self._client

    def _make_client(self) -> bigquery.Client:
        from google.cloud import bigquery

        if os.environ.get(EMULATOR_HOST_ENV):
            from google.auth.credentials import AnonymousCredentials

            # The client sends requests to BIGQUERY_EMULATOR_HOST when it is set.
            _LOG.info("BigQuery warehouse: using the emulator at %s", os.environ[EMULATOR_HOST_ENV])
            return bigquery.Client(project=self.project, credentials=AnonymousCredentials(), location=self.location)

        import google.auth
        from google.auth.exceptions import DefaultCredentialsError

        try:
            credentials, _ = google.auth.default(scopes=bigquery.Client.SCOPE)
        except Exception as exc:
            # Never pass on the library's message: it may quote the key file's path or contents.
            if os.environ.get("GOOGLE_APPLICATION_CREDENTIALS"):
                raise WarehouseError(_BAD_CREDENTIALS.format(kind=type(exc).__name__)) from None
            if isinstance(exc, DefaultCredentialsError):
                raise WarehouseError(_NO_CREDENTIALS) from None
            raise WarehouseError(
                f"Application Default Credentials could not be loaded ({type(exc).__name__}); set "
                "GOOGLE_APPLICATION_CREDENTIALS to a service-account key file. MES_WAREHOUSE=duckdb "
                "(the default) needs no credentials."
            ) from None
        return bigquery.Client(project=self.project, credentials=credentials, location=self.location)

    def _table_id(self, table: str) -> str:
        return f"{self.project}.{check_table_name(table)}"

    def _ensure_dataset(self, dataset: str, *, staging: bool = False) -> None:
        from google.cloud import bigquery

        ds = bigquery.Dataset(f"{self.project}.{dataset}")
        ds.location = self.location
        if staging:
            # A safety net only: staging tables are dropped right after use.
            ds.default_table_expiration_ms = 24 * 3600 * 1000
        self.client.create_dataset(ds, exists_ok=True)

    # -- WarehouseBackend -----------------------------------------------------------------------

    def apply_sql(self, files: Sequence[SqlFile]) -> list[str]:
        from google.api_core.exceptions import GoogleAPIError

        applied: list[str] = []
        datasets_ready: set[str] = set()
        for f in files:
            try:
                if f.dataset not in datasets_ready:
                    self._ensure_dataset(f.dataset)
                    datasets_ready.add(f.dataset)
                existing = [name for name, _ in self.table_columns(f.qualified_name)] if f.kind == "ddl" else []
                try:
                    statements = migration_statements(f, existing)
                except ValueError as exc:
                    raise WarehouseError(f"project {self.project}: {exc}") from exc
                for statement in statements or [f.text]:  # DDL as written, or appended columns
                    self.client.query(statement, location=self.location).result()
            except GoogleAPIError as exc:
                raise WarehouseError(f"applying {f.kind}/{f.dataset}/{f.name}.sql failed: {exc}") from exc
            applied.append(f.qualified_name)
        return applied

    def read(self, query: str, params: Mapping[str, object] | None = None) -> pl.DataFrame:
        from google.api_core.exceptions import GoogleAPIError
        from google.cloud import bigquery

        used = set(_PARAM.findall(query))
        bound = {k: v for k, v in (params or {}).items() if k in used}
        missing = used - bound.keys()
        if missing:
            raise ValueError(f"query parameters not provided: {sorted(missing)}")
        config = bigquery.QueryJobConfig(query_parameters=[_query_parameter(k, v) for k, v in sorted(bound.items())])
        try:
            rows = self.client.query(query, job_config=config, location=self.location).result()
            # The Storage Read API is faster for large results; the emulator's client cannot reach it.
            arrow = rows.to_arrow(create_bqstorage_client=not os.environ.get(EMULATOR_HOST_ENV))
        except GoogleAPIError as exc:
            raise WarehouseError(f"query failed: {exc}") from exc
        result = pl.from_arrow(arrow)
        assert isinstance(result, pl.DataFrame)
        return result

    def replace_slice(
        self,
        table: str,
        frame: pl.DataFrame,
        *,
        start: dt.date,
        end: dt.date,
        symbol: str,
        symbol_column: str = "symbol",
    ) -> int:
        from google.api_core.exceptions import GoogleAPICallError, GoogleAPIError

        table_id = self._table_id(table)
        check_slice(frame, start=start, end=end, symbol=symbol, symbol_column=symbol_column)
        symbol = check_symbol(symbol)
        where = f"{start}..{end}/{symbol}"
        try:
            target = {f.name: f for f in self.client.get_table(table_id).schema}
        except GoogleAPIError as exc:
            raise WarehouseError(f"replacing {table} {where} failed: cannot read its schema: {exc}") from exc
        if symbol_column not in target or "date" not in target:
            raise WarehouseError(f"{table} has no 'date' and {symbol_column!r} columns to slice on")
        payload = self._parquet_payload(table, frame, target) if frame.height else None

        staging_id: str | None = None
        job: bigquery.QueryJob | None = None
        try:
            if payload is not None:
                # Named before the load, so the finally below drops a half-loaded table too.
                staging_id = self._staging_table_id(table)
                self._load_staging(staging_id, payload, target)
            script = self._slice_script(
                table_id,
                start=start,
                end=end,
                symbol=symbol,
                symbol_column=symbol_column,
                staging_id=staging_id,
                columns=payload.column_names if payload is not None else [],
            )
            for attempt in range(1, _CONFLICT_ATTEMPTS + 1):
                job = self.client.query(script, location=self.location)
                try:
                    job.result()
                    break
                except GoogleAPICallError as exc:
                    # BigQuery aborts one of two transactions that mutate the same table at once;
                    # the aborted one changed nothing, and re-running the whole script is safe.
                    if attempt == _CONFLICT_ATTEMPTS or not _CONCURRENT_UPDATE.search(str(exc)):
                        raise
                    _LOG.warning("%s %s: concurrent update, retrying (%d)", table, where, attempt)
                    time.sleep(min(2.0 ** (attempt - 1), 8.0))
        except Exception as exc:
            if job is not None and not (job.state == "DONE" and job.error_result):
                # Lost contact while the script ran: it is atomic, but we cannot tell which way it went.
                raise WarehouseError(
                    f"replacing {table} {where}: the transaction's outcome is unknown (job {job.job_id}); "
                    f"the slice holds either its previous or its new rows, never a mix: {exc}"
                ) from exc
            raise WarehouseError(f"replacing {table} {where} failed; previous rows kept: {exc}") from exc
        finally:
            if staging_id is not None:
                self._drop_staging(staging_id)
        _LOG.info("replaced %s %s with %d row(s)", table, where, frame.height)
        return frame.height

    def table_columns(self, table: str) -> list[tuple[str, str]]:
        from google.api_core.exceptions import GoogleAPIError, NotFound

        try:
            schema = self.client.get_table(self._table_id(table)).schema
        except NotFound:
            return []  # like the DuckDB backend: no such table, no columns
        except GoogleAPIError as exc:
            raise WarehouseError(f"cannot read the schema of {table}: {exc}") from exc
        return [(field.name, field.field_type) for field in schema]

    # -- slice-replace helpers ------------------------------------------------------------------

    def _parquet_payload(self, table: str, frame: pl.DataFrame, target: Mapping[str, bigquery.SchemaField]) -> pa.Table:
        """The frame as an Arrow table with exactly the target's column types (frame column order)."""
        unknown = [c for c in frame.columns if c not in target]
        if unknown:
            raise WarehouseError(f"{table} has no column(s) {unknown}; previous rows kept")
        problems: list[str] = []
        fields: list[pa.Field] = []
        for name, dtype in frame.schema.items():
            field = target[name]
            bq_type = field.field_type.upper()
            repeated = field.mode == "REPEATED"
            # ARRAY<scalar> columns take a polars List (or Array) of a fitting element type.
            inner = dtype.inner if repeated and isinstance(dtype, (pl.List, pl.Array)) else dtype
            if bq_type not in _ARROW_TYPES:
                problems.append(f"{name}: {bq_type} columns are not supported")
            elif (repeated and inner is dtype and dtype != pl.Null) or not _accepts(bq_type, inner):  # type: ignore[arg-type]
                declared = f"ARRAY<{bq_type}>" if repeated else bq_type
                problems.append(f"{name}: {dtype} cannot be written to a {declared} column")
            else:
                arrow_type = _ARROW_TYPES[bq_type]
                fields.append(pa.field(name, pa.list_(arrow_type) if repeated else arrow_type))
        if problems:
            raise WarehouseError(f"frame does not fit {table}; previous rows kept: {'; '.join(problems)}")
        normalised = frame.select(
            _to_bq_column(name, target[name].field_type.upper(), dtype) for name, dtype in frame.schema.items()
        )
        try:
            return normalised.to_arrow().cast(pa.schema(fields))
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError) as exc:
            raise WarehouseError(f"frame does not fit {table}; previous rows kept: {exc}") from exc

    @staticmethod
    def _slice_script(
        table_id: str,
        *,
        start: dt.date,
        end: dt.date,
        symbol: str,
        symbol_column: str,
        staging_id: str | None,
        columns: Sequence[str],
    ) -> str:
        """One multi-statement transaction: delete the slice, insert the staged rows.

        Dates and symbol are literals, not parameters, because the emulator cannot bind parameters
        inside a script (STACK.md): ``start``/``end`` are validated ``datetime.date`` values
        rendered with ``isoformat()``, and ``symbol`` passed ``check_symbol``. Column names come
        from the target table's own schema.
        """
        if not isinstance(start, dt.date) or not isinstance(end, dt.date):
            raise TypeError("start and end must be datetime.date values")
        check_symbol(symbol)
        if not _IDENTIFIER.match(symbol_column):
            raise ValueError(f"not a column name: {symbol_column!r}")
        statements = [
            "BEGIN TRANSACTION;",
            f"DELETE FROM `{table_id}` WHERE `date` BETWEEN DATE '{start.isoformat()}' "
            f"AND DATE '{end.isoformat()}' AND `{symbol_column}` = '{symbol}';",
        ]
        if staging_id is not None and columns:
            names = ", ".join(f"`{name}`" for name in columns)
            statements.append(f"INSERT INTO `{table_id}` ({names}) SELECT {names} FROM `{staging_id}`;")
        statements.append("COMMIT TRANSACTION;")
        return "\n".join(statements)

    def _staging_table_id(self, table: str) -> str:
        """A fresh, unique staging table id (the staging dataset is created on first use)."""
        if not self._staging_ready:
            self._ensure_dataset(self.staging_dataset, staging=True)
            self._staging_ready = True
        return f"{self.project}.{self.staging_dataset}.{table.replace('.', '__')}__{uuid.uuid4().hex}"

    def _load_staging(self, staging_id: str, payload: pa.Table, target: Mapping[str, bigquery.SchemaField]) -> None:
        """Load the payload into the staging table with an explicit schema (the target's types)."""
        from google.cloud import bigquery

        buffer = io.BytesIO()
        pq.write_table(payload, buffer)
        buffer.seek(0)
        config = bigquery.LoadJobConfig(
            source_format=bigquery.SourceFormat.PARQUET,
            schema=[
                bigquery.SchemaField(
                    name,
                    target[name].field_type,
                    mode="REPEATED" if target[name].mode == "REPEATED" else "NULLABLE",
                )
                for name in payload.column_names
            ],
            write_disposition=bigquery.WriteDisposition.WRITE_TRUNCATE,
            create_disposition=bigquery.CreateDisposition.CREATE_IF_NEEDED,
        )
        # Read Parquet LIST columns as ARRAY<element>, not as a RECORD wrapping the list.
        parquet_options = bigquery.ParquetOptions()
        parquet_options.enable_list_inference = True
        config.parquet_options = parquet_options
        job = self.client.load_table_from_file(
            buffer, staging_id, job_config=config, location=self.location, rewind=True
        )
        job.result()

    def _drop_staging(self, staging_id: str) -> None:
        try:
            self.client.delete_table(staging_id, not_found_ok=True)
        except Exception as exc:  # never mask the real outcome; the dataset expiry cleans up
            _LOG.warning("could not drop staging table %s: %s", staging_id, exc)
