{#
    clv_unit_days(): the days in one period of the value models (var clv_time_unit: day or week).
#}
{% macro clv_unit_days() -%}
    {%- set unit = var('clv_time_unit') -%}
    {%- if unit == 'day' -%}1{%- elif unit == 'week' -%}7{%- else -%}
        {{ exceptions.raise_compiler_error(
            "Setting problem: clv_time_unit must be day or week, got " ~ (unit | string)[:40]
        ) }}
    {%- endif -%}
{%- endmacro %}


{#
    clv_period_number(first_date, day): the period of clv_unit_days() days, counted from 0 at
    first_date, that the day falls in (the value models' unit of repeat purchases).
#}
{% macro clv_period_number(first_date, day) -%}
    floor({{ dbt.datediff(first_date, day, 'day') }} / {{ clv_unit_days() }})
{%- endmacro %}


{#
    btyd_summary(purchase_days): per customer, the BG/NBD / Gamma-Gamma summary of the purchase
    days in the relation or CTE purchase_days (customer_id, purchase_date, day_value, and the
    snapshot as_of_date on every row) before the snapshot. Periods of clv_unit_days() days count from each customer's
    first purchase day; the purchases of one period count once.
      frequency          repeat purchase periods (periods with a purchase after the first)
      recency            periods from the first to the last purchase day (t_x; a fraction for weeks)
      age                periods from the first purchase day to the snapshot (T)
      recency_span_days, age_days: the same in days
      mean_repeat_value  the mean value of the repeat periods (null without one)
      total_value        the value of every purchase day
#}
{% macro btyd_summary(purchase_days) -%}
    {%- set unit = clv_unit_days() -%}
    select
        customer_id,
        cast(count(distinct period_number) - 1 as integer) as frequency,
        cast(max(days_from_first) as {{ type_double() }}) / {{ unit }} as recency,
        cast(max(age_days) as {{ type_double() }}) / {{ unit }} as age,
        cast(max(days_from_first) as integer) as recency_span_days,
        cast(max(age_days) as integer) as age_days,
        cast(
            {{ sum_money('case when period_number > 0 then day_value end') }} as {{ type_double() }}
        ) / nullif(count(distinct period_number) - 1, 0) as mean_repeat_value,
        cast({{ sum_money('day_value') }} as {{ type_double() }}) as total_value,
        min(first_purchase_date) as first_purchase_date,
        max(purchase_date) as last_purchase_date,
        max(as_of_date) as as_of_date
    from (
        select
            customer_id,
            purchase_date,
            day_value,
            first_purchase_date,
            as_of_date,
            {{ dbt.datediff('first_purchase_date', 'purchase_date', 'day') }} as days_from_first,
            {{ dbt.datediff('first_purchase_date', 'as_of_date', 'day') }} as age_days,
            {{ clv_period_number('first_purchase_date', 'purchase_date') }} as period_number
        from (
            select
                customer_id,
                purchase_date,
                day_value,
                as_of_date,
                min(purchase_date) over (partition by customer_id) as first_purchase_date
            from {{ purchase_days }}
            where purchase_date < as_of_date
        ) as dated
    ) as periods
    group by customer_id
{%- endmacro %}
