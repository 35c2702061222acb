"""Every CSV the application writes is a plain table a spreadsheet cannot be tricked by: formula
cells neutralised, the header first, what describes it in a companion ``.meta.json``."""
from __future__ import annotations

import csv
import io
import re

import pandas as pd

from assetmap.domain.csv_safe import csv_text
from tests.factories import make_asset

SHROPSHIRE = "E06000051"
PAYLOAD = "=cmd|' /C calc'!A0"


def test_an_approved_assets_formula_cost_is_neutralised_in_the_export(client, db_session):
    make_asset(db_session, "Formula Hall", -3.0475, 52.8641, cost=PAYLOAD, phone="+44 1691 111111",
               description="@SUM(1+1)*cmd|' /C calc'!A0")
    db_session.flush()
    response = client.get(f"/exports/areas/{SHROPSHIRE}/assets.csv")
    assert response.status_code == 200
    rows = list(csv.DictReader(io.StringIO(response.get_data(as_text=True).lstrip("\ufeff"))))
    hall = next(r for r in rows if r["name"] == "Formula Hall")
    assert hall["cost"] == "'" + PAYLOAD
    assert hall["description"].startswith("'@SUM")
    assert hall["latitude"] == "52.864100"  # numbers stay numbers
    frame = pd.read_csv(io.BytesIO(response.get_data()), dtype=str, keep_default_na=False)
    assert list(frame.columns[:2]) == ["id", "name"]
    assert not any(str(v).startswith(("=", "+", "@")) for v in frame.to_numpy().ravel())


def test_the_assets_csv_links_its_meta_json(client, db_session):
    response = client.get(f"/exports/areas/{SHROPSHIRE}/assets.csv")
    meta_url = re.match(r'<([^>]+)>; rel="describedby"', response.headers["Link"]).group(1)
    assert meta_url == f"http://localhost/exports/areas/{SHROPSHIRE}/assets.meta.json"
    meta = client.get(meta_url).get_json()
    assert meta["area"] == {"code": SHROPSHIRE, "name": "Shropshire"}
    assert meta["columns"][:2] == ["id", "name"] and meta["data"].endswith("/assets.csv")
    assert meta["licence"] and meta["attribution"]
    page = client.get(f"/areas/{SHROPSHIRE}").get_data(as_text=True)
    assert f'href="/exports/areas/{SHROPSHIRE}/assets.meta.json"' in page


def test_the_writer_quotes_and_neutralises():
    text = csv_text(["name", "note", "n"], [["Hall, \"Morda\"", "\r=1", -2.5], ["Chapel", "-x", 3]], bom=False)
    assert list(csv.reader(io.StringIO(text))) == [
        ["name", "note", "n"], ['Hall, "Morda"', "'\r=1", "-2.5"], ["Chapel", "'-x", "3"]]
