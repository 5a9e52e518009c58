"""PostgreSQL storage: connection pool, migrations, named queries and repositories."""
