-- The RFM map must give every (recency score, fm score) cell from 1..5 x 1..5 a segment.
-- Rules may overlap (the lowest rule_id wins), but no cell may be left without one.
with

scores as (

    select s.score from (values (1), (2), (3), (4), (5)) as s (score)

),

cells as (

    select
        r.score as recency_score,
        fm.score as fm_score
    from scores as r
    cross join scores as fm

),

matches as (

    select
        cells.recency_score,
        cells.fm_score,
        count(rules.rule_id) as rule_count
    from cells
    left join {{ ref('rfm_segment_rules') }} as rules
        on cells.recency_score between rules.recency_score_min and rules.recency_score_max
        and cells.fm_score between rules.fm_score_min and rules.fm_score_max
    group by cells.recency_score, cells.fm_score

)

select * from matches
where rule_count = 0
