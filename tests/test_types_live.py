"""The model spells every column type the way PostgreSQL's format_type() does, so a column read
back from the catalog compares equal to the declared one. Checked against the real server: one
table using each spelling a file may write."""

import pytest
from psycopg import sql

from components.model.parser import ModuleParser
from components.model.declared import DeclaredTables

SPELLINGS = [
    "char", "char(3)", '"char"', "pg_catalog.char", "character", "nchar(2)", "bpchar", "character varying(5)",
    "national character varying(3)", "varchar", "text", "name",
    "int", "integer", "int2", "smallint", "int4", "int8", "bigint", "pg_catalog.int4",
    "numeric", "numeric(5)", "numeric(10,2)", "decimal", "decimal(4,1)",
    "real", "float", "float(3)", "float(30)", "float4", "float8", "double precision", "money",
    "bool", "boolean", "bit", "bit(3)", "bit varying", "varbit(4)",
    "date", "time", "time(2)", "timetz", "time(2) with time zone", "timestamp", "timestamp(3)",
    "timestamptz", "timestamptz(3)", "timestamp(6) with time zone",
    "interval", "interval(3)", "interval year", "interval month", "interval day", "interval hour",
    "interval minute", "interval second", "interval second(2)", "interval year to month",
    "interval day to hour", "interval day to minute", "interval day to second(2)", "interval hour to minute",
    "interval hour to second", "interval minute to second(1)",
    "uuid", "json", "jsonb", "bytea", "xml", "oid", "tsvector", "tsquery",
    "inet", "cidr", "macaddr", "macaddr8", "point", "line", "box", "polygon", "circle",
    "int4range", "int8range", "numrange", "daterange", "tsrange", "tstzrange",
    "text[]", "integer[3]", "int[][]", "varchar(20)[]", "timestamptz[]",
]


def test_every_type_spelling_matches_format_type(db):
    columns = [f"c{i} {spelling}" for i, spelling in enumerate(SPELLINGS)]
    text = f"CREATE TABLE spelled ({', '.join(columns)});"
    parser = ModuleParser("m", "public", DeclaredTables(), set())
    parser.parse_text("sql/m/001_spelled.sql", text)
    declared = {c.name: c.type for c in parser.module.table("spelled").columns}
    db.execute(sql.SQL(text))
    live = dict(db.execute("SELECT attname, format_type(atttypid, atttypmod) FROM pg_attribute "
                           "WHERE attrelid = 'public.spelled'::regclass AND attnum > 0").fetchall())
    mismatches = {SPELLINGS[int(name[1:])]: (declared[name], live[name])
                  for name in live if declared[name] != live[name]}
    assert mismatches == {}, "declared vs format_type()"


def test_the_one_byte_char_type_is_not_character():
    parser = ModuleParser("m", "public", DeclaredTables(), set())
    parser.parse_text("x.sql", 'CREATE TABLE t (flag "char", code char);')
    assert [c.type for c in parser.module.table("t").columns] == ['"char"', "character(1)"]
