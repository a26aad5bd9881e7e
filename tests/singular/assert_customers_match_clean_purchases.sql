{{ config(enabled=input_kind() == 'transactions') }}
-- dim_customers has exactly the customers with a clean purchase before the snapshot date,
-- and monetary_gross equals the sum of their clean line amounts.
with

snapshot as (

    select max(as_of_date) as as_of_date from {{ ref('dim_customers') }}

),

expected as (

    select
        transactions.customer_id,
        sum(transactions.line_amount) as monetary_gross
    from {{ ref('fct_transactions') }} as transactions
    cross join snapshot
    where transactions.invoice_date < snapshot.as_of_date
    group by transactions.customer_id

)

select
    coalesce(expected.customer_id, customers.customer_id) as customer_id,
    expected.monetary_gross as expected_gross,
    customers.monetary_gross as actual_gross
from expected
full outer join {{ ref('dim_customers') }} as customers
    on expected.customer_id = customers.customer_id
where
    expected.customer_id is null
    or customers.customer_id is null
    or abs(expected.monetary_gross - customers.monetary_gross) > 1e-6 * greatest(1, abs(expected.monetary_gross))
