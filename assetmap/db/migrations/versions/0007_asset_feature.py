"""finder: each asset's GeoJSON Feature kept ready on its row

Revision ID: 0007
Revises: 0003
Create Date: 2026-12-02

The API answers a search with each asset as a GeoJSON Feature. Writing that JSON afresh for every
row of every search (about thirty columns, the asset's types and Five Ways terms gathered from two
tables, its organisation's and service area's names) was half the database's work for a postcode
search. ``asset.feature`` keeps the Feature's unchanging part (geometry and every property but
those that depend on the search or the clock: ``open_now``, ``stale``, ``distance_m``,
``within_radius``, ``page_url``), which :mod:`assetmap.db.finder` adds per search.

Triggers keep it true whichever code writes, importers and moderation alike:
- a row of ``asset`` inserted or updated has it written by ``asset_feature_fill`` (before the write);
- adding, removing or changing an asset's terms rewrites those assets' (one statement each);
- renaming an organisation or a service area, or relabelling, re-slugging or reordering a term,
  rewrites the assets that show it.
Timestamps are written in UTC whatever the writing session's time zone, so the text does not
depend on who wrote it.
"""
from alembic import op

revision = "0007"
down_revision = "0003"
branch_labels = None
depends_on = None

# The Feature of an asset row, less its search-dependent properties. It ends with "}}" (the
# properties object is the last member): the finder adds the rest to the properties there.
FEATURE_FUNCTION = """
CREATE FUNCTION asset_feature_json(a asset) RETURNS text
LANGUAGE sql STABLE SET timezone = 'UTC' AS $$
SELECT json_build_object(
    'type', 'Feature', 'id', a.id,
    'geometry', CASE WHEN a.location IS NOT NULL THEN json_build_object('type', 'Point', 'coordinates',
        json_build_array(round(ST_X(a.location)::numeric, 6), round(ST_Y(a.location)::numeric, 6))) END,
    'properties', json_build_object(
        'id', a.id, 'uuid', a.uuid, 'name', a.name, 'description', a.description,
        'category', t.categories -> 0 -> 'slug', 'category_label', t.categories -> 0 -> 'label',
        'categories', t.categories, 'wellbeing', t.wellbeing,
        'organisation', (SELECT o.name FROM organisation o WHERE o.id = a.organisation_id),
        'address', a.address, 'town', a.town, 'postcode', a.postcode, 'phone', a.phone, 'email', a.email,
        'url', a.url,
        'opening_hours', CASE WHEN jsonb_typeof(a.opening_hours) = 'object' THEN a.opening_hours END,
        'opening_hours_note', a.opening_hours_note, 'cost', a.cost, 'is_free', a.is_free,
        'access_modes', coalesce(a.access_modes, '{}'), 'age_groups', coalesce(a.age_groups, '{}'),
        'eligibility_note', a.eligibility_note, 'accessibility', coalesce(a.accessibility, '{}'),
        'accepting_referrals', a.accepting_referrals,
        'service_area', (SELECT sa.name FROM area sa WHERE sa.id = a.service_area_id),
        'last_verified_at', a.last_verified_at, 'updated_at', a.updated_at))::text
FROM (
    -- The asset's types and Five Ways terms, each in display order; the first type is its category.
    SELECT coalesce(json_agg(json_build_object('slug', tt.slug, 'label', tt.label) ORDER BY tt.sort_order, tt.slug)
                    FILTER (WHERE tt.vocabulary = 'asset-type'), '[]') AS categories,
           coalesce(json_agg(json_build_object('slug', tt.slug, 'label', tt.label) ORDER BY tt.sort_order, tt.slug)
                    FILTER (WHERE tt.vocabulary = 'five-ways'), '[]') AS wellbeing
    FROM asset_term at JOIN taxonomy_term tt ON tt.id = at.term_id WHERE at.asset_id = a.id
) t
$$
"""

STATEMENTS = [
    "ALTER TABLE asset ADD COLUMN feature text",
    # The Feature makes each row about three times as wide, so reading every published asset's
    # id (the gap page counts them by category on each view) from the table costs three times
    # as much; this small index answers that without reading the table.
    "CREATE INDEX ix_asset_published_located ON asset (id) WHERE status = 'published' AND location IS NOT NULL",
    # For the rewrites after a rename (few assets have either).
    "CREATE INDEX ix_asset_organisation ON asset (organisation_id) WHERE organisation_id IS NOT NULL",
    "CREATE INDEX ix_asset_service_area_any ON asset (service_area_id) WHERE service_area_id IS NOT NULL",
    FEATURE_FUNCTION,
    """
    CREATE FUNCTION asset_feature_fill() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        NEW.feature := asset_feature_json(NEW);
        RETURN NEW;
    END $$
    """,
    "CREATE TRIGGER asset_feature_fill BEFORE INSERT OR UPDATE ON asset "
    "FOR EACH ROW EXECUTE FUNCTION asset_feature_fill()",
    # The assets whose terms a statement on asset_term changed. (A trigger with transition tables
    # takes one event, hence three triggers; each names only the tables its event has, and
    # PL/pgSQL plans a branch when it first runs it.)
    """
    CREATE FUNCTION asset_term_refresh_features() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        IF TG_OP IN ('INSERT', 'UPDATE') THEN
            -- refilled by asset_feature_fill
            UPDATE asset SET feature = NULL WHERE id IN (SELECT asset_id FROM new_terms);
        END IF;
        IF TG_OP IN ('DELETE', 'UPDATE') THEN
            UPDATE asset SET feature = NULL WHERE id IN (SELECT asset_id FROM old_terms);
        END IF;
        RETURN NULL;
    END $$
    """,
    "CREATE TRIGGER asset_term_inserted AFTER INSERT ON asset_term REFERENCING NEW TABLE AS new_terms "
    "FOR EACH STATEMENT EXECUTE FUNCTION asset_term_refresh_features()",
    "CREATE TRIGGER asset_term_updated AFTER UPDATE ON asset_term "
    "REFERENCING OLD TABLE AS old_terms NEW TABLE AS new_terms "
    "FOR EACH STATEMENT EXECUTE FUNCTION asset_term_refresh_features()",
    "CREATE TRIGGER asset_term_deleted AFTER DELETE ON asset_term REFERENCING OLD TABLE AS old_terms "
    "FOR EACH STATEMENT EXECUTE FUNCTION asset_term_refresh_features()",
    """
    CREATE FUNCTION asset_feature_names_changed() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        CASE TG_TABLE_NAME
            WHEN 'organisation' THEN
                UPDATE asset SET feature = NULL WHERE organisation_id = NEW.id;
            WHEN 'area' THEN
                UPDATE asset SET feature = NULL WHERE service_area_id = NEW.id;
            WHEN 'taxonomy_term' THEN
                UPDATE asset SET feature = NULL WHERE id IN (SELECT asset_id FROM asset_term WHERE term_id = NEW.id);
        END CASE;
        RETURN NULL;
    END $$
    """,
    "CREATE TRIGGER asset_feature_organisation_renamed AFTER UPDATE OF name ON organisation FOR EACH ROW "
    "WHEN (OLD.name IS DISTINCT FROM NEW.name) EXECUTE FUNCTION asset_feature_names_changed()",
    "CREATE TRIGGER asset_feature_area_renamed AFTER UPDATE OF name ON area FOR EACH ROW "
    "WHEN (OLD.name IS DISTINCT FROM NEW.name) EXECUTE FUNCTION asset_feature_names_changed()",
    "CREATE TRIGGER asset_feature_term_changed AFTER UPDATE OF slug, label, sort_order, vocabulary ON taxonomy_term "
    "FOR EACH ROW WHEN ((OLD.slug, OLD.label, OLD.sort_order, OLD.vocabulary) "
    "IS DISTINCT FROM (NEW.slug, NEW.label, NEW.sort_order, NEW.vocabulary)) "
    "EXECUTE FUNCTION asset_feature_names_changed()",
    # Every existing row, through the fill trigger; from now on no row is without one.
    "UPDATE asset SET feature = NULL",
    "ALTER TABLE asset ALTER COLUMN feature SET NOT NULL",
]


def upgrade() -> None:
    for statement in STATEMENTS:
        op.execute(statement)


def downgrade() -> None:
    op.execute("DROP TRIGGER IF EXISTS asset_feature_term_changed ON taxonomy_term")
    op.execute("DROP TRIGGER IF EXISTS asset_feature_area_renamed ON area")
    op.execute("DROP TRIGGER IF EXISTS asset_feature_organisation_renamed ON organisation")
    op.execute("DROP FUNCTION IF EXISTS asset_feature_names_changed()")
    for trigger in ("asset_term_deleted", "asset_term_updated", "asset_term_inserted"):
        op.execute(f"DROP TRIGGER IF EXISTS {trigger} ON asset_term")
    op.execute("DROP FUNCTION IF EXISTS asset_term_refresh_features()")
    op.execute("DROP TRIGGER IF EXISTS asset_feature_fill ON asset")
    op.execute("DROP FUNCTION IF EXISTS asset_feature_fill()")
    op.execute("DROP FUNCTION IF EXISTS asset_feature_json(asset)")
    op.execute("DROP INDEX IF EXISTS ix_asset_service_area_any")
    op.execute("DROP INDEX IF EXISTS ix_asset_published_located")
    op.execute("DROP INDEX IF EXISTS ix_asset_organisation")
    op.execute("ALTER TABLE asset DROP COLUMN IF EXISTS feature")
