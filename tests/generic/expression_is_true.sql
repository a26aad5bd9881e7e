{#
    expression_is_true: fails for every row where the SQL boolean expression is not true.
    Use on a model (not a column): data_tests: [{expression_is_true: {expression: "a <= b"}}]
#}
{% test expression_is_true(model, expression) %}

select *
from {{ model }}
where not coalesce({{ expression }}, false)

{% endtest %}
