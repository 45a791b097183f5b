"""Storage: SQLAlchemy models, the engine factory and the migration runner."""
