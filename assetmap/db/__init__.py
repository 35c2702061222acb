"""Database access: engine and sessions, models, migrations, the local cluster manager, and one
module of queries per concern. ``ST_*`` calls live only in this package."""
