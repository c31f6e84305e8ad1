"""A module file that is not UTF-8 (a SQL file, a sample file, retention.yaml) stops the load
with the file and the line of its first undecodable byte, not a UnicodeDecodeError."""

import json

import pytest

from components.model.errors import SqlModelError
from components.settings import read_settings
from components.stack.loading import load_stack

TABLE = "-- orders\nCREATE TABLE orders (id bigint PRIMARY KEY, placed_on date NOT NULL, note text);\n"
LATIN1 = "réglée".encode("latin-1")  # é is 0xe9 in Latin-1, not valid UTF-8 here


@pytest.fixture
def root(tmp_path):
    root = tmp_path / "project" / "sql"
    (root / "shop" / "sample").mkdir(parents=True)
    (root / "shop" / "001_orders.sql").write_text(TABLE)
    return root


def load(root):
    settings = read_settings({"modules": json.dumps([{"name": "shop", "schema": "shop", "sample_data": True}]),
                              "safety": json.dumps({"allow_data_loss": True})}.get)
    return load_stack(settings, root, display_root=root.parent)


def test_a_sql_file(root):
    (root / "shop" / "002_comments.sql").write_bytes(b"-- comments\n\nCOMMENT ON TABLE orders IS '" + LATIN1 + b"';\n")
    (root / "shop" / "sample" / "001_orders.sql").write_text("INSERT INTO orders VALUES (1, '2026-01-01') "
                                                             "ON CONFLICT DO NOTHING;\n")
    with pytest.raises(SqlModelError, match=r"^sql/shop/002_comments\.sql:3: not UTF-8 text \(byte 0xe9 cannot be "
                                            r"decoded\); save the file as UTF-8$"):
        load(root)


def test_a_sample_file(root):
    (root / "shop" / "sample" / "001_orders.sql").write_bytes(
        b"INSERT INTO orders VALUES (1, '2026-01-01', '" + LATIN1 + b"') ON CONFLICT DO NOTHING;\n")
    with pytest.raises(SqlModelError, match=r"^sql/shop/sample/001_orders\.sql:1: not UTF-8 text \(byte 0xe9"):
        load(root)


def test_retention_yaml(root):
    (root / "shop" / "sample" / "001_orders.sql").write_text("INSERT INTO orders VALUES (1, '2026-01-01') "
                                                             "ON CONFLICT DO NOTHING;\n")
    retention = root / "shop" / "retention.yaml"
    retention.write_bytes(b"orders:\n  column: placed_on\n  keep: 2 years  # " + LATIN1 + b"\n")
    with pytest.raises(SqlModelError, match=r"^sql/shop/retention\.yaml:3: not UTF-8 text \(byte 0xe9"):
        load(root)
    retention.write_text("orders:\n  column: placed_on\n  keep: 2 years  # réglée\n", encoding="utf-8")
    assert load(root).modules[-1].retention[0].keep == "2 years"  # the same text, saved as UTF-8
