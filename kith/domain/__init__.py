"""Plain data and the rules that need nothing but the data. No I/O, no frameworks."""
