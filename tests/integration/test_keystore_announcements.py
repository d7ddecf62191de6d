"""Remembered data keys and the key store's announcements (real PostgreSQL): a vault that keeps
live keys between units of work forgets one as soon as another process destroys it, and
forgets them all when its listen breaks. Each vault here has its own pool of connections,
as two service processes would; the key store is a database of this module's own."""

import os

import psycopg2
import pytest

from services.common.db import Database, drop_database, ensure_database, migrate
from services.common.keystore import DESTROYED_CHANNEL, KEY_MIGRATIONS, PostgresKeyStore, Vault
from services.common.privacy import ERASED, KEY_BYTES, MasterKey, seal_value
from tests import support

URL = f"{support.PG_SERVER}/{support.NAMESPACE}_keystore_announcements"


@pytest.fixture
def key_store_url(infrastructure):
    drop_database(URL)
    ensure_database(URL)
    migrate(URL, KEY_MIGRATIONS)
    yield URL
    drop_database(URL)


@pytest.fixture
def vaults(key_store_url):
    """`(reader, eraser)`: two vaults on the one key store, with one master key."""
    master = MasterKey(os.urandom(KEY_BYTES))
    databases = [Database(key_store_url, max_connections=2) for _ in range(2)]
    yield [Vault(PostgresKeyStore(database), master) for database in databases]
    for database in databases:
        database.close()


class CountingStore(PostgresKeyStore):
    """The key store, counting the reads of wrapped keys (the round trips a remembered key spares)."""

    reads = 0

    def wrapped(self, key_ids):
        self.reads += 1
        return super().wrapped(key_ids)


def sealed_texts(vault, count):
    keys = [vault.new_key() for _ in range(count)]
    return [(key_id, seal_value(key_id, key, f"张三{n}")) for n, (key_id, key) in enumerate(keys)]


def erased(reader, sealed_values):
    """Reads until the eraser's announcement has arrived: it is sent at the erasure's commit
    and reaches the reader's connection a moment later (the reader never waits for it)."""
    opened = []
    support.wait_for(
        lambda: opened.append(reader.open(sealed_values, remember=True)) or ERASED in opened[-1],
        timeout=5,
        message="the destruction was heard",
    )
    return opened[-1]


def test_a_remembered_key_spares_the_key_store_until_another_process_destroys_it(vaults):
    reader, eraser = vaults
    reader.store = CountingStore(reader.store.database)
    (key_id, sealed), (other_id, other) = sealed_texts(eraser, 2)

    assert reader.open([sealed, other], remember=True) == ["张三0", "张三1"]
    assert reader.open([sealed, other], remember=True) == ["张三0", "张三1"]
    assert reader.store.reads == 1  # the second read used the remembered keys

    assert eraser.erase([key_id], "当事人要求删除") == 1
    assert erased(reader, [sealed, other]) == [ERASED, "张三1"]
    assert reader.store.reads == 2  # the destroyed key was asked for again, the other one was not


def test_a_destruction_too_long_to_name_every_key_forgets_them_all(vaults):
    reader, eraser = vaults
    texts = sealed_texts(eraser, 2)
    assert reader.open([v for _, v in texts], remember=True) == ["张三0", "张三1"]
    many = [f"{n:032x}" for n in range(300)]  # more ids than one announcement can name
    eraser.erase([texts[0][0], *many], "当事人要求删除")
    assert erased(reader, [v for _, v in texts]) == [ERASED, "张三1"]


def test_a_broken_listen_forgets_every_remembered_key(vaults, key_store_url):
    reader, _ = vaults
    ((key_id, sealed),) = sealed_texts(reader, 1)
    assert reader.open(sealed, remember=True) == "张三0" and key_id in reader._remembered
    admin = psycopg2.connect(key_store_url)
    admin.autocommit = True
    with admin.cursor() as cur:
        cur.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE query = %s AND datname = current_database()",
            (f"LISTEN {DESTROYED_CHANNEL}",),
        )
    admin.close()

    def listen_lost():
        reader.keys([key_id], remember=True)
        return reader._watch is None

    support.wait_for(listen_lost, timeout=5, message="the vault noticed its listen broke")
    assert key_id not in reader._remembered
    # A destruction while nobody listened: the next read listens anew and asks the key store.
    with psycopg2.connect(key_store_url) as conn, conn.cursor() as cur:
        cur.execute("UPDATE data_keys SET wrapped_key = NULL WHERE key_id = %s", (key_id,))
    conn.close()
    assert reader.open(sealed, remember=True) == ERASED
