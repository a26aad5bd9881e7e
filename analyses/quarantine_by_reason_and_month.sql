{{ config(enabled=input_kind() == 'transactions') }}
-- Quarantined lines by month and reason: spot a feed that started sending bad data.
select
    {{ dbt.date_trunc('month', 'invoiced_at') }} as month,
    quarantine_reason,
    count(*) as line_count,
    count(distinct customer_id) as customer_count
from {{ ref('fct_transaction_quarantine') }}
group by 1, 2
order by 1, 2
