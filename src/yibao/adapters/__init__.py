"""The edge: files, databases, anything with I/O."""
