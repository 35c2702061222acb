"""What pytest leaves out when it collects the checkout (``testpaths`` in pyproject.toml).

Every module under ``assetmap/`` is imported for its doctests, except the migrations: Alembic's
``env.py`` runs only inside Alembic, and the revision files hold no doctests.
"""
collect_ignore = ["assetmap/db/migrations"]
