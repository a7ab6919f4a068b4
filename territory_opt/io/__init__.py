"""Reading inputs and writing outputs: the only code that touches files."""
