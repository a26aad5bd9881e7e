{#
    accepted_range: fails for rows whose value is outside [min_value, max_value] (either bound
    optional). Nulls pass; pair with not_null where they should not exist.
#}
{% test accepted_range(model, column_name, min_value=none, max_value=none) %}

with

checked as (

    select {{ column_name }} as value
    from {{ model }}
    where {{ column_name }} is not null

)

select *
from checked
where
    1 = 0
    {%- if min_value is not none %}
    or value < {{ min_value }}
    {%- endif %}
    {%- if max_value is not none %}
    or value > {{ max_value }}
    {%- endif %}

{% endtest %}
