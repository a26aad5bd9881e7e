{#
    sum_money(expr): an exact, order-independent sum of money amounts.

    Parallel engines add doubles in whatever order threads finish, so a double sum can differ
    in the last bits between two runs on the same data. Summing decimal(38, 6) is exact, which
    keeps every table identical across builds (and keeps RFM ties stable).
#}
{% macro sum_money(expr) -%}
    sum(cast({{ expr }} as decimal(38, 6)))
{%- endmacro %}


{#
    mean_exact(expr): an order-independent mean of a double column, for the same reason: each
    value is rounded to 1e-10 and summed as decimal(38, 10), which is exact, so the result no
    longer depends on the order the rows arrive in (a parallel avg() of doubles differed in the
    last bits between two builds of fct_segment_profiles on Online Retail).
#}
{% macro mean_exact(expr) -%}
    cast(sum(cast({{ expr }} as decimal(38, 10))) as {{ type_double() }}) / count({{ expr }})
{%- endmacro %}


{#
    sum_exact(expr): an order-independent sum of a double expression (each value rounded to 1e-10,
    summed as decimal(38, 10)), as a double.
#}
{% macro sum_exact(expr) -%}
    cast(sum(cast({{ expr }} as decimal(38, 10))) as {{ type_double() }})
{%- endmacro %}
