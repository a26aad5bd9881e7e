{#
    clv_returns(): 'net' (refunds cancel the purchases they match) or 'gross' (var clv_returns).
#}
{% macro clv_returns() -%}
    {%- set returns = var('clv_returns') -%}
    {%- if returns not in ['net', 'gross'] -%}
        {{ exceptions.raise_compiler_error(
            "Setting problem: clv_returns must be net or gross, got " ~ (returns | string)[:40]
        ) }}
    {%- endif -%}
    {{ return(returns) }}
{%- endmacro %}


{#
    refunds_by_purchase_day(events, before): per customer and purchase day, the money the refunds
    dated before the date expression `before` (over the events' columns) take from that day's
    purchase lines, last in, first out (int_customers__net_purchase_days explains the rule).
    `events`: a relation or CTE of purchase and refund lines (customer_id, product_key,
    invoiced_at, line_date, is_refund 0/1, amount >= 0, batch_id, source_file,
    source_row_number).
#}
{% macro refunds_by_purchase_day(events, before) -%}
    {%- set stream -%}
        partition by customer_id, product_key
        order by invoiced_at, is_refund, batch_id, source_file, source_row_number
    {%- endset -%}
    select
        customer_id,
        line_date as purchase_date,
        sum(refunded) as refunded_value
    from (
        select
            customer_id,
            line_date,
            is_refund,
            case
                when is_refund = 0
                    then least(amount, held - min(held) over ({{ stream }} rows between current row and unbounded following))
            end as refunded
        from (
            select
                *,
                running - least(0, min(running) over ({{ stream }} rows between unbounded preceding and current row))
                    as held
            from (
                select
                    *,
                    sum(case when is_refund = 1 then -amount else amount end)
                        over ({{ stream }} rows between unbounded preceding and current row) as running
                from {{ events }}
                where line_date < {{ before }}
            ) as running_sums
        ) as held_amounts
    ) as matched
    where is_refund = 0 and refunded > 0
    group by customer_id, line_date
{%- endmacro %}
