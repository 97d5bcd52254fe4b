-- Bulk loading of citizens. Inserting a million rows into a table that keeps its secondary
-- indexes and foreign keys costs about 30 s here, most of it in per-row index maintenance and
-- the foreign-key triggers; dropping them for the load and rebuilding them afterwards costs
-- about 3 s. The importer calls these two functions inside its own transaction, so a failed
-- import rolls the schema back with the rows. Definitions are read from the catalogue, so an
-- index or key added by a later migration is kept without touching this file.

-- P_UNIQUE also drops the unique indexes and constraints (not the primary key): only for a
-- load into an empty table of rows already known to be distinct, since the upsert of an
-- ordinary import relies on them. Rebuilding them checks uniqueness all the same.
-- It also turns off citizens_count_ins: its transition table keeps a copy of every row copied
-- (a million rows cost about 1 s of the COPY, spilled to disk), and citizens_bulk_end() counts
-- the loaded table once instead, which is the same sum, since the table was empty.
CREATE OR REPLACE FUNCTION citizens_bulk_begin(p_unique boolean) RETURNS integer LANGUAGE plpgsql AS $$
DECLARE
    r record;
    n integer := 0;
BEGIN
    CREATE TEMP TABLE citizens_bulk_saved (kind text, name text, def text) ON COMMIT DROP;
    IF p_unique THEN
        FOR r IN SELECT conname AS name, pg_get_constraintdef(oid) AS def
                   FROM pg_constraint WHERE conrelid = 'citizens'::regclass AND contype = 'u'
        LOOP
            INSERT INTO citizens_bulk_saved VALUES ('unique', r.name, r.def);
            EXECUTE format('ALTER TABLE citizens DROP CONSTRAINT %I', r.name);
            n := n + 1;
        END LOOP;
    END IF;
    FOR r IN SELECT c.relname AS name, pg_get_indexdef(i.indexrelid) AS def
               FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid
              WHERE i.indrelid = 'citizens'::regclass AND NOT i.indisprimary
                AND (p_unique OR NOT i.indisunique)
    LOOP
        INSERT INTO citizens_bulk_saved VALUES ('index', r.name, r.def);
        EXECUTE format('DROP INDEX %I', r.name);
        n := n + 1;
    END LOOP;
    FOR r IN SELECT conname AS name, pg_get_constraintdef(oid) AS def
               FROM pg_constraint WHERE conrelid = 'citizens'::regclass AND contype = 'f'
    LOOP
        INSERT INTO citizens_bulk_saved VALUES ('fk', r.name, r.def);
        EXECUTE format('ALTER TABLE citizens DROP CONSTRAINT %I', r.name);
        n := n + 1;
    END LOOP;
    IF p_unique THEN
        IF EXISTS (SELECT 1 FROM citizens) THEN
            RAISE EXCEPTION 'citizens_bulk_begin(true) is for a load into an empty citizens table';
        END IF;
        ALTER TABLE citizens DISABLE TRIGGER citizens_count_ins;
        INSERT INTO citizens_bulk_saved VALUES ('count', 'citizens_count_ins', NULL);
    END IF;
    RETURN n;
END $$;

-- Rebuilds what citizens_bulk_begin() dropped. A key re-added NOT VALID and then validated
-- checks every row with one join instead of one trigger call per row; a row that breaks it
-- fails the import as a whole.
CREATE OR REPLACE FUNCTION citizens_bulk_end() RETURNS integer LANGUAGE plpgsql AS $$
DECLARE
    r record;
    n integer := 0;
BEGIN
    SET LOCAL maintenance_work_mem = '256MB';
    FOR r IN SELECT name, def FROM citizens_bulk_saved WHERE kind = 'unique' LOOP
        EXECUTE format('ALTER TABLE citizens ADD CONSTRAINT %I %s', r.name, r.def);
        n := n + 1;
    END LOOP;
    FOR r IN SELECT name, def FROM citizens_bulk_saved WHERE kind = 'index' LOOP
        EXECUTE r.def;
        n := n + 1;
    END LOOP;
    FOR r IN SELECT name, def FROM citizens_bulk_saved WHERE kind = 'fk' LOOP
        EXECUTE format('ALTER TABLE citizens ADD CONSTRAINT %I %s NOT VALID', r.name, r.def);
        EXECUTE format('ALTER TABLE citizens VALIDATE CONSTRAINT %I', r.name);
        n := n + 1;
    END LOOP;
    IF EXISTS (SELECT 1 FROM citizens_bulk_saved WHERE kind = 'count') THEN
        ALTER TABLE citizens ENABLE TRIGGER citizens_count_ins;
        INSERT INTO citizen_counts AS k (commune_code, group_code, n)
        SELECT commune_code, coalesce(group_code, ''), count(*) FROM citizens GROUP BY 1, 2 ORDER BY 1, 2
        ON CONFLICT (commune_code, group_code) DO UPDATE SET n = k.n + EXCLUDED.n;
    END IF;
    DROP TABLE citizens_bulk_saved;
    RETURN n;
END $$;
