"""The documents service's tables in PostgreSQL, through the contract the in-memory version keeps."""

import psycopg2.extras
import pytest

from services.common.db import migrate
from services.documents.repository import PostgresDocuments
from services.documents.schema import MIGRATIONS
from tests.unit.test_documents_repository_contract import DocumentsContract


class TestPostgresDocuments(DocumentsContract):
    @pytest.fixture
    def documents(self, fresh_database):
        """The tables on one transaction, rolled back after the test: nothing stays behind."""
        url, database = fresh_database
        migrate(url, MIGRATIONS)
        with database.connection() as conn:
            with conn.cursor(cursor_factory=psycopg2.extras.RealDictCursor) as cursor:
                yield PostgresDocuments(cursor)
            conn.rollback()
