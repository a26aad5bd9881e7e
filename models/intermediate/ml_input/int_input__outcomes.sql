{#
    Raw rows by outcome ('clean' or the quarantine reason), for either input kind: what the ML
    layer reports when no customer is left to segment. A view: it is read only then. For
    transactions it sums the per-batch counts (int_transactions__outcome_counts), not the store.
#}
{{ config(materialized='view') }}

{%- if input_kind() == 'customers' %}

select
    coalesce(quarantine_reason, 'clean') as outcome,
    count(*) as line_count
from {{ ref('int_customer_table__classified') }}
group by coalesce(quarantine_reason, 'clean')

{%- else %}

select
    outcome,
    cast(sum(row_count) as bigint) as line_count
from {{ ref('int_transactions__outcome_counts') }}
group by outcome

{%- endif %}
