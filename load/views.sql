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

CREATE OR REPLACE VIEW coverage AS
-- Per report and statement: was the statement found (printed with data), empty (printed with no
-- data: 本表无数据 or all zero), text_only (its facts come only from the explanation text) or
-- missing (not printed, or the report could not be read at all)? One row for every statement the
-- pipeline looks for in a report of that kind (the statements recorded for any report of the same
-- report_kind), so a rejected or needs_ocr report shows every statement as missing instead of
-- disappearing (a report of a kind for which no statement is recorded at all gets one row with
-- statement NULL). The report's status and status_reason are repeated on every row.
WITH expected AS (
  SELECT DISTINCT r.report_kind, s.statement
  FROM statements s JOIN reports r USING (report_id)
)
SELECT r.report_id,
       r.entity_name,
       r.fiscal_year,
       r.report_kind,
       e.statement,
       CASE s.presence WHEN 'table' THEN 'found' WHEN 'empty' THEN 'empty'
                       WHEN 'narrative_only' THEN 'text_only' ELSE 'missing' END AS coverage,
       coalesce(s.line_items, 0) AS line_items,
       coalesce(s.checks_failed, 0) AS checks_failed,
       r.status AS report_status,
       r.status_reason
FROM reports r
JOIN expected e ON e.report_kind = r.report_kind
LEFT JOIN statements s ON s.report_id = r.report_id AND s.statement = e.statement
UNION ALL
-- a report of a kind no other report shows statements for still has one row (statement NULL)
SELECT r.report_id, r.entity_name, r.fiscal_year, r.report_kind, NULL, 'missing', 0, 0,
       r.status, r.status_reason
FROM reports r
WHERE r.report_kind NOT IN (SELECT report_kind FROM expected);

CREATE OR REPLACE VIEW reconciliation AS
-- Per report and accounting identity: the printed total (expected_wan), the sum of the printed
-- parts (found_wan), their difference, and whether that difference is within printed rounding
-- (0.01 per term: tolerance_wan). identity is the family of the check (the part of check_id before
-- the first colon, e.g. hier = parent equals the sum of its children). status is the checks
-- verdict: exact, rounding or failed.
SELECT c.report_id,
       r.entity_name,
       c.fiscal_year,
       split_part(c.check_id, ':', 1) AS identity,
       c.check_id,
       c.statement,
       c.expected_wan,
       c.computed_wan AS found_wan,
       c.difference_wan,
       c.tolerance_wan,
       abs(c.difference_wan) <= c.tolerance_wan AS within_rounding,
       c.status
FROM checks c
JOIN reports r USING (report_id);

CREATE OR REPLACE VIEW spending_by_function_class AS
-- Spending by function class (支出功能分类 类, 3-digit code) per report, i.e. per entity, fiscal
-- year and report kind. Source: the expenditure statement (all funds) when it has function rows,
-- else general_budget_expenditure (only the general public budget: statement says which).
-- measure total only, so nothing is counted twice: a class amount is the printed 类 row, else the
-- sum of its printed 款 rows, else the sum of its 项 (7-digit) rows. So a report that prints only
-- 7-digit codes is included (source_level says which level the amount comes from).
-- share = the class amount divided by the sum over the report's classes.
WITH fn AS (
  SELECT report_id, statement, code, amount_wan
  FROM line_items
  WHERE classification = 'function' AND measure = 'total' AND length(code) IN (3, 5, 7)
    AND statement IN ('expenditure', 'general_budget_expenditure')
),
chosen AS (
  SELECT report_id,
         CASE WHEN bool_or(statement = 'expenditure') THEN 'expenditure'
              ELSE 'general_budget_expenditure' END AS statement
  FROM fn
  GROUP BY report_id
),
per_level AS (
  SELECT fn.report_id, fn.statement, left(fn.code, 3) AS class_code,
         sum(amount_wan) FILTER (WHERE length(code) = 3) AS lei,
         sum(amount_wan) FILTER (WHERE length(code) = 5) AS kuan,
         sum(amount_wan) FILTER (WHERE length(code) = 7) AS xiang
  FROM fn JOIN chosen USING (report_id, statement)
  GROUP BY fn.report_id, fn.statement, left(fn.code, 3)
),
classes AS (
  SELECT report_id, statement, class_code,
         coalesce(lei, kuan, xiang) AS amount,
         CASE WHEN lei IS NOT NULL THEN '类' WHEN kuan IS NOT NULL THEN '款' ELSE '项' END AS source_level
  FROM per_level
)
SELECT r.entity_name,
       r.report_id,
       r.fiscal_year,
       r.report_kind,
       c.statement,
       c.class_code,
       f.name AS class_name,
       CAST(c.amount AS DECIMAL(20, 6)) AS amount_wan,
       round(CAST(c.amount AS DOUBLE) / CAST(sum(c.amount) OVER (PARTITION BY c.report_id) AS DOUBLE), 4)
         AS share,
       c.source_level
FROM classes c
JOIN reports r USING (report_id)
LEFT JOIN function_codes f ON f.code = c.class_code;

CREATE OR REPLACE VIEW total_spending AS
-- One spending figure per report (本年支出: this year's expenditure), whatever the summary prints.
-- Summaries print it as expense.current_total (本年支出合计) in some reports and only as
-- expense.grand_total (支出总计) in others, and 支出总计 also contains the money carried into the
-- next year (年末结转和结余) and 结余分配, which are not spending. So the figure is the first of:
--   1. summary_current_total: summary expense.current_total.
--   2. expenditure_total: the expenditure statement's grand total (支出表 合计, measure total).
--   3. summary_grand_total_less_carryover: summary expense.grand_total minus
--      expense.carryover_end and expense.surplus_distribution (zero when not printed).
--   4. expenditure_classes: the sum of the expenditure statement's function classes.
--   5. general_budget_classes: the sum of general_budget_expenditure's function classes (only the
--      general public budget: the report printed nothing broader).
-- basis names the rule used. A report with no figure (rejected, needs_ocr) is kept with
-- spending_wan NULL and basis 'none'. For a budget the figure is planned spending, for
-- final_accounts actual spending (report_kind).
WITH li AS (
  SELECT report_id,
         max(amount_wan) FILTER (WHERE statement = 'summary' AND item = 'expense.current_total'
                                   AND measure = 'total') AS current_total,
         max(amount_wan) FILTER (WHERE statement = 'summary' AND item = 'expense.grand_total'
                                   AND measure = 'total') AS grand_total,
         coalesce(sum(amount_wan) FILTER (WHERE statement = 'summary' AND measure = 'total'
                   AND item IN ('expense.carryover_end', 'expense.surplus_distribution')), 0)
           AS not_spent,
         max(amount_wan) FILTER (WHERE statement = 'expenditure' AND item = 'grand_total'
                                   AND measure = 'total') AS expenditure_total
  FROM line_items
  GROUP BY report_id
),
classes AS (
  SELECT report_id, statement, sum(amount_wan) AS amount
  FROM spending_by_function_class
  GROUP BY report_id, statement
)
SELECT r.report_id,
       r.entity_name,
       r.fiscal_year,
       r.report_kind,
       CAST(coalesce(li.current_total, li.expenditure_total, li.grand_total - li.not_spent,
                     ce.amount, cg.amount) AS DECIMAL(20, 6)) AS spending_wan,
       CASE WHEN li.current_total IS NOT NULL THEN 'summary_current_total'
            WHEN li.expenditure_total IS NOT NULL THEN 'expenditure_total'
            WHEN li.grand_total IS NOT NULL THEN 'summary_grand_total_less_carryover'
            WHEN ce.amount IS NOT NULL THEN 'expenditure_classes'
            WHEN cg.amount IS NOT NULL THEN 'general_budget_classes'
            ELSE 'none' END AS basis,
       r.status AS report_status
FROM reports r
LEFT JOIN li ON li.report_id = r.report_id
LEFT JOIN classes ce ON ce.report_id = r.report_id AND ce.statement = 'expenditure'
LEFT JOIN classes cg ON cg.report_id = r.report_id AND cg.statement = 'general_budget_expenditure';

CREATE OR REPLACE VIEW budget_vs_actual AS
-- Budget against actual per item of a final account: per 项 (7-digit function code) from the
-- execution statement (年初预算 budget_initial vs 支出决算 actual, from the explanation text), and
-- per 三公 item from three_public (预算数 budget vs 决算数 actual). A side that is not printed is
-- NULL (a missing line item means zero only inside a printed statement, and the text often names
-- only one side). execution_rate = actual / budget, NULL when the budget is missing or zero.
WITH sides AS (
  SELECT report_id, statement,
         CASE WHEN statement = 'execution' THEN code ELSE item END AS item_key,
         any_value(item_name) AS item_name,
         max(amount_wan) FILTER (WHERE measure IN ('budget_initial', 'budget')) AS budget_wan,
         max(amount_wan) FILTER (WHERE measure = 'actual') AS actual_wan
  FROM line_items
  WHERE (statement = 'execution' AND classification = 'function' AND length(code) = 7)
     OR (statement = 'three_public' AND item IS NOT NULL)
  GROUP BY report_id, statement, CASE WHEN statement = 'execution' THEN code ELSE item END
)
SELECT r.report_id,
       r.entity_name,
       r.fiscal_year,
       r.report_kind,
       s.statement,
       s.item_key,
       coalesce(f.name, s.item_name) AS item_name,
       s.budget_wan,
       s.actual_wan,
       CAST(s.actual_wan - s.budget_wan AS DECIMAL(20, 6)) AS difference_wan,
       CASE WHEN s.budget_wan > 0 THEN round(CAST(s.actual_wan AS DOUBLE) / CAST(s.budget_wan AS DOUBLE), 4)
            END AS execution_rate
FROM sides s
JOIN reports r USING (report_id)
LEFT JOIN function_codes f ON s.statement = 'execution' AND f.code = s.item_key;

CREATE OR REPLACE VIEW basic_expenditure_by_economic AS
-- Economic breakdown of basic expenditure (基本支出) from general_budget_basic_economic: one row per
-- economic 类 (301 工资福利支出, 302 商品和服务支出, 303 对个人和家庭的补助 …) and 款 the report
-- prints, with the catalog name and the share of the statement's grand total. The split into
-- 人员经费 / 公用经费, where the report prints it (often only in its text), is given as rows with
-- level 'group', code NULL and item basic.personnel_total or basic.public_total. Sum the rows of
-- one level only: 类 rows already contain their 款, and the two groups are another cut of the same
-- total.
WITH base AS (
  SELECT li.report_id,
         CASE WHEN li.classification = 'economic' THEN (CASE length(li.code) WHEN 3 THEN '类' ELSE '款' END)
              ELSE 'group' END AS level,
         li.code,
         li.item,
         coalesce(e.name, li.item_name) AS name,
         li.amount_wan,
         li.method
  FROM line_items li
  LEFT JOIN economic_codes e ON li.classification = 'economic' AND e.code = li.code
  WHERE li.statement = 'general_budget_basic_economic' AND li.measure = 'total'
    AND (li.classification = 'economic'
         OR li.item IN ('basic.personnel_total', 'basic.public_total'))
),
grand AS (
  SELECT report_id, max(amount_wan) AS amount
  FROM line_items
  WHERE statement = 'general_budget_basic_economic' AND item = 'grand_total' AND measure = 'total'
  GROUP BY report_id
)
SELECT r.report_id,
       r.entity_name,
       r.fiscal_year,
       r.report_kind,
       b.level,
       b.code,
       b.item,
       b.name,
       b.amount_wan,
       CASE WHEN g.amount > 0 THEN round(CAST(b.amount_wan AS DOUBLE) / CAST(g.amount AS DOUBLE), 4) END
         AS share_of_basic,
       b.method
FROM base b
JOIN reports r USING (report_id)
LEFT JOIN grand g USING (report_id);
