"""Card readers on serial ports: one interface (``gate.readers.base``), one module per protocol."""
