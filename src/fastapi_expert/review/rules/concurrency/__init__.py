"""Rules of this area; one module per rule."""
