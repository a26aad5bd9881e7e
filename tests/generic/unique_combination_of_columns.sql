{#
    unique_combination_of_columns: the primary-key test of a table whose key is several columns
    (dbt-utils has one; the project uses no packages). Fails with every key that appears more
    than once or has a null part.
    data_tests: [{unique_combination_of_columns: {arguments: {columns: [a, b]}}}]
#}
{% test unique_combination_of_columns(model, columns) %}

select
    {{ columns | join(', ') }},
    count(*) as row_count
from {{ model }}
group by {{ columns | join(', ') }}
having count(*) > 1 or {% for c in columns %}{{ c }} is null{{ ' or ' if not loop.last }}{% endfor %}

{% endtest %}
