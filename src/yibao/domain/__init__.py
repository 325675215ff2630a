"""The pure core: no I/O, no database, no web. Everything here is a value or a function."""
