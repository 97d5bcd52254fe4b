-- The provinces' target for the share of their communes with activity in a year (Gia Lai's
-- plan: at least 70% of communes each year), imported with the communes' targets
-- (`loa targets import`, column activity_target_pct). The coverage API sets each province's
-- share of active communes against it; without a row the target is 70%.
CREATE TABLE activity_targets (
    year          int NOT NULL CHECK (year BETWEEN 2000 AND 2999),
    province_code text NOT NULL REFERENCES provinces(code),
    target_pct    numeric(5,2) NOT NULL CHECK (target_pct BETWEEN 0 AND 100),
    PRIMARY KEY (year, province_code)
);
