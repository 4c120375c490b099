-- SCHEMA.md's accounting identities, evaluated in DuckDB over a relation `li` (line_items).
-- Every query returns: report_id, check_id, statement, expected, computed, terms.
-- Which statements an identity applies to is declared in hotline_budgets/statements.yaml and given
-- here as relations: identity_statements(statement, family), split_measures(statement, measure).
-- Two more relations come from the report beside its line items: unit_rows (amounts of rows per
-- budget unit, no line items) and stated_zeros (keys the explanation text states as 0万元).
-- An identity is only evaluated where the report prints the rows it needs.

-- name: hierarchy
-- In every coded table a parent (类/款) equals the sum of its children (款/项). A row missing
-- from a printed table is zero; a row missing from the explanation text is unknown, so for
-- statements known only from the text both sides must be stated.
WITH coded AS (
  SELECT * FROM li WHERE classification IN ('function', 'economic')
    AND statement IN (SELECT statement FROM identity_statements WHERE family = 'hierarchy')
),
-- OCR rows count as printed in a table when their source_text is an amount (digits, no Chinese),
-- not a sentence of the explanation text.
tabular AS (SELECT DISTINCT report_id, statement FROM li
            WHERE method = 'table'
               OR (method = 'ocr' AND regexp_matches(coalesce(source_text, ''), '[0-9]')
                   AND NOT regexp_matches(source_text, '[\x{4e00}-\x{9fff}]'))),
levels AS (SELECT DISTINCT report_id, statement, length(code) AS len FROM coded),
kids AS (
  SELECT report_id, statement, measure, left(code, length(code) - 2) AS parent,
         sum(amount_wan) AS s, count(*) AS n
  FROM coded WHERE length(code) > 3 GROUP BY ALL
),
pairs AS (
  SELECT coalesce(p.report_id, k.report_id) AS report_id,
         coalesce(p.statement, k.statement) AS statement,
         coalesce(p.measure, k.measure) AS measure,
         coalesce(p.code, k.parent) AS parent,
         coalesce(p.amount_wan, 0) AS expected,
         coalesce(k.s, 0) AS computed,
         coalesce(k.n, 1) AS terms,
         p.code IS NOT NULL AND k.parent IS NOT NULL AS both_stated
  FROM (SELECT * FROM coded WHERE length(code) < 7) p
  FULL JOIN kids k
    ON p.report_id = k.report_id AND p.statement = k.statement
   AND p.measure = k.measure AND p.code = k.parent
)
SELECT report_id, 'hier:' || statement || ':' || parent || ':' || measure AS check_id, statement,
       expected, computed, terms
FROM pairs
WHERE EXISTS (SELECT 1 FROM levels l WHERE l.report_id = pairs.report_id
                AND l.statement = pairs.statement AND l.len = length(pairs.parent))
  AND EXISTS (SELECT 1 FROM levels l WHERE l.report_id = pairs.report_id
                AND l.statement = pairs.statement AND l.len = length(pairs.parent) + 2)
  AND (both_stated OR EXISTS (SELECT 1 FROM tabular t WHERE t.report_id = pairs.report_id
                               AND t.statement = pairs.statement));

-- name: grand_total
-- The grand total row of a coded table equals the sum of its top-level rows.
WITH coded AS (
  SELECT * FROM li WHERE classification IN ('function', 'economic')
    AND statement IN (SELECT statement FROM identity_statements WHERE family = 'grand_total')
),
top AS (SELECT report_id, statement, min(length(code)) AS len FROM coded GROUP BY ALL),
parts AS (
  SELECT c.report_id, c.statement, c.classification, c.measure, sum(c.amount_wan) AS s, count(*) AS n
  FROM coded c JOIN top t USING (report_id, statement)
  WHERE length(c.code) = t.len GROUP BY ALL
),
totals AS (SELECT * FROM li WHERE item = 'grand_total'),
classes AS (SELECT DISTINCT report_id, statement, classification FROM coded)
SELECT coalesce(t.report_id, p.report_id) AS report_id,
       'gt:' || coalesce(t.statement, p.statement) || ':' || c.classification || ':'
         || coalesce(t.measure, p.measure) AS check_id,
       coalesce(t.statement, p.statement) AS statement,
       coalesce(t.amount_wan, 0) AS expected, coalesce(p.s, 0) AS computed, coalesce(p.n, 1) AS terms
FROM totals t
FULL JOIN parts p ON t.report_id = p.report_id AND t.statement = p.statement AND t.measure = p.measure
JOIN classes c ON c.report_id = coalesce(t.report_id, p.report_id)
              AND c.statement = coalesce(t.statement, p.statement)
WHERE EXISTS (SELECT 1 FROM totals x WHERE x.report_id = c.report_id AND x.statement = c.statement);

-- name: column_split
-- total = the sum of the statement's split_measures (expenditure: basic + project + reserve + …;
-- income: the income-source columns). Per row, where the split columns are printed.
WITH rows_ AS (
  SELECT report_id, statement, coalesce(code, item) AS row_key, measure, amount_wan
  FROM li WHERE statement IN (SELECT statement FROM split_measures)
),
has_split AS (
  SELECT DISTINCT r.report_id, r.statement FROM rows_ r JOIN split_measures m USING (statement, measure)
),
row_keys AS (SELECT DISTINCT report_id, statement, row_key FROM rows_)
SELECT k.report_id, 'split:' || k.statement || ':' || k.row_key || ':total' AS check_id, k.statement,
       coalesce(max(CASE WHEN r.measure = 'total' THEN r.amount_wan END), 0) AS expected,
       coalesce(sum(CASE WHEN m.measure IS NOT NULL THEN r.amount_wan END), 0) AS computed,
       greatest(count(m.measure), 1) AS terms
FROM row_keys k
JOIN has_split h USING (report_id, statement)
LEFT JOIN rows_ r USING (report_id, statement, row_key)
LEFT JOIN split_measures m ON m.statement = r.statement AND m.measure = r.measure
GROUP BY ALL;

-- name: summary_balance
-- Summary tables: income grand total = expense grand total, and the function classes add up
-- to the current-year expense (or to the bottom line when that is the only one printed).
WITH s AS (SELECT * FROM li WHERE statement IN (SELECT statement FROM identity_statements
                                              WHERE family = 'summary_balance')),
bottom AS (
  SELECT report_id, statement, measure,
         coalesce(max(CASE WHEN item = 'expense.current_total' THEN amount_wan END),
                  max(CASE WHEN item = 'expense.grand_total' THEN amount_wan END)) AS expense_line,
         max(CASE WHEN item = 'income.grand_total' THEN amount_wan END) AS income_grand,
         max(CASE WHEN item = 'expense.grand_total' THEN amount_wan END) AS expense_grand
  FROM s GROUP BY ALL
),
classes AS (
  SELECT report_id, statement, measure, sum(amount_wan) AS total, count(*) AS n
  FROM s WHERE classification = 'function' AND length(code) = 3 GROUP BY ALL  -- 类 only (Shenzhen prints 款/项 too)
)
SELECT report_id, 'bal:' || statement || ':' || measure AS check_id, statement,
       income_grand AS expected, expense_grand AS computed, 1 AS terms
FROM bottom WHERE income_grand IS NOT NULL AND expense_grand IS NOT NULL
UNION ALL
SELECT c.report_id, 'sum:' || c.statement || ':classes:' || c.measure, c.statement,
       coalesce(b.expense_line, 0), c.total, c.n
FROM classes c LEFT JOIN bottom b USING (report_id, statement, measure);

-- name: basic_economic
-- 公开06: personnel + public = grand total = the basic expenditure of general_budget_expenditure.
WITH e AS (
  SELECT report_id,
         max(CASE WHEN item = 'grand_total' THEN amount_wan END) AS grand,
         max(CASE WHEN item = 'basic.personnel_total' THEN amount_wan END) AS pers,
         max(CASE WHEN item = 'basic.public_total' THEN amount_wan END) AS pub
  FROM li WHERE statement = 'general_budget_basic_economic' GROUP BY ALL
),
g AS (
  SELECT report_id, max(amount_wan) AS basic
  FROM li WHERE statement = 'general_budget_expenditure' AND item = 'grand_total' AND measure = 'basic'
  GROUP BY ALL
)
SELECT report_id, 'x:basic_econ:grand=pers+pub', 'general_budget_basic_economic', grand,
       coalesce(pers, 0) + coalesce(pub, 0), 2
FROM e WHERE grand IS NOT NULL AND (pers IS NOT NULL OR pub IS NOT NULL)
UNION ALL
SELECT report_id, 'x:basic_econ:pers+pub=gbe_basic', 'general_budget_basic_economic', g.basic,
       coalesce(pers, 0) + coalesce(pub, 0), 2
FROM e JOIN g USING (report_id) WHERE pers IS NOT NULL OR pub IS NOT NULL
UNION ALL
SELECT report_id, 'x:basic_econ:grand=gbe_basic', 'general_budget_basic_economic', g.basic, grand, 1
FROM e JOIN g USING (report_id) WHERE grand IS NOT NULL;

-- name: three_public
-- 三公: total = travel_abroad + vehicles + reception; vehicles = purchase + operation. A part a
-- printed table leaves blank is zero; in the explanation text a part is known when it is stated,
-- as an amount or as 0万元 (stated_zeros: zeros are no line items), and unknown otherwise, so
-- where the 三公 figures come from the text only, every term must be stated.
WITH tabular AS (SELECT DISTINCT report_id FROM li
                 WHERE statement = 'three_public'
                   AND (method = 'table'
                        OR (method = 'ocr' AND regexp_matches(coalesce(source_text, ''), '[0-9]')
                            AND NOT regexp_matches(source_text, '[\x{4e00}-\x{9fff}]')))),
t AS (
  SELECT report_id, measure,
         max(CASE WHEN item = 'three_public.total' THEN amount_wan END) AS total,
         max(CASE WHEN item = 'three_public.travel_abroad' THEN amount_wan END) AS travel,
         max(CASE WHEN item = 'three_public.vehicles' THEN amount_wan END) AS vehicles,
         max(CASE WHEN item = 'three_public.vehicle_purchase' THEN amount_wan END) AS purchase,
         max(CASE WHEN item = 'three_public.vehicle_operation' THEN amount_wan END) AS operation,
         max(CASE WHEN item = 'three_public.reception' THEN amount_wan END) AS reception
  FROM li WHERE statement = 'three_public' GROUP BY ALL
),
-- per report and measure, the items whose value is known: printed, stated, or stated as zero
known AS (
  SELECT report_id, measure, list(DISTINCT item) AS items FROM (
    SELECT report_id, measure, item FROM li WHERE statement = 'three_public'
    UNION ALL
    SELECT report_id, measure, item FROM stated_zeros WHERE statement = 'three_public'
  ) GROUP BY ALL
),
k AS (
  SELECT t.*, t.report_id IN (SELECT report_id FROM tabular) AS in_table,
         coalesce(known.items, []) AS items
  FROM t LEFT JOIN known USING (report_id, measure)
)
SELECT report_id, 'tp:total:' || measure, 'three_public', coalesce(total, 0),
       coalesce(travel, 0) + coalesce(vehicles, 0) + coalesce(reception, 0), 3
FROM k WHERE (travel IS NOT NULL OR vehicles IS NOT NULL OR reception IS NOT NULL)
  AND (in_table OR list_has_all(items, ['three_public.total', 'three_public.travel_abroad',
                                        'three_public.vehicles', 'three_public.reception']))
UNION ALL
SELECT report_id, 'tp:vehicles:' || measure, 'three_public', coalesce(vehicles, 0),
       coalesce(purchase, 0) + coalesce(operation, 0), 2
FROM k WHERE (purchase IS NOT NULL OR operation IS NOT NULL)
  AND (in_table OR list_has_all(items, ['three_public.vehicles', 'three_public.vehicle_purchase',
                                        'three_public.vehicle_operation']));

-- name: execution
-- Per-项 execution actuals add up to the general-budget expenditure by class and in total.
WITH x AS (SELECT * FROM li WHERE statement = 'execution' AND measure = 'actual'),
g AS (SELECT * FROM li WHERE statement = 'general_budget_expenditure' AND measure = 'total')
SELECT g.report_id, 'x:execution_sum=gbe:' || g.code, 'execution', g.amount_wan,
       sum(x.amount_wan), count(*)
FROM g JOIN x ON x.report_id = g.report_id AND starts_with(x.code, g.code)
WHERE g.classification = 'function' AND length(g.code) = 3 GROUP BY ALL
UNION ALL
SELECT g.report_id, 'x:execution_sum=gbe:grand_total', 'execution', g.amount_wan,
       sum(x.amount_wan), count(*)
FROM g JOIN x ON x.report_id = g.report_id
WHERE g.item = 'grand_total' GROUP BY ALL;

-- name: gbe_vs_summary
-- general_budget_expenditure's grand total equals summary's income.general_budget when the unit
-- has no other income: no other current-year source, no carry-over in or out.
WITH s AS (SELECT * FROM li WHERE statement = 'summary' AND measure = 'total'),
gb AS (SELECT report_id, max(amount_wan) AS income FROM s WHERE item = 'income.general_budget'
       GROUP BY ALL),
other AS (
  SELECT DISTINCT report_id FROM s
  WHERE item IN ('income.gov_fund', 'income.soe_capital', 'income.fiscal_special_account',
                 'income.upper_grant', 'income.business', 'income.operating',
                 'income.subsidiary_remit', 'income.other', 'income.use_non_fiscal_balance',
                 'income.carryover_begin', 'expense.carryover_end')
),
g AS (
  SELECT report_id, max(amount_wan) AS total FROM li
  WHERE statement = 'general_budget_expenditure' AND item = 'grand_total' AND measure = 'total'
  GROUP BY ALL
)
SELECT g.report_id, 'x:gbe_total=summary_general_budget', 'general_budget_expenditure',
       gb.income, g.total, 1
FROM g JOIN gb USING (report_id)
WHERE g.report_id NOT IN (SELECT report_id FROM other);

-- name: unit_rows
-- Tables printing one row per budget unit (单位编码 / 单位名称 / 预算单位) under a total row: in
-- every column the units add up to the row they are under — the total, or their department
-- when its code heads theirs (122001 under 122). The rows are no line items (SCHEMA has no unit
-- key); transform keeps them as ReportResult.unit_rows. A blank cell is zero.
WITH u AS (SELECT * FROM unit_rows WHERE statement IN (SELECT statement FROM identity_statements
                                                      WHERE family = 'unit_rows')),
heads AS (SELECT report_id, statement, unit, "column", sum(amount_wan) AS amount FROM u GROUP BY ALL),
kids AS (SELECT report_id, statement, parent, "column", sum(amount_wan) AS s, count(*) AS n
         FROM u WHERE parent IS NOT NULL GROUP BY ALL),
families AS (SELECT DISTINCT report_id, statement, parent FROM u WHERE parent IS NOT NULL),
columns_ AS (SELECT DISTINCT report_id, statement, "column" FROM u)
SELECT f.report_id, 'units:' || f.statement || ':' || f.parent || ':' || c."column" AS check_id,
       f.statement, coalesce(h.amount, 0) AS expected, coalesce(k.s, 0) AS computed,
       coalesce(k.n, 1) AS terms
FROM families f
JOIN columns_ c USING (report_id, statement)
LEFT JOIN heads h ON h.report_id = f.report_id AND h.statement = f.statement
                 AND h.unit = f.parent AND h."column" = c."column"
LEFT JOIN kids k ON k.report_id = f.report_id AND k.statement = f.statement
                AND k.parent = f.parent AND k."column" = c."column"
WHERE h.amount IS NOT NULL OR k.s IS NOT NULL;
