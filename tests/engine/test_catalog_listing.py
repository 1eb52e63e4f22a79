"""Completion and the catalog tree at scale (issue 17, item 7): table names from one listing
per workspace, no table's metadata read for it; columns read per table, once per version;
a commit (a new version) or a new table shows on the next listing; never another
workspace's tables. On the real embedded Iceberg SQL catalog, metadata DB on SQLite and
PostgreSQL."""

from __future__ import annotations

import pyarrow as pa
import pytest

from engine.errors import NotFound, PermissionDenied

WIDE = 2000  # the scale


@pytest.fixture
def lake(services, admin):
    for ws in ("sales", "other"):
        services.workspaces.create(admin, ws)
        services.provisioning.apply(admin, ws)
    return services


@pytest.fixture
def loads(lake, monkeypatch):
    """Every `load_table` of the real pyiceberg catalog object, counted (a table's metadata
    read), and every call of the SQLAlchemy listing left as it is."""
    cat = lake.lakehouse.embedded_catalog().pyiceberg_catalog()
    calls: list[tuple] = []
    real = cat.load_table

    def counted(identifier, *args, **kwargs):
        calls.append(tuple(identifier))
        return real(identifier, *args, **kwargs)

    monkeypatch.setattr(cat, "load_table", counted)
    return calls


def _register_many(lake, namespace: str, n: int, prefix: str = "t") -> list[str]:
    """`n` catalog entries: one table made by pyiceberg, its catalog row copied n-1 times
    under other names (what pyiceberg's register_table writes, ~20 ms each that way), then
    pyiceberg's own listing asked, so the entries are what the Iceberg client sees."""
    from sqlalchemy import text

    catalog = lake.lakehouse.embedded_catalog()
    names = [f"{prefix}{i:04d}" for i in range(n)]
    catalog.create_table(f"{namespace}.{names[0]}", pa.schema([pa.field("x", pa.int64())]))
    cat = catalog.pyiceberg_catalog()
    with cat.engine.begin() as conn:
        cols = "catalog_name, table_namespace, table_name, metadata_location, "
        cols += "previous_metadata_location, iceberg_type"
        copy = cols.replace("table_name,", ":name,")
        for name in names[1:]:
            conn.execute(
                text(
                    f"INSERT INTO iceberg_tables ({cols}) SELECT {copy} FROM iceberg_tables "
                    "WHERE table_namespace = :ns AND table_name = :first"
                ),
                {"name": name, "ns": namespace, "first": names[0]},
            )
    assert set(names) <= {t[-1] for t in cat.list_tables(namespace)}
    return names


def test_listing_names_every_table_without_reading_any_metadata(lake, admin, loads):
    names = _register_many(lake, "sales_gold", WIDE)
    lake.lakehouse.embedded_catalog().create_table(
        "other_gold.secret", pa.schema([pa.field("y", pa.int64())])
    )
    loads.clear()
    listing = lake.catalog.listing(admin, "sales")
    assert list(listing) == ["sales_bronze", "sales_silver", "sales_gold"]
    assert list(listing["sales_gold"]) == names  # all 2,000, sorted, names right
    assert listing["sales_bronze"] == {} and listing["sales_silver"] == {}
    assert all(v and v.endswith(".metadata.json") for v in listing["sales_gold"].values())
    assert loads == []  # not one table's metadata read
    assert "secret" not in str(listing)  # another workspace's table is never listed
    assert list(lake.catalog.namespace_listing(admin, "sales_gold")) == names
    assert loads == []


def test_columns_are_read_once_per_version_and_again_after_a_commit(lake, admin, loads):
    run = lambda sql: lake.sql.execute(admin, "sales", sql).fetch()  # noqa: E731
    run("CREATE TABLE sales_gold.orders AS SELECT 1 AS id")
    v1 = lake.catalog.listing(admin, "sales")["sales_gold"]["orders"]
    loads.clear()
    assert [c.name for c in lake.catalog.columns(admin, "sales_gold.orders", v1)] == ["id"]
    assert loads == [("sales_gold", "orders")]  # read when asked for, one table
    assert [c.name for c in lake.catalog.columns(admin, "sales_gold.orders", v1)] == ["id"]
    assert len(loads) == 1  # the same version: from memory
    # A new schema is a new version: the listing says so, the columns follow it.
    run("DROP TABLE sales_gold.orders")
    run("CREATE TABLE sales_gold.orders AS SELECT 1 AS id, 'x' AS shop")
    run("CREATE TABLE sales_gold.returns AS SELECT 2 AS id")
    listing = lake.catalog.listing(admin, "sales")["sales_gold"]
    assert list(listing) == ["orders", "returns"]  # the new table shows at once
    v2 = listing["orders"]
    assert v2 != v1
    loads.clear()
    cols = lake.catalog.columns(admin, "sales_gold.orders", v2)
    assert [c.name for c in cols] == ["id", "shop"]
    assert loads == [("sales_gold", "orders")]
    # A version the caller only claims is never trusted: the table is read and filed
    # under the version actually read.
    assert [c.name for c in lake.catalog.columns(admin, "sales_gold.orders", "bogus")] == [
        "id",
        "shop",
    ]


def test_listing_and_columns_hold_to_the_workspace(lake, admin, make_member):
    lake.lakehouse.embedded_catalog().create_table(
        "other_gold.secret", pa.schema([pa.field("y", pa.int64())])
    )
    viewer = make_member("sales", "viewer")
    assert lake.catalog.listing(viewer, "sales")["sales_gold"] == {}
    with pytest.raises((PermissionDenied, NotFound)):
        lake.catalog.listing(viewer, "other")
    with pytest.raises((PermissionDenied, NotFound)):
        lake.catalog.namespace_listing(viewer, "other_gold")
    admin_cols = lake.catalog.columns(admin, "other_gold.secret")  # cached for the admin
    assert [c.name for c in admin_cols] == ["y"]
    version = lake.catalog.listing(admin, "other")["other_gold"]["secret"]
    with pytest.raises((PermissionDenied, NotFound)):  # the cache answers no outsider
        lake.catalog.columns(viewer, "other_gold.secret", version)


def test_a_deleted_catalog_is_refused_by_the_listing_and_not_recreated(lake, admin):
    """The listing reads the catalog's database without pyiceberg: the catalog guard
    (README, exit 8) holds there too, in an engine opened after the deletion and for a
    catalog object held from before it (its own connections are checked like pyiceberg's)."""
    from engine.errors import CatalogUnavailable
    from engine.wiring import open_services

    catalog = lake.settings.data_dir / "catalog.db"
    fresh = open_services(lake.settings)
    try:
        held = fresh.lakehouse.embedded_catalog()
        assert held.table_versions(["sales_gold"]) == {"sales_gold": {}}  # no pyiceberg yet
        catalog.unlink()
        with pytest.raises(CatalogUnavailable, match=r"catalog\.db"):
            fresh.catalog.listing(admin, "sales")
        with pytest.raises(CatalogUnavailable, match=r"catalog\.db"):
            held.table_versions(["sales_gold"])
    finally:
        fresh.close()
    assert not catalog.exists()  # SQLite would have created it empty
