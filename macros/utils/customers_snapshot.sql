{#
    customers_snapshot(last_purchase_date): the snapshot date of the customer features, as an
    expression: var('as_of_date') if set, else the day after last_purchase_date (the date of the
    last clean line, selected from a one-row subquery). The one rule, used where the features
    are windowed (int_customers__purchase_stats) and where they count from it
    (int_customers__features).
#}
{% macro customers_snapshot(last_purchase_date) -%}
    {%- set as_of_date = date_var('as_of_date') -%}
    {%- if as_of_date -%}
        {{ as_of_date }}
    {%- else -%}
        cast({{ dbt.dateadd('day', 1, last_purchase_date) }} as date)
    {%- endif -%}
{%- endmacro %}
