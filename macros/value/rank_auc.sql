{#
    rank_auc(relation, score, is_positive, group): per value of the column `group` of `relation`,
    the area under the ROC curve of `score` for its rows where `is_positive` holds against those
    where it does not (Mann-Whitney: the probability that a positive row scores above a negative
    one, ties counted half), from mid ranks; rows with a null score are left out, and it is null
    for a group without both kinds of rows. A select of the columns `group` and auc.
#}
{% macro rank_auc(relation, score, is_positive, group) -%}
    select
        {{ group }},
        case
            when sum(positive) > 0 and sum(1 - positive) > 0
                then cast(
                    (sum(positive * mid_rank) - sum(positive) * (sum(positive) + 1) / 2.0)
                    / (sum(positive) * sum(1 - positive)) as {{ type_double() }}
                )
        end as auc
    from (
        select
            {{ group }},
            positive,
            cast(rank() over (partition by {{ group }} order by score) as {{ type_double() }})
            + (count(*) over (partition by {{ group }}, score) - 1) / 2.0 as mid_rank
        from (
            select
                {{ group }},
                {{ score }} as score,
                case when {{ is_positive }} then 1 else 0 end as positive
            from {{ relation }}
            where {{ score }} is not null
        ) as scored
    ) as ranked
    group by {{ group }}
{%- endmacro %}
