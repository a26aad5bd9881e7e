{#
    rank_auc(relation, score, is_positive): the area under the ROC curve of `score` for the rows
    of `relation` where `is_positive` holds against those where it does not (Mann-Whitney: the
    probability that a positive row scores above a negative one, ties counted half), from mid
    ranks; rows with a null score are left out, and it is null without both kinds of rows. A
    select of one row and one column, auc.
#}
{% macro rank_auc(relation, score, is_positive) -%}
    select
        case
            when sum(positive) > 0 and sum(1 - positive) > 0
                then cast(
                    (sum(positive * mid_rank) - sum(positive) * (sum(positive) + 1) / 2.0)
                    / (sum(positive) * sum(1 - positive)) as {{ type_double() }}
                )
        end as auc
    from (
        select
            positive,
            cast(rank() over (order by score) as {{ type_double() }})
            + (count(*) over (partition by score) - 1) / 2.0 as mid_rank
        from (
            select
                {{ score }} as score,
                case when {{ is_positive }} then 1 else 0 end as positive
            from {{ relation }}
            where {{ score }} is not null
        ) as scored
    ) as ranked
{%- endmacro %}
