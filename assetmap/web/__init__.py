"""The Flask application factory. Nothing runs at import time."""
from __future__ import annotations

from flask import Flask
from sqlalchemy.orm import sessionmaker

from assetmap.config import PROJECT_DIR, load_config
from assetmap.db.cluster import database_url


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

    from assetmap.db.engine import get_engine, get_read_engine

    url = app.config["SQLALCHEMY_DATABASE_URI"]
    app.extensions["assetmap.session_factory"] = sessionmaker(get_engine(url), expire_on_commit=False)
    app.extensions["assetmap.reader_factory"] = get_read_engine(url).connect

    from assetmap.web import (
        auth,
        compression,
        contribute,
        db,
        errors,
        extensions,
        health,
        moderate,
        params,
        public,
        security,
        vendor,
    )

    compression.init_app(app)  # first: its after_request hook runs last, on the finished body
    params.init_app(app)  # before the blueprints: their routes use its integer converter
    security.init_app(app)
    extensions.init_app(app)
    db.init_app(app)
    errors.init_app(app)
    auth.init_app(app)
    app.register_blueprint(health.bp)
    app.register_blueprint(vendor.bp)
    app.register_blueprint(public.bp)
    app.register_blueprint(auth.bp)
    app.register_blueprint(contribute.bp)
    app.register_blueprint(moderate.bp)
    from assetmap.web import api_docs, exports, oruk_api, upload
    app.register_blueprint(oruk_api.bp)
    app.register_blueprint(api_docs.bp)
    app.register_blueprint(exports.bp)
    app.register_blueprint(upload.bp)
    from assetmap.web import api, embed, finder
    app.register_blueprint(finder.bp)
    app.register_blueprint(embed.bp)
    app.register_blueprint(api.bp)
    from assetmap.web import profiles
    app.register_blueprint(profiles.bp)
    from assetmap.web import api_gaps, plan
    app.register_blueprint(plan.bp)
    app.register_blueprint(api_gaps.bp)

    @app.context_processor
    def _data_sources():
        from assetmap.db.catalogue import data_sources

        return {"data_sources": lambda: data_sources(db.get_session())}

    return app
