-- Views created in every published DuckDB file (per year and all years), after the tables.
-- Each statement is one CREATE OR REPLACE VIEW, ended by a semicolon (none inside comments).

CREATE OR REPLACE VIEW cofog_crosswalk_primary AS
-- One COFOG target per function code (类 or 款): the row with target_rank 1, i.e. the first one
-- listed for the code in transform/catalogs/cofog_crosswalk.csv. A code with several targets is
-- a many-to-many or partial mapping: its whole amount goes to the first target and never to the
-- others, so nothing is counted twice, and is_approximate is true. A code with a single 'exact'
-- row is not approximate.
SELECT function_code,
       cofog_code,
       cofog_division,
       match_quality,
       count(*) OVER (PARTITION BY function_code) AS n_targets,
       (count(*) OVER (PARTITION BY function_code) > 1 OR match_quality <> 'exact') AS is_approximate
FROM cofog_crosswalk
QUALIFY target_rank = 1;

CREATE OR REPLACE VIEW spending_by_cofog AS
-- Spending by COFOG division per report (entity, fiscal year, report kind).
--
-- Source rows: line_items with classification = 'function' and measure = 'total' of statement
-- general_budget_expenditure, or of statement expenditure for a report that has no function rows
-- in general_budget_expenditure.
--
-- No double counting: every report is counted at the 类 (3-digit class) level only.
--   * class amount = the printed 类 row, or (when the report has no 类 row, e.g. facts from the
--     text) the sum of its 款 amounts, where a 款 amount is the printed 款 row or else the sum
--     of its 项 (7-digit) rows.
--   * a class is re-split by 款: every 款 of the class that has its own crosswalk row is
--     allocated with that 款 mapping, and the rest of the class (class amount minus those 款,
--     including rounding differences between a printed 类 and its 款) goes to the class mapping.
--   So the total over divisions of a report always equals the sum of its class amounts.
-- Many-to-many and partial mappings: the amount goes to the first listed target only
-- (cofog_crosswalk_primary), flagged is_approximate. A class without any crosswalk row is kept
-- with cofog_division NULL and is_approximate true (never dropped).
WITH fn AS (
  SELECT report_id, statement, code, amount_wan
  FROM line_items
  WHERE classification = 'function' AND measure = 'total' AND code IS NOT NULL
    AND length(code) IN (3, 5, 7)
    AND statement IN ('general_budget_expenditure', 'expenditure')
),
chosen AS (
  SELECT report_id,
         CASE WHEN bool_or(statement = 'general_budget_expenditure')
              THEN 'general_budget_expenditure' ELSE 'expenditure' END AS statement
  FROM fn
  GROUP BY report_id
),
items AS (
  SELECT fn.report_id, fn.code, fn.amount_wan
  FROM fn JOIN chosen ON fn.report_id = chosen.report_id AND fn.statement = chosen.statement
),
kuan AS (
  SELECT report_id,
         left(code, 5) AS kuan,
         coalesce(sum(amount_wan) FILTER (WHERE length(code) = 5),
                  sum(amount_wan) FILTER (WHERE length(code) = 7)) AS amount
  FROM items
  WHERE length(code) IN (5, 7)
  GROUP BY report_id, left(code, 5)
),
printed_class AS (
  SELECT report_id, code AS class, sum(amount_wan) AS amount
  FROM items
  WHERE length(code) = 3
  GROUP BY report_id, code
),
derived_class AS (
  SELECT report_id, left(kuan, 3) AS class, sum(amount) AS amount
  FROM kuan
  GROUP BY report_id, left(kuan, 3)
),
classes AS (
  SELECT coalesce(p.report_id, d.report_id) AS report_id,
         coalesce(p.class, d.class) AS class,
         coalesce(p.amount, d.amount) AS amount
  FROM printed_class p
  FULL JOIN derived_class d ON p.report_id = d.report_id AND p.class = d.class
),
kuan_mapped AS (
  SELECT k.report_id, left(k.kuan, 3) AS class, k.amount, x.cofog_division, x.is_approximate
  FROM kuan k
  JOIN cofog_crosswalk_primary x ON x.function_code = k.kuan
),
class_rest AS (
  SELECT c.report_id, c.class,
         c.amount - coalesce((SELECT sum(m.amount) FROM kuan_mapped m
                              WHERE m.report_id = c.report_id AND m.class = c.class), 0) AS amount
  FROM classes c
),
pieces AS (
  SELECT report_id, amount, cofog_division, is_approximate
  FROM kuan_mapped
  UNION ALL
  SELECT r.report_id, r.amount, x.cofog_division, coalesce(x.is_approximate, true)
  FROM class_rest r
  LEFT JOIN cofog_crosswalk_primary x ON x.function_code = r.class
  WHERE r.amount <> 0
)
SELECT rep.entity_name,
       rep.report_id,
       rep.fiscal_year,
       rep.report_kind,
       p.cofog_division,
       d.name_en AS division_name_en,
       CAST(sum(p.amount) AS DECIMAL(20, 6)) AS amount_wan,
       p.is_approximate
FROM pieces p
JOIN reports rep ON rep.report_id = p.report_id
LEFT JOIN cofog_divisions d ON d.cofog_code = p.cofog_division AND d.level = 'division'
GROUP BY rep.entity_name, rep.report_id, rep.fiscal_year, rep.report_kind,
         p.cofog_division, d.name_en, p.is_approximate;
