{#
    sum_money(expr): an exact, order-independent sum of money amounts.

    Parallel engines add doubles in whatever order threads finish, so a double sum can differ
    in the last bits between two runs on the same data. Summing decimal(38, 6) is exact, which
    keeps every table identical across builds (and keeps RFM ties stable).
#}
{% macro sum_money(expr) -%}
    sum(cast({{ expr }} as decimal(38, 6)))
{%- endmacro %}
