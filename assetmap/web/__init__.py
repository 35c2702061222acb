"""The Flask application factory. Nothing runs at import time."""
from __future__ import annotations

from flask import Flask
from sqlalchemy.orm import sessionmaker

from assetmap.config import PROJECT_DIR, database_url, load_config


def create_app(test_config: dict | None = None) -> Flask:
    app = Flask(
        __name__,
        template_folder=str(PROJECT_DIR / "templates"),
        static_folder=str(PROJECT_DIR / "static"),
        static_url_path="/static",
    )
    app.config.from_mapping(load_config(test_config))
    if not app.config.get("SQLALCHEMY_DATABASE_URI"):
        app.config["SQLALCHEMY_DATABASE_URI"] = database_url()

    from assetmap.db.engine import get_engine

    app.extensions["assetmap.session_factory"] = sessionmaker(
        get_engine(app.config["SQLALCHEMY_DATABASE_URI"]), expire_on_commit=False
    )

    from assetmap.web import db, errors, extensions, health, public, security, vendor

    security.init_app(app)
    extensions.init_app(app)
    db.init_app(app)
    errors.init_app(app)
    app.register_blueprint(health.bp)
    app.register_blueprint(vendor.bp)
    app.register_blueprint(public.bp)

    @app.context_processor
    def _data_sources():
        from assetmap.db.catalogue import data_sources

        return {"data_sources": lambda: data_sources(db.get_session())}

    return app
