"""The SQL model: parse module files into objects, render their DDL, plan changes. No I/O."""
